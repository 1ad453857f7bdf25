package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/ui"
)

type statusOptions struct {
	Connection string
	JSON       bool
	Check      bool
	Within     string
	Local      bool
}

func newStatusCmd(f *factory, runF func(*statusOptions) error) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show connections: app, secret expiry, consent, last sync — checked in the tenant",
		Long: `Show what entrawiz has set up, checked in the tenant where it can be without asking
anyone to sign in: it signs in as the app with the stored secret (the app and its
enterprise app exist, the secret works, the consented permissions), and with your
saved sign-in, if there is one, reads the secret's real end date, the delegated
consent and the group assignments. What could not be checked is said, and shown
from the local record. Nothing is changed, here or in the tenant.

With --check, status prints one line per problem an admin must act on (a secret
expired, removed or ending within --within, consent revoked, the app deleted) and
exits 3 if there is any, 0 if all is well: for cron, monitoring and CI.`,
		Example: `  entrawiz status
  entrawiz status --json
  entrawiz status --check --within 30d || mail -s "entrawiz needs you" admin@example.com
  entrawiz status --local`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(f, opts, &opts.JSON, runF, statusRun),
	}
	fl := cmd.Flags()
	connectionFlags(fl, &opts.Connection, &opts.JSON)
	fl.BoolVar(&opts.Check, "check", false, "print only the problems an admin must act on; exit 3 if there is any")
	fl.StringVar(&opts.Within, "within", "30d", "a secret ending within this long is a problem, e.g. 30d")
	fl.BoolVar(&opts.Local, "local", false, "show the local record only: do not ask the tenant")
	return cmd
}

func statusRun(cmd *cobra.Command, f *factory, opts *statusOptions) error {
	within, err := parseDays("within", opts.Within)
	if err != nil {
		return err
	}
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	out, err := a.Status(cmd.Context(), opts.Connection, app.StatusRequest{Live: !opts.Local, Within: within})
	if err != nil {
		return err
	}
	var problems []app.Problem
	for _, s := range out {
		problems = append(problems, s.Problems...)
	}
	var checkErr error
	if opts.Check && len(problems) > 0 {
		checkErr = &app.NeedsAdminError{Problems: problems}
	}
	if opts.JSON {
		v := map[string]any{"connections": out}
		if opts.Check {
			v = map[string]any{"ok": len(problems) == 0, "problems": problems}
		}
		return f.writeResult(v, checkErr)
	}
	if opts.Check {
		if ui.WriteProblems(f.Out, out) == 0 {
			fmt.Fprintf(f.ErrOut, "all well: %d connection(s), no secret ending within %s\n", len(out), time.Duration(within).String())
		}
		if checkErr != nil {
			return errorReported{checkErr}
		}
		return nil
	}
	ui.WriteStatus(f.Out, out)
	return nil
}
