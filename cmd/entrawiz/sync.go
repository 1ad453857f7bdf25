package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

type syncOptions struct {
	Connection       string
	DryRun           bool
	Full             bool
	Every            time.Duration
	AllowMassDisable bool
	AllowEmpty       bool
	JSON             bool
}

func newSyncCmd(f *factory, runF func(*syncOptions) error) *cobra.Command {
	opts := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync the users of the picked groups into the local directory database",
		Long: `Read the users of the picked groups (members at any depth of nesting) as the app, and
bring the connection's directory database up to date (directories/<connection>/directory.db
in the config directory; one per connection): new members are created,
changed ones updated, and those who left every picked group, or were disabled or deleted
in Entra, disabled (or deleted after the profile's delay). The first run reads the groups
in full; later runs read only the changes (delta queries).

A run that would disable more than 500 users or 20 % of them changes nothing and exits 4
with the list, unless --allow-mass-disable. --dry-run shows what a run would do.

One sync of a connection runs at a time (a preview too): another is refused at once,
naming the process that runs. A run that was stopped is resumed by the next one.`,
		Example: "  entrawiz sync --dry-run\n  entrawiz sync --json\n  entrawiz sync --every 5m",
		Args:    usageArgs(cobra.NoArgs),
		RunE:    runE(f, opts, &opts.JSON, runF, syncRun),
	}
	fl := cmd.Flags()
	connectionFlags(fl, &opts.Connection, &opts.JSON)
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show the creates, updates and disables without writing them")
	fl.BoolVar(&opts.Full, "full", false, "read the picked groups in full instead of only the changes")
	fl.DurationVar(&opts.Every, "every", 0, "run again at this interval (with jitter, backing off after failures) until interrupted")
	fl.BoolVar(&opts.AllowMassDisable, "allow-mass-disable", false, "apply a run even if it disables more users than the safety limit")
	fl.BoolVar(&opts.AllowEmpty, "allow-empty", false, "let a first or --full sync read a picked group that has no users")
	return cmd
}

func syncRun(cmd *cobra.Command, f *factory, opts *syncOptions) error {
	if opts.Every != 0 && opts.Every < time.Minute && !f.ShortSyncIntervals {
		return &app.InputError{Err: errors.New("--every must be at least 1m")}
	}
	if opts.Every > app.MaxSyncInterval {
		return &app.InputError{Err: fmt.Errorf("--every must be at most %s (a week)", app.MaxSyncInterval)}
	}
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	var report func(steps.Event)
	if !opts.JSON {
		report = func(ev steps.Event) {
			if ev.Sync == nil || ev.Sync.Phase != "read-groups" || ev.Sync.Pages%10 == 0 {
				fmt.Fprintf(f.ErrOut, "    %s\n", ev.Message)
			}
		}
	}
	req := app.SyncRequest{DryRun: opts.DryRun, Full: opts.Full, AllowMassDisable: opts.AllowMassDisable, AllowEmpty: opts.AllowEmpty}
	if opts.Every == 0 {
		conn, res, err := a.Sync(cmd.Context(), opts.Connection, req, report)
		return syncResult(f, opts, app.SyncRun{Conn: conn, Result: res, Err: err})
	}
	return a.SyncEvery(cmd.Context(), opts.Connection, req, opts.Every, report, func(run app.SyncRun) {
		if err := syncResult(f, opts, run); err != nil && !run.Next.IsZero() {
			printError(f.ErrOut, err)
		}
		if !run.Next.IsZero() {
			fmt.Fprintf(f.ErrOut, "next sync at %s\n", run.Next.Local().Format("15:04:05"))
		}
	})
}

// syncResult writes one run's outcome: JSON (one object a run), or the
// plan's counts and warnings; it returns the run's error.
func syncResult(f *factory, opts *syncOptions, run app.SyncRun) error {
	conn, res, syncErr := run.Conn, run.Result, run.Err
	if res == nil && !isSafetyStop(syncErr) {
		if opts.JSON && opts.Every != 0 {
			// A schedule goes on: its failed run is one JSON line of its own.
			return f.writeResult(map[string]any{"connection": connName(conn)}, syncErr)
		}
		return syncErr
	}
	var se *steps.SafetyError
	if opts.JSON {
		out := map[string]any{"connection": conn.Name, "result": res}
		if errors.As(syncErr, &se) {
			out["result"] = map[string]any{"plan": se.Plan}
		}
		return f.writeResult(out, syncErr)
	}
	if errors.As(syncErr, &se) {
		ui.WriteChanges(f.Out, se.Plan, "disable")
		return syncErr
	}
	if syncErr != nil {
		return syncErr
	}
	ui.WriteSyncResult(f.Out, f.ErrOut, conn.Name, res)
	return nil
}

func isSafetyStop(err error) bool {
	var se *steps.SafetyError
	return errors.As(err, &se)
}

func connName(c *store.Connection) string {
	if c == nil {
		return ""
	}
	return c.Name
}

type exportOptions struct {
	Format     string
	Connection string
}

func newExportCmd(f *factory, runF func(*exportOptions) error) *cobra.Command {
	opts := &exportOptions{}
	cmd := &cobra.Command{
		Use:     "export",
		Short:   "Write the synced users as CSV or JSON on stdout",
		Example: "  entrawiz export --format csv > users.csv",
		Args:    usageArgs(cobra.NoArgs),
		RunE:    runE(f, opts, nil, runF, exportRun),
	}
	cmd.Flags().StringVar(&opts.Format, "format", "csv", "csv or json")
	connectionFlags(cmd.Flags(), &opts.Connection, nil)
	return cmd
}

func exportRun(cmd *cobra.Command, f *factory, opts *exportOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	// The export guards its cells itself (CSV formula and control
	// characters), and JSON escapes its own: the raw stream is written.
	return a.Export(cmd.Context(), opts.Connection, opts.Format, ui.RawWriter(f.Out))
}
