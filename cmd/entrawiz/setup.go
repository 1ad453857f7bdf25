package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

// setupOptions are the flags of `entrawiz setup`.
type setupOptions struct {
	Profile      string
	Tenant       string
	AppName      string
	RedirectURIs []string
	Assign       []string
	AddMembers   []string
	Yes          bool
	JSON         bool
	RevealSecret bool
	DeliverCmd   string
	// AllowSecretExemption: where the tenant forbids client secrets and
	// the product takes nothing else, exempt this app with a per-app app
	// management policy.
	AllowSecretExemption bool
	// CertOut and PfxOut write the certificate and its private key for a
	// product that takes a file (PEM; PKCS#12 with ENTRAWIZ_PFX_PASSWORD).
	CertOut, PfxOut string
	// The manual path: the app was registered by hand.
	Manual      bool
	ClientID    string
	SecretStdin bool
}

func newSetupCmd(f *factory, runF func(*setupOptions) error) *cobra.Command {
	opts := &setupOptions{}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register the app, grant consent, create the secret, and test — headless",
		Long: `Perform the whole portal procedure in your tenant through Microsoft Graph:
sign in (device code), read the tenant and plan, then — after you confirm —
register the app and its enterprise app, grant admin consent, create the client
secret straight into the OS keyring, set assignment and create the group the
profile asks for, and test the connection as the app will use it.

Before anything is written to the tenant, setup checks that the OS keyring keeps
a secret and gives it back and that the config directory is writable.

Every step checks first whether it is already done, so running setup again
changes nothing that is already right, and finishes what a stopped run left.
Only one setup of a connection runs at a time; another is refused at once.

--assign gives existing users and groups access to the app (assignment with the
default access role) and --add-member puts them in the group the profile creates;
each name is looked up before anything is written.

The values the product asks for are printed at the end; the client secret is
shown only with --reveal-secret, or piped to a command with --deliver-cmd.

Hardened tenants: setup reads the tenant's app management policy before any
write. A profile whose product accepts a certificate ("credential": "certificate"
or "either") gets one: the key pair is made on this computer, only the public
certificate is uploaded, the private key stays in the OS keyring (--cert-out and
--pfx-out write it for the product). Where the product needs a secret and the
tenant forbids new ones, setup stops before changing anything and names the two
ways out; --allow-secret-exemption takes the second: a per-app app management
policy that allows this app secrets, recorded in the connection.

If you cannot grant admin consent for Microsoft Graph application permissions
(Cloud Application Administrator, Application Administrator), everything else
is done and setup ends with exit code 3 and the admin consent URL for a Global
Administrator or Privileged Role Administrator; after they open it, run
` + "`entrawiz test`" + `, or let them run setup again.`,
		Example: `  entrawiz setup --profile directory-sync --tenant contoso.onmicrosoft.com
  entrawiz setup --profile ./print-server.json --tenant contoso.onmicrosoft.com --allow-secret-exemption
  ENTRAWIZ_PFX_PASSWORD=... entrawiz setup --profile ./cert-product.json --tenant contoso.onmicrosoft.com --pfx-out product.pfx
  entrawiz setup --profile ./print-server.json --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 --yes --json
  entrawiz setup --profile sso --tenant contoso.com --redirect-uri https://app.contoso.com/cb \
      --deliver-cmd 'vendorctl set-secret --stdin'
  entrawiz setup --profile ./legal-ai.json --tenant contoso.com --yes \
      --assign megan@contoso.com --assign "Legal Team"`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Profile == "" {
				return requireFlag(cmd, "profile")
			}
			if opts.Tenant == "" {
				return requireFlag(cmd, "tenant")
			}
			if err := steps.ValidateTenant(opts.Tenant); err != nil {
				return &app.InputError{Err: fmt.Errorf("--tenant: %w", err)}
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
				return runF(opts)
			}
			return f.jsonErrors(opts.JSON, setupRun(cmd, f, opts))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Profile, "profile", "", "built-in profile name (see: entrawiz profiles) or a profile file (JSON or YAML)")
	fl.StringVar(&opts.Tenant, "tenant", "", "tenant ID or a verified domain, e.g. contoso.onmicrosoft.com")
	fl.StringVar(&opts.AppName, "app-name", "", "the app's display name in Entra (default: the profile's appName)")
	fl.StringSliceVar(&opts.RedirectURIs, "redirect-uri", nil, "web redirect URI(s), replacing the profile's (repeat or comma-separate)")
	fl.StringArrayVar(&opts.Assign, "assign", nil, "assign a user (UPN or object ID) or group (object ID or exact name) to the app; repeatable")
	fl.StringArrayVar(&opts.AddMembers, "add-member", nil, "add a user or group to the group the profile creates; repeatable")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "go ahead without asking to confirm the plan (required when not interactive)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout")
	fl.BoolVar(&opts.RevealSecret, "reveal-secret", false, "print the client secret's value once (it is otherwise only in the keyring)")
	fl.StringVar(&opts.DeliverCmd, "deliver-cmd", "", "run this shell command with the client secret on its stdin")
	fl.BoolVar(&opts.AllowSecretExemption, "allow-secret-exemption", false, "where the tenant forbids client secrets and the product accepts only one: create and assign a per-app app management policy that allows this app secrets (needs Cloud Application Administrator, Application Administrator or Global Administrator)")
	fl.StringVar(&opts.CertOut, "cert-out", "", "when the app signs in with a certificate: write it and its private key to this PEM file (mode 0600)")
	fl.StringVar(&opts.PfxOut, "pfx-out", "", "when the app signs in with a certificate: write it as a PKCS#12 (.pfx) file protected by the password in ENTRAWIZ_PFX_PASSWORD")
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
	Duplicates []store.App          `json:"duplicates,omitempty"`
	Steps      []ui.StepLine        `json:"steps"`
	Handoff    []steps.HandoffValue `json:"handoff"`
	Secret     *store.Secret        `json:"secret,omitempty"`
}

func setupRun(cmd *cobra.Command, f *factory, opts *setupOptions) error {
	ctx := cmd.Context()
	profile, err := steps.LoadProfile(opts.Profile)
	if err != nil {
		return &app.InputError{Err: err}
	}
	if opts.AppName != "" {
		profile.AppName = opts.AppName
	}
	if len(opts.RedirectURIs) > 0 {
		profile.RedirectURIs.Web = opts.RedirectURIs
	}
	a, err := f.app(cmd)
	if err != nil {
		return err
	}
	rep := ui.NewLines(f.ErrOut)
	if opts.Manual {
		return manualRun(ctx, f, a, opts, profile, rep)
	}
	s, err := a.NewSetup(profile, opts.Tenant)
	if err != nil {
		return err
	}
	if opts.DeliverCmd != "" {
		s.Deliver = app.DeliverTo(opts.DeliverCmd)
	}
	s.Options.AllowSecretExemption = opts.AllowSecretExemption
	s.People = steps.PeopleRequest{Assign: opts.Assign, Members: opts.AddMembers}
	if err := s.SignIn(ctx, f.showDeviceCode); err != nil {
		return err
	}
	fmt.Fprintf(f.ErrOut, "Signed in as %s\n", s.UPN())
	if note := s.SignInNote(); note != "" {
		fmt.Fprintln(f.ErrOut, "Note:", note)
	}
	fmt.Fprintln(f.ErrOut, "Reading the tenant…")
	plan, err := s.Preflight(ctx, rep.Report)
	if err != nil {
		return err
	}
	ui.WritePlan(f.ErrOut, plan)
	if plan.Blocker != nil {
		if s.Blocked(ctx) {
			fmt.Fprintf(f.ErrOut, "Signed out %s: the next run asks for a sign-in again.\n", s.UPN())
		}
		return plan.Blocker
	}
	if !opts.Yes && !ui.Confirm(f.In, f.ErrOut, "Go ahead?") {
		return declined{"stopped before changing anything"}
	}
	pending := s.Execute(ctx, rep.Report)
	if pending != nil && !app.IsConsentPending(pending) {
		return pending
	}
	writeAfterward(f, s.Record, s.Reminder)
	conn := s.Connection()
	if err := writeCertificateFiles(a, conn.Name, opts); err != nil {
		return err
	}
	handoff, err := a.Handoff(conn.Name, opts.RevealSecret)
	if err != nil {
		return err
	}
	if opts.RevealSecret {
		fmt.Fprintln(f.ErrOut, "Warning: the client secret is printed below. Paste it into the product now; it stays in the OS keyring.")
	}
	if opts.JSON {
		res := setupResult{Connection: conn.Name, Tenant: conn.Tenant, App: conn.App, Plan: plan.Items, Warnings: plan.Warnings,
			Steps: rep.Steps, Handoff: handoff, Secret: steps.ActiveSecret(conn)}
		for _, d := range plan.Duplicates {
			res.Duplicates = append(res.Duplicates, store.App{ObjectID: d.ObjectID, AppID: d.AppID, DisplayName: d.DisplayName})
		}
		if pending != nil {
			// One JSON document: the error (exit 3), whose remedy carries
			// the admin consent URL.
			return pending
		}
		return f.writeJSON(res)
	}
	if pending != nil {
		fmt.Fprintf(f.Out, "\nConnection %s is set up except for admin consent. Give a Global Administrator or Privileged Role Administrator the admin consent URL below; give the product these values:\n\n", conn.Name)
		ui.WriteHandoff(f.Out, handoff)
		return pending
	}
	fmt.Fprintf(f.Out, "\nConnection %s is set up. Give the product these values:\n\n", conn.Name)
	ui.WriteHandoff(f.Out, handoff)
	if sec := steps.ActiveSecret(conn); sec != nil && !sec.End.IsZero() {
		fmt.Fprintf(f.Out, "\nThe client secret ends %s (%d days): `entrawiz rotate` replaces it without an outage.\n",
			sec.End.Format("2006-01-02"), steps.DaysLeft(f.now(), sec.End))
	}
	return nil
}

// manualRun records a connection to an app registered by hand and tests it.
func manualRun(ctx context.Context, f *factory, a *app.App, opts *setupOptions, profile *steps.Profile, rep *ui.Lines) error {
	if err := steps.ValidateGUID("--client-id", opts.ClientID); err != nil {
		return &app.InputError{Err: err}
	}
	secret, err := ui.ReadSecret(f.In, f.ErrOut, opts.SecretStdin || !f.IsTTY)
	if err != nil {
		return &app.InputError{Err: err}
	}
	conn, res, err := a.Manual(ctx, opts.Tenant, profile, opts.ClientID, secret, rep.Report)
	if err != nil {
		return err
	}
	if opts.JSON {
		return f.writeJSON(map[string]any{"connection": conn.Name, "tenant": conn.Tenant, "app": conn.App, "test": res})
	}
	fmt.Fprintf(f.Out, "Connection %s recorded: %s\n", conn.Name, res.Summary())
	return nil
}

// writeCertificateFiles hands the connection's certificate to a product
// that takes a file: PEM (certificate and PKCS#8 key) or PKCS#12.
func writeCertificateFiles(a *app.App, name string, opts *setupOptions) error {
	if opts.CertOut == "" && opts.PfxOut == "" {
		return nil
	}
	pemText, pfx, err := a.CertificateFiles(name, os.Getenv("ENTRAWIZ_PFX_PASSWORD"), opts.PfxOut != "")
	if err != nil {
		return err
	}
	if opts.CertOut != "" {
		if err := store.WriteFileAtomic(opts.CertOut, pemText); err != nil {
			return fmt.Errorf("write %s: %w", opts.CertOut, err)
		}
	}
	if opts.PfxOut != "" {
		if err := store.WriteFileAtomic(opts.PfxOut, pfx); err != nil {
			return fmt.Errorf("write %s: %w", opts.PfxOut, err)
		}
	}
	return nil
}
