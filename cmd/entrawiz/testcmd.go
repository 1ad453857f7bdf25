package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

type testOptions struct {
	Connection string
	JSON       bool
}

func newTestCmd(f *factory) *cobra.Command {
	opts := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Test the connection as the product uses it: app-only sign-in and Graph reads",
		Long: `Sign in as the app with the client secret from the OS keyring, check that the token
carries the application permissions the profile needs, and read Microsoft Graph with
each of them. No admin sign-in is needed and nothing is written to the tenant.`,
		Example: "  entrawiz test\n  entrawiz test --connection contoso.onmicrosoft.com/directory-sync --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return testRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Connection, "connection", "", "the connection to test (when there are several)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout")
	return cmd
}

func testRun(ctx context.Context, f *factory, opts *testOptions) error {
	cfg, dir, conn, err := f.openConnection(opts.Connection)
	if err != nil {
		return err
	}
	rep := newReporter(f.ErrOut, opts.JSON)
	res, testErr := testConnection(ctx, f, cfg, dir, conn, rep.report)
	if res == nil && testErr != nil && errors.Is(testErr, errNoProfile) {
		return testErr
	}
	if opts.JSON {
		out := map[string]any{"connection": conn.Name, "result": res}
		if testErr != nil {
			ge := graphapi.Classify(testErr)
			out["error"] = map[string]string{"kind": ge.Kind.String(), "code": ge.Code, "message": testErr.Error(), "remedy": ge.Remedy}
		}
		enc := json.NewEncoder(f.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		if testErr != nil {
			return errorReported{testErr}
		}
		return nil
	}
	if testErr != nil {
		return testErr
	}
	fmt.Fprintf(f.Out, "%s: %s\n", conn.Name, res.Summary())
	for _, rd := range res.Reads {
		fmt.Fprintf(f.Out, "  %-24s %s\n", rd.Permission, rd.Result)
	}
	return nil
}

// savedProfile is the profile the connection was set up with, as saved then,
// so later commands need neither the file nor the same entrawiz version.
func savedProfile(conn *store.Connection) (*steps.Profile, error) {
	if p := steps.SavedProfile(conn); p != nil {
		return p, nil
	}
	return steps.LoadProfile(conn.Profile)
}

var errNoProfile = errors.New("the connection's profile cannot be found")

// testConnection runs the connection test of a saved connection and records
// the result in the config, passed or not.
func testConnection(ctx context.Context, f *factory, cfg *store.Config, dir string, conn *store.Connection, report func(steps.Event)) (*steps.TestResult, error) {
	profile, err := savedProfile(conn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoProfile, err)
	}
	env := &steps.Env{Secrets: f.Secrets(), NewAppClient: f.newAppClient(conn.Tenant.ID), Report: report, Now: f.Now, Backoff: f.Backoff,
		Save: saver(cfg, dir)}
	run := &steps.Run{Env: env, Profile: profile, Conn: conn}
	var res *steps.TestResult
	var testErr error
	if s := steps.ActiveSecret(conn); s != nil && steps.ExpiryState(f.now(), s.End) == "expired" {
		// Known expired: no sign-in attempt needed to say so.
		testErr = steps.SecretExpiredError(s)
	} else {
		res, testErr = steps.Verify(ctx, run, profile.ApplicationPermissions)
	}
	if res == nil {
		res = &steps.TestResult{At: f.now(), AppID: conn.App.AppID}
	}
	if testErr != nil {
		run.SetState("test", res)
	}
	if err := env.Save(conn); err != nil {
		return res, err
	}
	return res, testErr
}
