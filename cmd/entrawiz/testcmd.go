package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/ui"
)

type testOptions struct {
	Connection string
	JSON       bool
}

func newTestCmd(f *factory, runF func(*testOptions) error) *cobra.Command {
	opts := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Test the connection as the product uses it: app-only sign-in and Graph reads",
		Long: `Sign in as the app with the client secret from the OS keyring, check that the token
carries the application permissions the profile needs, and read Microsoft Graph with
each of them. No admin sign-in is needed and nothing is written to the tenant.`,
		Example: "  entrawiz test\n  entrawiz test --connection contoso.onmicrosoft.com/directory-sync --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE:    runE(f, opts, &opts.JSON, runF, testRun),
	}
	connectionFlags(cmd.Flags(), &opts.Connection, &opts.JSON)
	return cmd
}

func testRun(cmd *cobra.Command, f *factory, opts *testOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	conn, res, testErr := a.Test(cmd.Context(), opts.Connection, ui.NewLines(f.ErrOut).Report)
	if res == nil {
		return testErr
	}
	if opts.JSON {
		return f.writeResult(map[string]any{"connection": conn.Name, "result": res}, testErr)
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
