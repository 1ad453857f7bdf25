package main

import (
	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/ui"
)

type statusOptions struct {
	Connection string
	JSON       bool
}

func newStatusCmd(f *factory, runF func(*statusOptions) error) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show connections: app, secret expiry, consent, last test",
		Long: `Show what entrawiz has set up, from the saved config alone (no sign-in, no network):
each connection's tenant, app, client secret and when it expires (warned inside 30
days), the permissions consented, and the last connection test.`,
		Example: "  entrawiz status\n  entrawiz status --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE:    runE(f, opts, &opts.JSON, runF, statusRun),
	}
	connectionFlags(cmd.Flags(), &opts.Connection, &opts.JSON)
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
	ui.WriteStatus(f.Out, out)
	return nil
}
