package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/ui"
)

type testOptions struct {
	Connection string
	JSON       bool
	SignIn     bool   // a user's sign-in instead of the app-only test
	User       string // the user who signs in
}

func newTestCmd(f *factory, runF func(*testOptions) error) *cobra.Command {
	opts := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Test the connection as the product uses it: app-only sign-in and Graph reads",
		Long: `Sign in as the app with the client secret from the OS keyring, check that the token
carries the application permissions the profile needs, and read Microsoft Graph with
each of them. No admin sign-in is needed and nothing is written to the tenant.

With --sign-in, a real user signs in to the app exactly as the product will make
them (for profiles with web or SPA redirect URIs): you sign in as an admin, a
temporary loopback redirect URI is added to the app, the user signs in in a
browser (the address is printed; open it anywhere), the code is redeemed with
the app's own stored secret, the ID token is checked (signature, issuer,
audience, tenant, nonce, expiry) and its claims are shown, and the temporary
URI is removed. A test that is killed leaves a record; the next one removes the
leftover URI first. A refusal that needs an admin (user not assigned, consent
missing) exits 3 with the AADSTS code.

When the browser is on another computer it ends on a page that cannot be
reached: copy that page's whole address and paste it here. If it shows an
error page instead, paste the line that starts with AADSTS.
Here --sign-in names this test; your own admin sign-in mode (auto, device,
browser) comes from ENTRAWIZ_SIGN_IN.`,
		Example: `  entrawiz test
  entrawiz test --connection contoso.onmicrosoft.com/directory-sync --json

  # A real user signs in to the app, as the product will make them:
  entrawiz test --sign-in --user adele@contoso.com
  entrawiz test --sign-in --user adele@contoso.com --no-browser --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(f, opts, &opts.JSON, runF, testRun),
	}
	connectionFlags(cmd.Flags(), &opts.Connection, &opts.JSON)
	cmd.Flags().BoolVar(&opts.SignIn, "sign-in", false, "test a user's sign-in to the app instead (web and SPA profiles)")
	cmd.Flags().StringVar(&opts.User, "user", "", "with --sign-in: the user who signs in (UPN), filled in on the sign-in page")
	return cmd
}

func testRun(cmd *cobra.Command, f *factory, opts *testOptions) error {
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	if opts.User != "" && !opts.SignIn {
		return &app.InputError{Err: fmt.Errorf("--user goes with --sign-in")}
	}
	if opts.SignIn {
		return testSignInRun(cmd, f, a, opts)
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

// testSignInRun is `test --sign-in`.
func testSignInRun(cmd *cobra.Command, f *factory, a *app.App, opts *testOptions) error {
	who := "the user who should be able to use the product"
	if opts.User != "" {
		who = opts.User
	}
	res, err := a.TestSignIn(cmd.Context(), opts.Connection, app.SignInTest{User: opts.User, ShowCode: f.showDeviceCode,
		Report: ui.NewLines(f.ErrOut).Report,
		ShowURL: func(url string) {
			fmt.Fprintf(f.ErrOut, "\nTo test the sign-in, open this address in a browser:\n\n%s\n\n%s\nWaiting for the sign-in...\n\n",
				url, app.SignInURLHelp(who, true))
			if f.OnSignInURL != nil {
				f.OnSignInURL(url)
			}
		}})
	if opts.JSON {
		out := map[string]any{"signIn": map[string]any{"ok": false}}
		if res != nil {
			out["signIn"] = res
		}
		return f.writeResult(out, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(f.Out, "%s signed in. The product receives these claims in the ID token:\n", steps.Printable(res.User))
	keys := make([]string, 0, len(res.Claims))
	for k := range res.Claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(f.Out, "  %-20s %s\n", k, steps.Printable(fmt.Sprint(res.Claims[k])))
	}
	return nil
}
