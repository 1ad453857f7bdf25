package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
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
}

func newRotateCmd(f *factory) *cobra.Command {
	opts := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the client secret by overlap, never breaking what works",
		Long: `Rotate the connection's client secret without an outage: add a new secret, store it
in the OS keyring next to the old one, verify an app-only sign-in with it (waiting
out Entra's replication), hand it to the product, and make it the active one.
The old secret is removed only after --remove-old-after, or when you confirm the
product has the new one with ` + "`entrawiz rotate --finish`" + `.

A stopped run is finished by the next one. What a stopped run left behind (a
secret made by entrawiz that no keyring holds, a keyring entry whose secret is gone
from the app) is reported, and removed with --clean-up. Secrets made outside
entrawiz are never removed unless you name them with --remove KEYID.

Needs your admin sign-in (Application.ReadWrite.All), like setup.`,
		Example: `  entrawiz rotate --json
  entrawiz rotate --if-expiring-within 30d --remove-old-after 7d --deliver-cmd 'vendorctl set-secret --stdin'
  entrawiz rotate --finish
  entrawiz rotate --clean-up`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return rotateRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Connection, "connection", "", "the connection (when there are several)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout")
	fl.BoolVar(&opts.RevealSecret, "reveal-secret", false, "print the new client secret's value once")
	fl.StringVar(&opts.DeliverCmd, "deliver-cmd", "", "run this shell command with the new client secret on its stdin before it is made active")
	fl.StringVar(&opts.IfExpiringWithin, "if-expiring-within", "", "do nothing unless the secret ends within this long, e.g. 30d (for cron)")
	fl.StringVar(&opts.RemoveOldAfter, "remove-old-after", "", "remove the old secret this long after the new one is active, e.g. 7d or 0s (default: only on --finish)")
	fl.BoolVar(&opts.Finish, "finish", false, "the product has the new secret: remove the old one now")
	fl.BoolVar(&opts.CleanUp, "clean-up", false, "remove what stopped runs left: entrawiz-made secrets no keyring holds, keyring entries whose secret is gone")
	fl.StringSliceVar(&opts.Remove, "remove", nil, "also remove this client secret (keyId), even one made outside entrawiz; repeat for more")
	return cmd
}

// parseDays parses a duration that may be given in days ("30d") or as a Go
// duration ("720h", "0s").
func parseDays(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 || s == "" {
		return 0, usageError{fmt.Errorf("--%s: %q is not a duration such as 30d, 12h or 0s", flag, s)}
	}
	return d, nil
}

// rotateOutput is what `rotate --json` prints.
type rotateOutput struct {
	*steps.RotateResult
	Steps   []stepLine           `json:"steps"`
	Handoff []steps.HandoffValue `json:"handoff,omitempty"`
	Error   map[string]string    `json:"error,omitempty"`
}

func rotateRun(ctx context.Context, f *factory, opts *rotateOptions) error {
	var ro steps.RotateOptions
	var err error
	if opts.IfExpiringWithin != "" {
		if ro.IfExpiringWithin, err = parseDays("if-expiring-within", opts.IfExpiringWithin); err != nil {
			return err
		}
	}
	if opts.RemoveOldAfter != "" {
		d, err := parseDays("remove-old-after", opts.RemoveOldAfter)
		if err != nil {
			return err
		}
		ro.RemoveOldAfter = &d
	}
	for _, id := range opts.Remove {
		if err := steps.ValidateGUID("--remove", id); err != nil {
			return usageError{err}
		}
	}
	ro.Finish, ro.CleanUp, ro.Remove = opts.Finish, opts.CleanUp, opts.Remove
	cfg, dir, conn, err := f.openConnection(opts.Connection)
	if err != nil {
		return err
	}
	if conn.App.ObjectID == "" {
		return errors.New("this connection's app was registered by hand (no object ID is known): rotate its secret in the portal and record it with `entrawiz setup --manual`")
	}
	profile, err := savedProfile(conn)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoProfile, err)
	}
	sess, err := f.signIn(ctx, conn.Tenant.ID, rotateScopes(profile))
	if err != nil {
		return err
	}
	rep := newReporter(f.ErrOut, opts.JSON)
	res, rotErr := rotateConnection(ctx, f, sess, cfg, dir, conn, profile, ro, opts.DeliverCmd, rep.report)
	out := rotateOutput{RotateResult: res, Steps: rep.lines}
	if rotErr == nil && res.Rotated {
		out.Handoff, err = steps.Handoff(f.Secrets(), conn, profile, sess.graph.Cloud().LoginURL, opts.RevealSecret)
		if err != nil {
			return err
		}
		if opts.RevealSecret {
			fmt.Fprintln(f.ErrOut, "Warning: the new client secret is printed below. Give it to the product now; it stays in the OS keyring.")
		}
	}
	if opts.JSON {
		if rotErr != nil {
			ge := graphapi.Classify(rotErr)
			out.Error = map[string]string{"kind": ge.Kind.String(), "code": ge.Code, "message": rotErr.Error(), "remedy": ge.Remedy}
		}
		enc := json.NewEncoder(f.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
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
	printRotation(f, res, out.Handoff)
	return nil
}

// rotateScopes are the admin's scopes for a rotation: setup's, which
// include reading the tenant's secret lifetime policy.
func rotateScopes(p *steps.Profile) []string {
	return steps.AdminScopes(p)
}

// rotateConnection runs a rotation of a saved connection, saving the
// config after every step.
func rotateConnection(ctx context.Context, f *factory, sess *session, cfg *store.Config, dir string, conn *store.Connection,
	profile *steps.Profile, ro steps.RotateOptions, deliverCmd string, report func(steps.Event)) (*steps.RotateResult, error) {
	env := &steps.Env{
		Graph: sess.graph, Secrets: f.Secrets(), NewAppClient: f.newAppClient(conn.Tenant.ID),
		Report: report, Now: f.Now, Backoff: f.Backoff,
		Save: saver(cfg, dir),
	}
	run := &steps.Run{Env: env, Profile: profile, Conn: conn}
	if deliverCmd != "" {
		run.Deliver = func(ctx context.Context, secret string) error { return deliver(ctx, deliverCmd, secret) }
	}
	return steps.RotateSecret(ctx, run, ro)
}

func printRotation(f *factory, res *steps.RotateResult, handoff []steps.HandoffValue) {
	w := f.Out
	switch {
	case res.Skipped != "":
		fmt.Fprintf(w, "%s: no rotation: %s\n", res.Connection, res.Skipped)
	case res.Rotated:
		fmt.Fprintf(w, "%s: the new client secret is active", res.Connection)
		if res.Secret != nil {
			fmt.Fprintf(w, " (%s…, ends %s)", res.Secret.Hint, res.Secret.End.Format("2006-01-02"))
		}
		fmt.Fprintln(w, ". Give the product these values:")
		printHandoff(w, handoff)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, s := range res.Retiring {
		when := "on `entrawiz rotate --finish`"
		if !s.RemoveAfter.IsZero() {
			when = "after " + s.RemoveAfter.Local().Format("2006-01-02 15:04") + " (the next `entrawiz rotate` removes it)"
		}
		fmt.Fprintf(w, "  old secret %s… stays until %s\n", s.Hint, when)
	}
	for _, id := range res.Removed {
		fmt.Fprintf(w, "  removed %s\n", id)
	}
	for _, l := range res.Leftovers {
		state := "reported: --clean-up removes it"
		if l.Removed {
			state = "cleaned up"
		}
		fmt.Fprintf(w, "  ! %s %s: %s (%s)\n", l.Kind, l.KeyID, l.Detail, state)
	}
}
