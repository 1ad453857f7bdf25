package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// newFactory wires the real machine: stdio, the OS keyring, the clock.
func newFactory() *factory {
	return &factory{
		Global:  &globalOptions{},
		In:      os.Stdin,
		Out:     os.Stdout,
		ErrOut:  os.Stderr,
		IsTTY:   term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
		Secrets: func() store.Secrets { return store.OSKeyring{} },
		Now:     time.Now,
		Backoff: replicationBackoff(),
	}
}

// replicationBackoff waits for Entra's replication: first retry after half
// a second, then at most every two seconds, for up to three minutes. The
// short cap keeps a setup within a few seconds of the delay itself.
func replicationBackoff() graphapi.Backoff {
	return graphapi.Backoff{Initial: 500 * time.Millisecond, Max: 2 * time.Second, Budget: 3 * time.Minute, Multiplier: 2}
}

// newRootCmd builds the command tree. ctx is cancelled on SIGINT or SIGTERM.
func newRootCmd(ctx context.Context, f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "entrawiz",
		Short: "Connect a product to a Microsoft Entra ID tenant",
		Long: `entrawiz registers an app in a Microsoft Entra ID tenant, grants its Microsoft Graph
permissions, creates its client secret and keeps it in the OS keyring, and tests the
connection — through Microsoft Graph, with your own sign-in.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	f.addGlobalFlags(root.PersistentFlags())
	root.SetOut(f.Out)
	root.SetErr(f.ErrOut)
	root.SetIn(f.In)
	root.AddCommand(newSetupCmd(f, nil), newStatusCmd(f), newTestCmd(f), newResetCmd(f), newProfilesCmd(f), newSimCmd(ctx, nil))
	return root
}
