package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/ui"
)

// rotateOptions are the flags of `entrawiz rotate`.
type rotateOptions struct {
	Connection       string
	JSON             bool
	RevealSecret     bool
	DeliverCmd       string
	IfExpiringWithin string
	RemoveOldAfter   string
	Finish           bool
	CleanUp          bool
	Remove           []string
	NoPrompt         bool
}

func newRotateCmd(f *factory, runF func(*rotateOptions) error) *cobra.Command {
	opts := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the client secret by overlap, never breaking what works",
		Long: `Rotate the connection's client secret without an outage: add a new secret, store it
in the OS keyring next to the old one, verify an app-only sign-in with it (waiting
out Entra's replication), hand it to the product, and make it the active one.
The old secret is removed only after --remove-old-after, or when you confirm the
product has the new one with ` + "`entrawiz rotate --finish`" + `.

Before anything is written, rotate checks that the OS keyring keeps a secret and
gives it back; only one rotation, setup or reset of a connection runs at a time.

A stopped run is finished by the next one. What a stopped run left behind (a
secret made by entrawiz that no keyring holds, a keyring entry whose secret is gone
from the app) is reported, and removed with --clean-up. Secrets made outside
entrawiz are never removed unless you name them with --remove KEYID.

Needs your admin sign-in (Application.ReadWrite.All), like setup.`,
		Example: `  entrawiz rotate --json
  entrawiz rotate --if-expiring-within 30d --remove-old-after 7d --deliver-cmd 'vendorctl set-secret --stdin'
  entrawiz rotate --finish
  entrawiz rotate --clean-up
  entrawiz rotate --if-expiring-within 30d --remove-old-after 7d --no-prompt   # what ` + "`entrawiz schedule install`" + ` runs daily`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(f, opts, &opts.JSON, runF, rotateRun),
	}
	fl := cmd.Flags()
	connectionFlags(fl, &opts.Connection, &opts.JSON)
	fl.BoolVar(&opts.RevealSecret, "reveal-secret", false, "print the new client secret's value once")
	fl.StringVar(&opts.DeliverCmd, "deliver-cmd", "", "run this shell command with the new client secret on its stdin before it is made active")
	fl.StringVar(&opts.IfExpiringWithin, "if-expiring-within", "", "do nothing unless the secret ends within this long, e.g. 30d (for cron)")
	fl.StringVar(&opts.RemoveOldAfter, "remove-old-after", "", "remove the old secret this long after the new one is active, e.g. 7d or 0s (default: only on --finish)")
	fl.BoolVar(&opts.Finish, "finish", false, "the product has the new secret: remove the old one now")
	fl.BoolVar(&opts.CleanUp, "clean-up", false, "remove what stopped runs left: entrawiz-made secrets no keyring holds, keyring entries whose secret is gone")
	fl.StringSliceVar(&opts.Remove, "remove", nil, "also remove this client secret (keyId), even one made outside entrawiz; repeat for more")
	fl.BoolVar(&opts.NoPrompt, "no-prompt", false, "sign in from the saved sign-in only, never with a device code; exit 3 if it no longer works (for scheduled runs)")
	return cmd
}

// parseDays parses a duration flag given in days or as a Go duration.
func parseDays(flag, s string) (time.Duration, error) {
	d, err := steps.ParseDays(s)
	if err != nil {
		return 0, &app.InputError{Err: fmt.Errorf("--%s: %w", flag, err)}
	}
	return d, nil
}

// rotateOutput is what `rotate --json` prints.
type rotateOutput struct {
	*steps.RotateResult
	Steps   []ui.StepLine        `json:"steps"`
	Handoff []steps.HandoffValue `json:"handoff,omitempty"`
	Error   *app.ErrorInfo       `json:"error,omitempty"`
}

func rotateRun(cmd *cobra.Command, f *factory, opts *rotateOptions) error {
	var req app.RotateRequest
	var err error
	if opts.IfExpiringWithin != "" {
		if req.IfExpiringWithin, err = parseDays("if-expiring-within", opts.IfExpiringWithin); err != nil {
			return err
		}
	}
	if opts.RemoveOldAfter != "" {
		d, err := parseDays("remove-old-after", opts.RemoveOldAfter)
		if err != nil {
			return err
		}
		req.RemoveOldAfter = &d
	}
	for _, id := range opts.Remove {
		if err := steps.ValidateGUID("--remove", id); err != nil {
			return &app.InputError{Err: err}
		}
	}
	req.Finish, req.CleanUp, req.Remove, req.NoPrompt = opts.Finish, opts.CleanUp, opts.Remove, opts.NoPrompt
	// Seeing the new secret again must not make another one.
	req.KeepPending = opts.RevealSecret
	if opts.DeliverCmd != "" {
		req.Deliver = app.DeliverTo(opts.DeliverCmd)
	}
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	rep := ui.NewLines(f.ErrOut)
	res, rotErr := a.Rotate(cmd.Context(), opts.Connection, req, f.showDeviceCode, rep.Report)
	if res == nil && rotErr != nil {
		return rotErr
	}
	out := rotateOutput{RotateResult: res, Steps: rep.Steps}
	if rotErr == nil && res.Rotated && req.IfExpiringWithin > 0 && res.Secret != nil {
		fmt.Fprintf(f.ErrOut, "Warning: the client secret was within %s of its end, so it was rotated: the new one, %s…, ends %s.\n",
			steps.FormatDuration(req.IfExpiringWithin), res.Secret.Hint, res.Secret.End.Format("2006-01-02"))
	}
	if rotErr == nil && (res.Rotated || res.Pending) {
		if out.Handoff, err = a.Handoff(res.Connection, opts.RevealSecret); err != nil {
			return err
		}
		if opts.RevealSecret {
			fmt.Fprintln(f.ErrOut, "Warning: the new client secret is printed below. Give it to the product now; it stays in the OS keyring.")
		}
	}
	reminder := ""
	if rotErr == nil && res.Rotated {
		reminder = app.ReminderPath(f.Global.ConfigDir, res.Connection)
	}
	writeAfterward(f, res.Recorded, reminder)
	if opts.JSON {
		if rotErr != nil {
			info := app.Describe(rotErr)
			out.Error = &info
		}
		if err := f.writeJSON(out); err != nil {
			return err
		}
		if rotErr != nil {
			return errorReported{rotErr}
		}
		return nil
	}
	if rotErr != nil {
		return rotErr
	}
	ui.WriteRotation(f.Out, res, out.Handoff)
	return nil
}

// writeAfterward says where the change record and the calendar reminder
// of a run are, on stderr.
func writeAfterward(f *factory, record, reminder string) {
	if record != "" {
		fmt.Fprintf(f.ErrOut, "Change record (for your change ticket): %s\n", record)
	}
	if reminder != "" {
		fmt.Fprintf(f.ErrOut, "Calendar reminder of the secret's expiry (alarms 30 and 7 days before): %s\n", reminder)
	}
}
