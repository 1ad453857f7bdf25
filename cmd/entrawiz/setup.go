package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// setupOptions are the flags of `entrawiz setup`.
type setupOptions struct {
	Profile      string
	Tenant       string
	AppName      string
	RedirectURIs []string
	Yes          bool
	JSON         bool
	RevealSecret bool
	DeliverCmd   string
	// The manual path: the app was registered by hand.
	Manual      bool
	ClientID    string
	SecretStdin bool
}

func newSetupCmd(f *factory, runF func(context.Context, *setupOptions) error) *cobra.Command {
	opts := &setupOptions{}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register the app, grant consent, create the secret, and test — headless",
		Long: `Perform the whole portal procedure in your tenant through Microsoft Graph:
sign in (device code), read the tenant and plan, then — after you confirm —
register the app and its enterprise app, grant admin consent, create the client
secret straight into the OS keyring, set assignment and create the group the
profile asks for, and test the connection as the app will use it.

Every step checks first whether it is already done, so running setup again
changes nothing that is already right, and finishes what a stopped run left.

The values the product asks for are printed at the end; the client secret is
shown only with --reveal-secret, or piped to a command with --deliver-cmd.`,
		Example: `  entrawiz setup --profile directory-sync --tenant contoso.onmicrosoft.com
  entrawiz setup --profile ./print-server.json --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 --yes --json
  entrawiz setup --profile sso --tenant contoso.com --redirect-uri https://app.example.com/cb \
      --deliver-cmd 'vendorctl set-secret --stdin'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Profile == "" {
				return requireFlag(cmd, "profile")
			}
			if opts.Tenant == "" {
				return requireFlag(cmd, "tenant")
			}
			if err := steps.ValidateTenant(opts.Tenant); err != nil {
				return usageError{fmt.Errorf("--tenant: %w", err)}
			}
			if opts.Manual {
				if opts.ClientID == "" {
					return requireFlag(cmd, "client-id")
				}
				if !opts.SecretStdin && !f.IsTTY {
					return requireFlag(cmd, "secret-stdin")
				}
			} else if !opts.Yes && !f.IsTTY {
				return requireFlag(cmd, "yes")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return setupRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Profile, "profile", "", "built-in profile name (see: entrawiz profiles) or a profile file (JSON or YAML)")
	fl.StringVar(&opts.Tenant, "tenant", "", "tenant ID or a verified domain, e.g. contoso.onmicrosoft.com")
	fl.StringVar(&opts.AppName, "app-name", "", "the app's display name in Entra (default: the profile's appName)")
	fl.StringSliceVar(&opts.RedirectURIs, "redirect-uri", nil, "web redirect URI(s), replacing the profile's (repeat or comma-separate)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "go ahead without asking to confirm the plan (required when not interactive)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout")
	fl.BoolVar(&opts.RevealSecret, "reveal-secret", false, "print the client secret's value once (it is otherwise only in the keyring)")
	fl.StringVar(&opts.DeliverCmd, "deliver-cmd", "", "run this shell command with the client secret on its stdin")
	fl.BoolVar(&opts.Manual, "manual", false, "the app was registered by hand: record --client-id and the secret, then test (no admin sign-in)")
	fl.StringVar(&opts.ClientID, "client-id", "", "with --manual: the Application (client) ID")
	fl.BoolVar(&opts.SecretStdin, "secret-stdin", false, "with --manual: read the client secret's Value from stdin")
	return cmd
}

// setupResult is what `setup --json` prints.
type setupResult struct {
	Connection string               `json:"connection"`
	Tenant     store.Tenant         `json:"tenant"`
	App        store.App            `json:"app"`
	Plan       []steps.PlanItem     `json:"plan"`
	Warnings   []string             `json:"warnings,omitempty"`
	Steps      []stepLine           `json:"steps"`
	Handoff    []steps.HandoffValue `json:"handoff"`
	Secret     *store.Secret        `json:"secret,omitempty"`
}

func setupRun(ctx context.Context, f *factory, opts *setupOptions) error {
	profile, err := steps.LoadProfile(opts.Profile)
	if err != nil {
		return usageError{err}
	}
	if opts.AppName != "" {
		profile.AppName = opts.AppName
	}
	if len(opts.RedirectURIs) > 0 {
		profile.RedirectURIs.Web = opts.RedirectURIs
	}
	if err := profile.Validate(); err != nil {
		return usageError{err}
	}
	cfg, dir, err := f.loadConfig()
	if err != nil {
		return err
	}
	if opts.Manual {
		return manualRun(ctx, f, opts, profile, cfg, dir)
	}
	sess, err := f.signIn(ctx, opts.Tenant, steps.AdminScopes(profile))
	if err != nil {
		return err
	}
	secrets := f.Secrets()
	conn := findConnection(cfg, sess.identity.TenantID, profile.Name)
	rep := newReporter(f.ErrOut, opts.JSON)
	env := &steps.Env{
		Graph: sess.graph, Secrets: secrets, NewAppClient: f.newAppClient(sess.identity.TenantID),
		Report: rep.report, Now: f.Now, Backoff: f.Backoff,
		Save: saver(cfg, dir),
	}
	fmt.Fprintln(f.ErrOut, "Reading the tenant…")
	plan, err := steps.Preflight(ctx, env, profile, conn, sess.identity.UPN)
	if err != nil {
		return err
	}
	if conn.Name == "" {
		conn.Name = plan.Tenant.InitialDomain + "/" + profile.Name
		conn.Created = f.now()
	}
	conn.Profile, conn.Tenant = profile.Name, plan.Tenant
	conn.Cloud, conn.LoginURL, conn.GraphURL = f.Global.Cloud, f.Global.LoginURL, f.Global.GraphURL
	printPlan(f.ErrOut, plan)
	if plan.Blocker != nil {
		// This account cannot do the procedure: forget its sign-in, so the
		// next run asks for one that can instead of reusing it.
		if err := sess.admin.SignOut(ctx); err == nil {
			fmt.Fprintf(f.ErrOut, "Signed out %s: the next run asks for a sign-in again.\n", sess.identity.UPN)
		}
		return plan.Blocker
	}
	if !opts.Yes && !confirm(f, "Go ahead?") {
		return fmt.Errorf("stopped before changing anything: %w", context.Canceled)
	}
	run := &steps.Run{Env: env, Profile: profile, Conn: conn, Plan: plan}
	run.SetState("profile", profile)
	if opts.DeliverCmd != "" {
		run.Deliver = func(ctx context.Context, secret string) error { return deliver(ctx, opts.DeliverCmd, secret) }
	}
	if err := run.Execute(ctx, steps.Procedure()); err != nil {
		return err
	}
	handoff, err := steps.Handoff(secrets, conn, profile, sess.graph.Cloud().LoginURL, opts.RevealSecret)
	if err != nil {
		return err
	}
	if opts.RevealSecret {
		fmt.Fprintln(f.ErrOut, "Warning: the client secret is printed below. Paste it into the product now; it stays in the OS keyring.")
	}
	if opts.JSON {
		res := setupResult{Connection: conn.Name, Tenant: conn.Tenant, App: conn.App, Plan: plan.Items, Warnings: plan.Warnings,
			Steps: rep.lines, Handoff: handoff}
		if s := steps.ActiveSecret(conn); s != nil {
			c := *s
			res.Secret = &c
		}
		enc := json.NewEncoder(f.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(f.Out, "\nConnection %s is set up. Give the product these values:\n\n", conn.Name)
	printHandoff(f.Out, handoff)
	if s := steps.ActiveSecret(conn); s != nil && !s.End.IsZero() {
		fmt.Fprintf(f.Out, "\nThe client secret ends %s (%d days): `entrawiz rotate` replaces it without an outage.\n",
			s.End.Format("2006-01-02"), steps.DaysLeft(f.now(), s.End))
	}
	return nil
}

// findConnection returns the saved connection for this tenant and profile,
// or a new one (with no name yet).
func findConnection(cfg *store.Config, tenantID, profile string) *store.Connection {
	for i := range cfg.Connections {
		c := &cfg.Connections[i]
		if strings.EqualFold(c.Tenant.ID, tenantID) && c.Profile == profile {
			cp := *c
			return &cp
		}
	}
	return &store.Connection{}
}

func confirm(f *factory, question string) bool {
	fmt.Fprintf(f.ErrOut, "%s [y/N] ", question)
	line, _ := bufio.NewReader(f.In).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes"
}

// deliver runs the admin's command with the secret on its stdin; the secret
// never appears in its arguments or environment.
func deliver(ctx context.Context, command, secret string) error {
	shell, flag := "sh", "-c"
	if runtime.GOOS == "windows" {
		shell, flag = "cmd", "/C"
	}
	c := exec.CommandContext(ctx, shell, flag, command)
	c.Stdin = strings.NewReader(secret)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", command, err, strings.TrimSpace(strings.ReplaceAll(string(out), secret, "[secret]")))
	}
	return nil
}

// manualRun records a connection to an app registered by hand and tests it.
func manualRun(ctx context.Context, f *factory, opts *setupOptions, profile *steps.Profile, cfg *store.Config, dir string) error {
	secret, err := readSecret(f, opts.SecretStdin)
	if err != nil {
		return err
	}
	if err := steps.ValidateSecretValue(secret); err != nil {
		return usageError{err}
	}
	if err := steps.ValidateGUID("--client-id", opts.ClientID); err != nil {
		return usageError{err}
	}
	conn := &store.Connection{Name: opts.Tenant + "/" + profile.Name, Created: f.now(), Tenant: store.Tenant{}}
	if old := cfg.Connection(conn.Name); old != nil {
		cp := *old
		conn = &cp
	}
	conn.Cloud, conn.LoginURL, conn.GraphURL = f.Global.Cloud, f.Global.LoginURL, f.Global.GraphURL
	rep := newReporter(f.ErrOut, opts.JSON)
	env := &steps.Env{Secrets: f.Secrets(), NewAppClient: f.newAppClient(opts.Tenant), Report: rep.report, Now: f.Now, Backoff: f.Backoff,
		Save: saver(cfg, dir)}
	res, err := steps.ManualConnection(ctx, env, profile, conn, opts.ClientID, secret)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(f.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"connection": conn.Name, "tenant": conn.Tenant, "app": conn.App, "test": res})
	}
	fmt.Fprintf(f.Out, "Connection %s recorded: %s\n", conn.Name, res.Summary())
	return nil
}

// readSecret reads the client secret from stdin, or asks for it without echo
// on a terminal.
func readSecret(f *factory, fromStdin bool) (string, error) {
	if fromStdin || !f.IsTTY {
		line, err := bufio.NewReader(f.In).ReadString('\n')
		if err != nil && line == "" {
			return "", usageError{fmt.Errorf("no client secret on stdin")}
		}
		return strings.TrimSpace(line), nil
	}
	fmt.Fprint(f.ErrOut, "Client secret (the Value, not the Secret ID): ")
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(f.ErrOut)
	return strings.TrimSpace(string(b)), err
}
