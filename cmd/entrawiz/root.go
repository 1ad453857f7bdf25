package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
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
	var profileFiles []string
	root := &cobra.Command{
		Use:   "entrawiz",
		Short: "Connect a product to a Microsoft Entra ID tenant",
		Long: `entrawiz registers an app in a Microsoft Entra ID tenant, grants its Microsoft Graph
permissions, creates its client secret and keeps it in the OS keyring, and tests the
connection — through Microsoft Graph, with your own sign-in.

Run without a command in a terminal for the wizard (or the dashboard, once a
connection is set up); try it safely with ` + "`entrawiz demo`" + `.

Signing in (--sign-in, or ENTRAWIZ_SIGN_IN): auto shows a device code and, when
the tenant's Conditional Access blocks device-code sign-in, goes on with the
browser by itself; device and browser use only that one. Where no browser can
be started here (SSH, no display) or with --no-browser, the sign-in address is
printed on a line of its own: open it in a browser on any computer. When that
browser is not on this machine it ends on a page that cannot be reached: copy
that page's whole address and paste it here, then press Enter.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !f.IsTTY {
				return &app.InputError{Err: fmt.Errorf("the wizard needs a terminal; headless, use `entrawiz setup` (see `entrawiz --help`)")}
			}
			files, err := loadProfileFiles(profileFiles)
			if err != nil {
				return err
			}
			a, err := f.app(cmd)
			if err != nil {
				return err
			}
			g := f.Global
			return ui.Run(cmd.Context(), &ui.AppBackend{App: a, ProfileFiles: files}, ui.Options{In: f.In, Out: ui.RawWriter(f.ErrOut), NoColor: g.NoColor, Accessible: g.Accessible})
		},
	}
	root.Flags().StringArrayVar(&profileFiles, "profile", nil, "also offer this profile file (JSON or YAML) in the wizard; repeat for more")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &app.InputError{Err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	f.addGlobalFlags(root.PersistentFlags())
	// Text from the tenant never acts on the terminal (see printableWriter).
	f.Out, f.ErrOut = ui.PrintableWriter(f.Out), ui.PrintableWriter(f.ErrOut)
	root.SetOut(f.Out)
	root.SetErr(f.ErrOut)
	root.SetIn(f.In)
	root.AddCommand(newSetupCmd(f, nil), newStatusCmd(f, nil), newTestCmd(f, nil), newRotateCmd(f, nil), newGroupsCmd(f, nil), newAssignCmd(f, nil),
		newSyncCmd(f, nil), newExportCmd(f, nil), newResetCmd(f, nil), newProfilesCmd(f), newDemoCmd(f), newSimCmd(ctx, nil))
	root.Version = currentBuild().String()
	root.SetVersionTemplate(versionTemplate)
	root.AddCommand(newVersionCmd(f), newManCmd())
	root.AddCommand(newScheduleCmd(f), newSecretCmd(f, nil))
	return root
}
