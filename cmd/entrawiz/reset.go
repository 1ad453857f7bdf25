package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/ui"
)

type resetOptions struct {
	Connection  string
	DeleteApp   bool
	DeleteGroup bool
	Yes         bool
}

func newResetCmd(f *factory, runF func(*resetOptions) error) *cobra.Command {
	opts := &resetOptions{}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Forget a connection (keyring and config); --delete-app also deletes the app in Entra",
		Long: `Forget a connection: its client secrets are removed from the OS keyring and it is
removed from the config. The app registration stays in Entra (the product may still
use it) unless --delete-app is given, which signs you in and deletes it, with its
enterprise app, consents and secrets. Before it asks, reset lists what it will delete
and what it will not: the security group the setup created stays unless
--delete-group is given too (its members lose nothing else).`,
		Example: "  entrawiz reset --connection contoso.onmicrosoft.com/sso\n  entrawiz reset --delete-app --yes\n  entrawiz reset --delete-app --delete-group --yes",
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
	cmd.Flags().BoolVar(&opts.DeleteGroup, "delete-group", false, "also delete the security group the setup created")
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
	will := []string{fmt.Sprintf("its %d client secret(s) in the keyring and its entry in the config", len(conn.Secrets))}
	var keep []string
	if opts.DeleteApp {
		what += fmt.Sprintf(" and delete the app %s (%s) in Entra", conn.App.DisplayName, conn.App.AppID)
		will = append(will, fmt.Sprintf("the app registration %s (%s) with its enterprise app, consents and secrets", conn.App.DisplayName, conn.App.AppID))
	} else {
		keep = append(keep, fmt.Sprintf("the app registration %s (%s): --delete-app deletes it", conn.App.DisplayName, conn.App.AppID))
	}
	if g := conn.State.Group; g != nil && g.ID != "" {
		if opts.DeleteGroup {
			will = append(will, fmt.Sprintf("the group %s (%s) the setup created", g.DisplayName, g.ID))
		} else {
			keep = append(keep, fmt.Sprintf("the group %s (%s) the setup created: --delete-group deletes it", g.DisplayName, g.ID))
		}
	}
	fmt.Fprintln(f.ErrOut, "Will delete:")
	for _, w := range will {
		fmt.Fprintln(f.ErrOut, "  - "+w)
	}
	if len(keep) > 0 {
		fmt.Fprintln(f.ErrOut, "Will not delete:")
		for _, k := range keep {
			fmt.Fprintln(f.ErrOut, "  - "+k)
		}
	}
	if !opts.Yes && !ui.Confirm(f.In, f.ErrOut, "This will "+what+". Continue?") {
		return declined{"nothing changed"}
	}
	if err := a.ResetWith(cmd.Context(), conn.Name, app.ResetRequest{DeleteApp: opts.DeleteApp, DeleteGroup: opts.DeleteGroup}, f.showDeviceCode); err != nil {
		return err
	}
	fmt.Fprintf(f.ErrOut, "Done: %s.\n", what)
	return nil
}
