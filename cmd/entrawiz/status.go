package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type statusOptions struct {
	Connection string
	JSON       bool
}

func newStatusCmd(f *factory) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show connections: app, secret expiry, consent, last test",
		Long: `Show what entrawiz has set up, from the saved config alone (no sign-in, no network):
each connection's tenant, app, client secret and when it expires (warned inside 30
days), the permissions consented, and the last connection test.`,
		Example: "  entrawiz status\n  entrawiz status --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.jsonErrors(opts.JSON, statusRun(cmd, f, opts))
		},
	}
	cmd.Flags().StringVar(&opts.Connection, "connection", "", "only this connection (as named by entrawiz status)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON on stdout")
	return cmd
}

func statusRun(cmd *cobra.Command, f *factory, opts *statusOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	out, err := a.Status(opts.Connection)
	if err != nil {
		return err
	}
	if opts.JSON {
		return f.writeJSON(map[string]any{"connections": out})
	}
	if len(out) == 0 {
		fmt.Fprintln(f.Out, "No connection is set up yet. Run `entrawiz setup --help` to start.")
		return nil
	}
	for _, s := range out {
		fmt.Fprintf(f.Out, "%s\n  tenant   %s (%s)\n  app      %s (%s)\n", s.Name, s.Tenant.DisplayName, s.Tenant.ID, s.App.DisplayName, s.App.AppID)
		switch {
		case s.Secret != nil && s.Secret.State == "unknown":
			fmt.Fprintf(f.Out, "  secret   %s… expiry unknown (entered by hand)\n", s.Secret.Hint)
		case s.Secret != nil:
			fmt.Fprintf(f.Out, "  secret   %s… expires %s (%s, %d days)\n", s.Secret.Hint, s.Secret.Expires.Format("2006-01-02"), s.Secret.State, s.Secret.DaysLeft)
		}
		if s.LastTest != nil {
			res := "passed"
			if !s.LastTest.Passed {
				res = "failed"
			}
			fmt.Fprintf(f.Out, "  tested   %s, %s\n", s.LastTest.At.Local().Format("2006-01-02 15:04"), res)
		}
		for _, cr := range s.Credentials {
			tag := cr.MadeBy
			if cr.Status != "" {
				tag += ", " + cr.Status
			}
			fmt.Fprintf(f.Out, "  key      %s %-22q %s… ends %s (%s, %d days; %s)\n", cr.KeyID, cr.DisplayName, cr.Hint,
				cr.End.Format("2006-01-02"), cr.State, cr.DaysLeft, tag)
		}
		if ls := s.LastSync; ls != nil {
			res := fmt.Sprintf("%s run: %d created, %d updated, %d disabled, %d deleted", ls.Kind, ls.Created, ls.Updated, ls.Disabled, ls.Deleted)
			if ls.DryRun {
				res = "dry " + res
			}
			if ls.Error != "" {
				res = "failed: " + ls.Error
			}
			fmt.Fprintf(f.Out, "  synced   %s, %s\n", ls.At.Local().Format("2006-01-02 15:04"), res)
		}
		fmt.Fprintf(f.Out, "  enabled  %v\n", s.Enabled)
		for _, w := range s.Warnings {
			fmt.Fprintf(f.Out, "  ! %s\n", w)
		}
	}
	return nil
}
