package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// Setup against hardened tenants: app management policies (no secrets, a
// lifetime cap, no multi-tenant apps), certificates, and an admin who
// cannot grant consent.

func newHardened(t *testing.T, o sim.Options) *world {
	t.Helper()
	o.Users, o.Groups, o.Approve = 20, 5, "manual"
	tn := simtest.Start(t, o)
	return &world{t: t, srv: tn.Srv, info: tn.Info, cloud: tn.Cloud, hc: tn.HTTP, dir: t.TempDir(), keys: store.NewMemKeyring()}
}

// exampleProfile loads one of the five vendor procedures' example profiles.
func exampleProfile(t *testing.T, name string) *steps.Profile {
	t.Helper()
	p, err := steps.LoadProfile(filepath.Join("..", "docs", "profiles", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run is a whole setup of p with the admin's explicit options; the plan is
// returned even when execution fails.
func (w *world) run(a *App, p *steps.Profile, o steps.PreflightOptions) (*Setup, *steps.Plan, error) {
	w.t.Helper()
	s, err := a.NewSetup(p, w.info.TenantDomain)
	if err != nil {
		w.t.Fatal(err)
	}
	s.Options = o
	ctx := context.Background()
	if err := s.SignIn(ctx, nil); err != nil {
		w.t.Fatal(err)
	}
	plan, err := s.Preflight(ctx, nil)
	if err != nil {
		return s, nil, err
	}
	return s, plan, s.Execute(ctx, nil)
}

// writes counts the Graph requests that could change the tenant since the
// request log was last reset.
func (w *world) writes() []string {
	var out []string
	for _, r := range w.srv.Requests() {
		if r.IsGraphWrite() {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

var fiveProfiles = []string{"legal-practice", "print-server", "coworking", "legal-ai", "password-manager"}

// TestForbiddenSecretsFiveProcedures is the done-when: in a tenant
// that forbids new client secrets, each of the five vendor procedures'
// example profiles (their products all ask for a secret) stops before any
// write with the remedy, and finishes with --allow-secret-exemption.
func TestForbiddenSecretsFiveProcedures(t *testing.T) {
	for _, name := range fiveProfiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newHardened(t, sim.Options{ForbidSecrets: true})
			a := w.app(nil)
			w.srv.ResetRequests()
			_, plan, err := w.run(a, exampleProfile(t, name), steps.PreflightOptions{})
			var ge *graphapi.Error
			if !errors.As(err, &ge) || ge.Code != "CredentialTypeNotAllowedAsPerAppPolicy" || plan == nil || plan.Blocker == nil {
				t.Fatalf("setup = %v, want the secret ban reported before any write", err)
			}
			if !strings.Contains(ge.Remedy, "certificate") || !strings.Contains(ge.Remedy, "--allow-secret-exemption") {
				t.Errorf("remedy lacks the two ways out: %s", ge.Remedy)
			}
			if wr := w.writes(); len(wr) > 0 {
				t.Fatalf("the tenant was changed although preflight said it cannot finish: %v", wr)
			}
			t.Logf("%s without exemption: stopped before any write: %s", name, ge.Message)

			s, _, err := w.run(a, exampleProfile(t, name), steps.PreflightOptions{AllowSecretExemption: true})
			if err != nil {
				t.Fatalf("setup with --allow-secret-exemption: %v", err)
			}
			conn := s.Connection()
			if conn.State.SecretExemption == nil || w.srv.AppManagementPolicyOf(conn.App.AppID) != conn.State.SecretExemption.PolicyID {
				t.Fatalf("exemption not recorded or not assigned: %+v", conn.State.SecretExemption)
			}
			secret, _, err := steps.StoredSecret(w.keys, conn)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.works(conn.App.AppID, secret); err != nil {
				t.Fatalf("the exempted app's secret does not sign in: %v", err)
			}
			t.Logf("%s with --allow-secret-exemption: finished, policy %s assigned to this app only", name, conn.State.SecretExemption.PolicyID)
		})
	}
}

// TestRestrictions: each restriction against a profile whose product takes
// a certificate and one whose product takes only a secret.
func TestRestrictions(t *testing.T) {
	base := func(t *testing.T, credential, audience string) *steps.Profile {
		p := exampleProfile(t, "print-server")
		p.Credential, p.SignInAudience = credential, audience
		return p
	}
	tests := []struct {
		name       string
		opts       sim.Options
		credential string
		audience   string
		wantCode   string // blocked before any write with this code; "" finishes
		wantKind   string // the credential made
		wantDays   int    // its lifetime, at most
	}{
		{"no secrets, secret only", sim.Options{ForbidSecrets: true}, "secret", "AzureADMyOrg", "CredentialTypeNotAllowedAsPerAppPolicy", "", 0},
		{"no secrets, either", sim.Options{ForbidSecrets: true}, "either", "AzureADMyOrg", "", "certificate", 365},
		{"lifetime cap, secret only", sim.Options{SecretMaxLifetime: 90 * 24 * time.Hour}, "secret", "AzureADMyOrg", "", "secret", 90},
		{"lifetime cap, certificate", sim.Options{CertMaxLifetime: 30 * 24 * time.Hour}, "certificate", "AzureADMyOrg", "", "certificate", 30},
		{"no multi-tenant, secret only", sim.Options{ForbidMultiTenant: true}, "secret", "AzureADMultipleOrgs", "SignInAudienceNotAllowedAsPerAppPolicy", "", 0},
		{"no multi-tenant, certificate", sim.Options{ForbidMultiTenant: true}, "certificate", "AzureADMultipleOrgs", "SignInAudienceNotAllowedAsPerAppPolicy", "", 0},
		{"no multi-tenant, single-tenant certificate", sim.Options{ForbidMultiTenant: true}, "certificate", "AzureADMyOrg", "", "certificate", 365},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newHardened(t, tt.opts)
			a := w.app(nil)
			w.srv.ResetRequests()
			s, _, err := w.run(a, base(t, tt.credential, tt.audience), steps.PreflightOptions{})
			if tt.wantCode != "" {
				var ge *graphapi.Error
				if !errors.As(err, &ge) || ge.Code != tt.wantCode {
					t.Fatalf("setup = %v, want %s before any write", err, tt.wantCode)
				}
				if wr := w.writes(); len(wr) > 0 {
					t.Fatalf("the tenant was changed: %v", wr)
				}
				t.Logf("%s: stopped before any write (%s)", tt.name, tt.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("setup: %v", err)
			}
			conn := s.Connection()
			var end time.Time
			switch tt.wantKind {
			case "certificate":
				c := steps.ActiveCertificate(conn)
				if c == nil || !steps.UsesCertificate(conn) || w.srv.KeyCredentialCount(conn.App.AppID) != 1 {
					t.Fatalf("no certificate: %+v", conn.State.Certificates)
				}
				end = c.End
			case "secret":
				sec := steps.ActiveSecret(conn)
				if sec == nil {
					t.Fatal("no secret")
				}
				end = sec.End
			}
			if days := end.Sub(time.Now()).Hours() / 24; days > float64(tt.wantDays)+1 {
				t.Errorf("%s lives %.0f days, want at most %d", tt.wantKind, days, tt.wantDays)
			}
			if conn.State.Test == nil || !conn.State.Test.Passed {
				t.Fatalf("connection test not passed: %+v", conn.State.Test)
			}
			t.Logf("%s: finished with a %s of %.0f days", tt.name, tt.wantKind, end.Sub(time.Now()).Hours()/24)
		})
	}
}

// TestCertificateSetupTestHandoffRotate: a profile whose product accepts a
// certificate finishes with one in a tenant forbidding secrets, passes
// `entrawiz test`, hands it off as PEM and PKCS#12, and rotates by overlap.
func TestCertificateSetupTestHandoffRotate(t *testing.T) {
	w := newHardened(t, sim.Options{ForbidSecrets: true})
	a := w.app(nil)
	p := exampleProfile(t, "password-manager")
	p.Credential = steps.CredentialCertificate
	s, plan, err := w.run(a, p, steps.PreflightOptions{})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	if plan.Credential.Kind != steps.CredentialCertificate {
		t.Fatalf("plan credential = %+v", plan.Credential)
	}
	conn := s.Connection()
	first := steps.ActiveCertificate(conn)
	if first == nil || steps.ActiveSecret(conn) != nil {
		t.Fatalf("want a certificate and no secret: %+v", conn.State)
	}
	key, err := w.keys.Get(first.KeyringName)
	if err != nil || len(key) > 2560 {
		t.Fatalf("private key in the keyring: %d bytes, %v", len(key), err)
	}
	if _, res, err := a.Test(context.Background(), conn.Name, nil); err != nil || !res.Passed {
		t.Fatalf("entrawiz test: %+v, %v", res, err)
	}
	values, err := a.Handoff(conn.Name, false)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range values {
		if v.Name == "clientSecret" && v.Value == first.Thumbprint {
			found = true
		}
	}
	if !found {
		t.Errorf("hand-off lacks the certificate's thumbprint: %+v", values)
	}
	saved, err := a.Connection(conn.Name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := steps.CertificateHandoff(w.keys, saved)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := cert.PKCS12("product password")
	if err != nil {
		t.Fatal(err)
	}
	if _, c, err := pkcs12.Decode(pfx, "product password"); err != nil || graphapi.Thumbprint(c) != first.Thumbprint {
		t.Fatalf("PKCS#12 hand-off: %v", err)
	}

	res, err := a.Rotate(context.Background(), conn.Name, RotateRequest{}, nil, nil)
	if err != nil || !res.Rotated {
		t.Fatalf("rotate: %+v, %v", res, err)
	}
	if n := w.srv.KeyCredentialCount(conn.App.AppID); n != 2 {
		t.Fatalf("after rotation the app has %d certificates, want 2 (overlap)", n)
	}
	rotated, _ := a.Connection(conn.Name)
	second := steps.ActiveCertificate(rotated)
	if second == nil || second.Thumbprint == first.Thumbprint {
		t.Fatalf("active certificate after rotation = %+v", second)
	}
	res, err = a.Rotate(context.Background(), conn.Name, RotateRequest{RotateOptions: steps.RotateOptions{Finish: true}}, nil, nil)
	if err != nil || len(res.Removed) != 1 || res.Removed[0] != first.Thumbprint {
		t.Fatalf("rotate --finish: %+v, %v", res, err)
	}
	if n := w.srv.KeyCredentialCount(conn.App.AppID); n != 1 {
		t.Fatalf("after --finish the app has %d certificates, want 1", n)
	}
	if _, err := w.keys.Get(first.KeyringName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old private key is still in the keyring: %v", err)
	}
	if _, res, err := a.Test(context.Background(), conn.Name, nil); err != nil || !res.Passed {
		t.Fatalf("entrawiz test after rotation: %+v, %v", res, err)
	}
}

// TestConsentLeftForGlobalAdmin: a Cloud Application Administrator's setup
// does everything but consent and ends with the admin-consent URL (exit 3);
// a Global Administrator's later run finds and grants it.
func TestConsentLeftForGlobalAdmin(t *testing.T) {
	w := newHardened(t, sim.Options{AdminRoles: []string{"Cloud Application Administrator"}})
	a := w.app(nil)
	p := exampleProfile(t, "print-server")
	s, plan, err := w.run(a, p, steps.PreflightOptions{})
	if !plan.ConsentPending || plan.Blocker != nil {
		t.Fatalf("plan: pending %v, blocker %v", plan.ConsentPending, plan.Blocker)
	}
	if !IsConsentPending(err) || !graphapi.IsKind(err, graphapi.KindConsentNeeded) {
		t.Fatalf("setup = %v, want consent pending (exit 3)", err)
	}
	conn := s.Connection()
	pc := conn.State.ConsentPending
	if pc == nil || !strings.Contains(pc.URL, "/v2.0/adminconsent?") || !strings.Contains(pc.URL, "client_id="+conn.App.AppID) {
		t.Fatalf("pending consent = %+v", pc)
	}
	if !strings.Contains(err.Error()+graphapi.Classify(err).Remedy, pc.URL) {
		t.Errorf("the error does not carry the URL: %v", err)
	}
	if steps.ActiveSecret(conn) == nil || conn.Enabled {
		t.Errorf("want the secret made and the connection not yet enabled")
	}
	values, _ := a.Handoff(conn.Name, false)
	if values[len(values)-1].Name != "adminConsentUrl" || values[len(values)-1].Value != pc.URL {
		t.Errorf("hand-off lacks the admin consent URL: %+v", values)
	}

	if err := w.srv.SetAdminRoles("Global Administrator"); err != nil {
		t.Fatal(err)
	}
	s2, plan2, err := w.run(w.app(nil), p, steps.PreflightOptions{})
	if err != nil || plan2.ConsentPending {
		t.Fatalf("Global Administrator's run: %v (pending %v)", err, plan2.ConsentPending)
	}
	done := s2.Connection()
	if done.State.ConsentPending != nil || !done.Enabled || done.State.Test == nil || !done.State.Test.Passed {
		t.Fatalf("after the Global Administrator's run: %+v", done.State)
	}
}

// TestConsentURLThenTest: the Global Administrator opens the admin-consent
// URL instead, and `entrawiz test` then finds consent granted.
func TestConsentURLThenTest(t *testing.T) {
	w := newHardened(t, sim.Options{AdminRoles: []string{"Application Administrator"}})
	a := w.app(nil)
	p := exampleProfile(t, "legal-practice") // has a web redirect URI for the consent's answer
	s, _, err := w.run(a, p, steps.PreflightOptions{})
	if !IsConsentPending(err) {
		t.Fatalf("setup = %v, want consent pending", err)
	}
	conn := s.Connection()
	consentURL := conn.State.ConsentPending.URL
	if _, _, err := a.Test(context.Background(), conn.Name, nil); err == nil {
		t.Fatal("test passed before consent was granted")
	}
	// The Global Administrator opens the URL and accepts.
	page, err := w.hc.Get(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "Permissions requested") {
		t.Fatalf("consent page: %d %s", page.StatusCode, body)
	}
	u, _ := url.Parse(consentURL)
	form := u.Query()
	form.Set("upn", w.info.AdminUPN)
	form.Set("action", "accept")
	noRedirect := *w.hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// The admin who accepts is the tenant's Global Administrator: give the
	// admin user that role for the accept, as another person would hold it.
	if err := w.srv.SetAdminRoles("Global Administrator"); err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirect.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("admin_consent") != "True" {
		t.Fatalf("consent answer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tested, res, err := a.Test(context.Background(), conn.Name, nil)
	if err != nil || !res.Passed {
		t.Fatalf("entrawiz test after consent: %+v, %v", res, err)
	}
	if tested.State.ConsentPending != nil {
		t.Error("test did not find the pending consent done")
	}
}
