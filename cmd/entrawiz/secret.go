package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/ui"
)

type secretShowOptions struct {
	Connection string
	Yes        bool
}

func newSecretCmd(f *factory, runF func(*secretShowOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "See the stored client secret again",
		Args:  usageArgs(cobra.NoArgs),
	}
	opts := &secretShowOptions{}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the connection's stored client secret, once",
		Long: `Print the client secret entrawiz keeps in the OS keyring for the connection, once,
on stdout — for when the product needs it again. It asks first; when not run in a
terminal it needs --yes, so that no script prints a secret by accident. Nothing is
changed and no new secret is made (` + "`entrawiz rotate`" + ` makes one).`,
		Example: "  entrawiz secret show\n  entrawiz secret show --connection contoso.onmicrosoft.com/sso --yes | vendorctl set-secret --stdin",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !opts.Yes && !f.IsTTY {
				return requireFlag(cmd, "yes")
			}
			if runF != nil {
				return runF(opts)
			}
			a, err := f.app(cmd)
			if err != nil {
				return err
			}
			conn, err := a.Connection(opts.Connection)
			if err != nil {
				return err
			}
			if !opts.Yes && !ui.Confirm(f.In, f.ErrOut, "Print the client secret of "+conn.Name+" on the screen?") {
				return declined{"nothing shown"}
			}
			secret, s, err := a.StoredSecret(conn.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.ErrOut, "Client secret %s… of %s (ends %s); keep it out of chats and tickets:\n", s.Hint, conn.Name, s.End.Format("2006-01-02"))
			fmt.Fprintln(ui.RawWriter(f.Out), secret)
			return nil
		},
	}
	connectionFlags(show.Flags(), &opts.Connection, nil)
	show.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "print it without asking (required when not interactive)")
	cmd.AddCommand(show)
	return cmd
}
