package graphapi_test

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// TestCertificateLifecycle: the first certificate by PATCH keyCredentials,
// app-only sign-in with it through MSAL's certificate credential, a second
// by addKey with a proof of possession, the first removed by removeKey, and
// the removed one refused at the token endpoint.
func TestCertificateLifecycle(t *testing.T) {
	srv := startSim(t, sim.Options{})
	admin, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)
	roles := []string{"User.Read.All"}
	app, _, _ := setupApp(t, admin, "certificate test", roles)
	now := time.Now()
	first, err := graphapi.NewCertificate("entrawiz certificate test", now, now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	keyText, err := first.KeyText()
	if err != nil {
		t.Fatal(err)
	}
	if len(keyText) > 2560 {
		t.Errorf("private key is %d bytes, beyond the Windows keyring's 2,560", len(keyText))
	}
	if strings.Contains(first.String(), keyText[:20]) || strings.Contains(first.GoString(), keyText[:20]) {
		t.Error("String prints the key")
	}
	back, err := graphapi.LoadCertificate(first.CertDER(), keyText)
	if err != nil || back.Thumbprint() != first.Thumbprint() {
		t.Fatalf("load certificate: %v", err)
	}
	// addKey needs a certificate already on the app.
	if _, err := admin.AddKey(ctx, app.ObjectID, first, "x", first, now); err == nil {
		t.Fatal("addKey with no certificate on the app succeeded")
	}
	k1, err := admin.AddFirstCertificate(ctx, app.ObjectID, first, "entrawiz first", nil)
	if err != nil {
		t.Fatalf("add first certificate: %v", err)
	}
	signIn := func(c *graphapi.Certificate) error {
		a, err := graphapi.NewApp(graphapi.AppOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: srv.Info().TenantID,
			ClientID: app.AppID, Certificate: c})
		if err != nil {
			return err
		}
		_, err = a.VerifyRoles(ctx, roles)
		return err
	}
	if err := signIn(first); err != nil {
		t.Fatalf("app-only sign-in with the certificate: %v", err)
	}
	second, err := graphapi.NewCertificate("entrawiz certificate test 2", now, now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// A proof signed by a certificate not on the app is refused.
	if _, err := admin.AddKey(ctx, app.ObjectID, second, "x", second, now); err == nil {
		t.Fatal("addKey with a proof from a foreign certificate succeeded")
	}
	if err := signIn(second); err == nil {
		t.Fatal("sign-in with a certificate not on the app succeeded")
	} else {
		wantKind(t, err, graphapi.KindInvalidSecret, "AADSTS700027")
	}
	k2, err := admin.AddKey(ctx, app.ObjectID, second, "entrawiz second", first, now)
	if err != nil {
		t.Fatalf("addKey: %v", err)
	}
	if k2.Thumbprint != second.Thumbprint() {
		t.Errorf("addKey thumbprint %s, want %s", k2.Thumbprint, second.Thumbprint())
	}
	if err := signIn(second); err != nil {
		t.Fatalf("sign-in with the added certificate: %v", err)
	}
	if err := admin.RemoveKey(ctx, app.ObjectID, k1.KeyID, second, now); err != nil {
		t.Fatalf("removeKey: %v", err)
	}
	keys, err := admin.ListKeys(ctx, app.ObjectID)
	if err != nil || len(keys) != 1 || keys[0].KeyID != k2.KeyID {
		t.Fatalf("keys after removeKey = %+v, %v", keys, err)
	}
	if err := signIn(first); err == nil {
		t.Fatal("the removed certificate still signs in")
	}
	// PKCS#12 hand-off: a product that wants a .pfx can read it back.
	pfx, err := second.PKCS12("hand-off password")
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := pkcs12.Decode(pfx, "hand-off password")
	if err != nil || graphapi.Thumbprint(cert) != second.Thumbprint() || key == nil {
		t.Fatalf("PKCS#12 does not decode to the certificate: %v", err)
	}
	pemText, err := second.PEM()
	if err != nil || !strings.Contains(string(pemText), "BEGIN CERTIFICATE") || !strings.Contains(string(pemText), "BEGIN PRIVATE KEY") {
		t.Fatalf("PEM = %q, %v", pemText, err)
	}
	// Graph keeps only the public certificate.
	raw, _ := base64.StdEncoding.DecodeString(second.CertDER())
	if _, err := x509.ParseCertificate(raw); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialPolicies: the tenant default is read as documented, and
// Graph refuses what it restricts with Entra's codes; a per-app policy
// exempts one app from the secret ban.
func TestCredentialPolicies(t *testing.T) {
	srv := startSim(t, sim.Options{ForbidSecrets: true, SecretMaxLifetime: 90 * 24 * time.Hour,
		CertMaxLifetime: 180 * 24 * time.Hour, ForbidMultiTenant: true})
	admin, _ := adminClient(t, srv, nil, "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration")
	ctx := ctxT(t)
	now := time.Now()
	pol, err := admin.CredentialPolicy(ctx, now)
	if err != nil {
		t.Fatalf("read policy: %v", err)
	}
	if !pol.SecretsForbidden || pol.SecretMaxLifetime != 90*24*time.Hour || pol.CertMaxLifetime != 180*24*time.Hour ||
		!pol.MultiTenantForbidden || pol.SecretMaxISO != "P90D" {
		t.Fatalf("policy = %+v", pol)
	}
	// Apps created before a restriction's date are not restricted.
	if old, err := admin.CredentialPolicy(ctx, time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || old.Restricts() {
		t.Fatalf("policy for an app created in 2018 = %+v, %v", old, err)
	}
	_, err = admin.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "multi", SignInAudience: "AzureADMultipleOrgs"})
	wantKind(t, err, graphapi.KindForbidden, "SignInAudienceNotAllowedAsPerAppPolicy")
	app, err := admin.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "single", SignInAudience: "AzureADMyOrg"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.AddPassword(ctx, app.ObjectID, "x", now.AddDate(0, 0, 30))
	wantKind(t, err, graphapi.KindForbidden, "CredentialTypeNotAllowedAsPerAppPolicy")
	long, _ := graphapi.NewCertificate("long", now, now.AddDate(1, 0, 0))
	_, err = admin.AddFirstCertificate(ctx, app.ObjectID, long, "long", nil)
	wantKind(t, err, graphapi.KindBadInput, "CredentialInvalidLifetimeAsPerAppPolicy")
	short, _ := graphapi.NewCertificate("short", now, now.AddDate(0, 0, 170))
	if _, err := admin.AddFirstCertificate(ctx, app.ObjectID, short, "short", nil); err != nil {
		t.Fatalf("a certificate within the cap: %v", err)
	}

	id, err := admin.ExemptFromSecretBan(ctx, app.ObjectID, "single", pol)
	if err != nil {
		t.Fatalf("exempt: %v", err)
	}
	if got := srv.AppManagementPolicyOf(app.AppID); got != id {
		t.Fatalf("policy assigned = %q, want %q", got, id)
	}
	// The exemption allows secrets but keeps the tenant's lifetime cap.
	_, err = admin.AddPassword(ctx, app.ObjectID, "x", now.AddDate(0, 0, 120))
	wantKind(t, err, graphapi.KindBadInput, "CredentialInvalidLifetimeAsPerAppPolicy")
	if _, err := admin.AddPassword(ctx, app.ObjectID, "x", now.AddDate(0, 0, 60)); err != nil {
		t.Fatalf("a secret on the exempted app: %v", err)
	}
	// Another app is still refused.
	other, err := admin.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "other", SignInAudience: "AzureADMyOrg"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.AddPassword(ctx, other.ObjectID, "x", now.AddDate(0, 0, 30))
	wantKind(t, err, graphapi.KindForbidden, "CredentialTypeNotAllowedAsPerAppPolicy")
}

// TestExemptionNeedsTheRight: without Policy.ReadWrite.ApplicationConfiguration
// the exemption is refused before anything is assigned.
func TestExemptionNeedsTheRight(t *testing.T) {
	srv := startSim(t, sim.Options{ForbidSecrets: true})
	admin, _ := adminClient(t, srv, nil, "Policy.Read.All")
	ctx := ctxT(t)
	app, err := admin.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "single", SignInAudience: "AzureADMyOrg"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.ExemptFromSecretBan(ctx, app.ObjectID, "single", nil)
	wantKind(t, err, graphapi.KindForbidden, "")
	if srv.AppManagementPolicyOf(app.AppID) != "" {
		t.Fatal("a policy was assigned")
	}
}
