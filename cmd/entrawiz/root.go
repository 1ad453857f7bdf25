package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. ctx is cancelled on SIGINT or SIGTERM.
func newRootCmd(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:   "entrawiz",
		Short: "Connect a product to a Microsoft Entra ID tenant",
		Long: `entrawiz registers an app in a Microsoft Entra ID tenant, grants its Microsoft Graph
permissions, creates its client secret and keeps it in the OS keyring, and syncs the
users of the groups you pick — through Microsoft Graph, with your own sign-in.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	root.AddCommand(newSimCmd(ctx, nil))
	return root
}
