package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
)

func newProfilesCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the built-in profiles; `profiles show NAME` prints one as a file to edit",
		Long: `A profile says what a product needs from the tenant: permissions, redirect URIs,
the client secret's lifetime, a group, sync settings, and the values to hand off.
The procedure is the same for every profile. Start from a built-in one:

  entrawiz profiles show directory-sync > my-product.json

edit it, and give the file to setup with --profile ./my-product.json.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := steps.BuiltinProfiles()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(f.Out, 0, 0, 2, ' ', 0)
			for _, p := range all {
				fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Description)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a built-in profile as JSON",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, ok := steps.BuiltinProfileSource(args[0])
			if !ok {
				_, err := steps.LoadProfile(args[0])
				return &app.InputError{Err: err}
			}
			_, err := f.Out.Write(b)
			return err
		},
	})
	return cmd
}
