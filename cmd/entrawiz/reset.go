package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/ui"
)

type resetOptions struct {
	Connection string
	DeleteApp  bool
	Yes        bool
}

func newResetCmd(f *factory, runF func(*resetOptions) error) *cobra.Command {
	opts := &resetOptions{}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Forget a connection (keyring and config); --delete-app also deletes the app in Entra",
		Long: `Forget a connection: its client secrets are removed from the OS keyring and it is
removed from the config. The app registration stays in Entra (the product may still
use it) unless --delete-app is given, which signs you in and deletes it, with its
enterprise app, consents and secrets.`,
		Example: "  entrawiz reset --connection contoso.onmicrosoft.com/sso\n  entrawiz reset --delete-app --yes",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !opts.Yes && !f.IsTTY {
				return requireFlag(cmd, "yes")
			}
			if runF != nil {
				return runF(opts)
			}
			return resetRun(cmd, f, opts)
		},
	}
	connectionFlags(cmd.Flags(), &opts.Connection, nil)
	cmd.Flags().BoolVar(&opts.DeleteApp, "delete-app", false, "also delete the app registration in Entra")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do it without asking (required when not interactive)")
	return cmd
}

func resetRun(cmd *cobra.Command, f *factory, opts *resetOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	conn, err := a.Connection(opts.Connection)
	if err != nil {
		return err
	}
	what := "forget " + conn.Name
	if opts.DeleteApp {
		what += fmt.Sprintf(" and delete the app %s (%s) in Entra", conn.App.DisplayName, conn.App.AppID)
	}
	if !opts.Yes && !ui.Confirm(f.In, f.ErrOut, "This will "+what+". Continue?") {
		return declined{"nothing changed"}
	}
	if err := a.Reset(cmd.Context(), conn.Name, opts.DeleteApp, f.showDeviceCode); err != nil {
		return err
	}
	fmt.Fprintf(f.ErrOut, "Done: %s.\n", what)
	return nil
}
