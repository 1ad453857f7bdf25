package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// HandoffValue is one value the product asks for.
type HandoffValue struct {
	Name   string `json:"name"`  // as in the profile: tenantId, clientId, ...
	Label  string `json:"label"` // as the vendor's guide words it
	Value  string `json:"value,omitempty"`
	Secret bool   `json:"secret,omitempty"` // the client secret: Value is set only on request
}

var handoffLabels = map[string]string{
	"tenantId":      "Directory (tenant) ID",
	"clientId":      "Application (client) ID",
	"clientSecret":  "Client secret (Value)",
	"primaryDomain": "Primary domain",
	"initialDomain": "Initial domain",
	"redirectUri":   "Redirect URI",
	"authority":     "Authority (issuer) URL",
	"openidConfig":  "OpenID Connect metadata URL",
	"groupId":       "Group object ID",
}

// SignsIn reports whether people sign in to the product through the app
// (web or single-page redirect URIs, or OpenID Connect scopes).
func (p *Profile) SignsIn() bool {
	return len(p.RedirectURIs.Web)+len(p.RedirectURIs.SPA) > 0 || slices.Contains(p.DelegatedPermissions, "openid")
}

// handoffNames are the values a profile hands off: its own list, and for a
// sign-in profile the authority and the metadata URL an SSO form asks for
// beside the IDs.
func handoffNames(p *Profile) []string {
	names := slices.Clone(p.Handoff)
	if p.SignsIn() {
		for _, n := range []string{"authority", "openidConfig"} {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// Handoff returns the values the profile hands to the product. The secret's
// value is read from the keyring only when reveal is set.
func Handoff(secrets store.Secrets, conn *store.Connection, p *Profile, loginURL string, reveal bool) ([]HandoffValue, error) {
	var out []HandoffValue
	authority := strings.TrimSuffix(loginURL, "/") + "/" + conn.Tenant.ID + "/v2.0"
	for _, name := range handoffNames(p) {
		v := HandoffValue{Name: name, Label: handoffLabels[name]}
		switch name {
		case "tenantId":
			v.Value = conn.Tenant.ID
		case "clientId":
			v.Value = conn.App.AppID
		case "primaryDomain":
			v.Value = conn.Tenant.PrimaryDomain
		case "initialDomain":
			v.Value = conn.Tenant.InitialDomain
		case "redirectUri":
			v.Value = strings.Join(append(append(append([]string{}, p.RedirectURIs.Web...), p.RedirectURIs.SPA...), p.RedirectURIs.PublicClient...), " ")
		case "authority":
			v.Value = authority
		case "openidConfig":
			v.Value = authority + "/.well-known/openid-configuration"
		case "groupId":
			v.Value = CreatedGroupID(conn)
		case "clientSecret":
			if UsesCertificate(conn) {
				// The product takes the certificate instead: its thumbprint
				// here, its files from CertificateHandoff.
				v.Label = "Client certificate (thumbprint; PEM or PKCS#12 file on request)"
				v.Value = ActiveCertificate(conn).Thumbprint
				break
			}
			v.Secret = true
			if reveal {
				secret, _, err := StoredSecret(secrets, conn)
				if err != nil {
					return nil, err
				}
				v.Value = secret
			}
		}
		out = append(out, v)
	}
	if pc := conn.State.ConsentPending; pc != nil {
		out = append(out, HandoffValue{Name: "adminConsentUrl", Label: "Admin consent URL (for a Global Administrator or Privileged Role Administrator)", Value: pc.URL})
	}
	return out, nil
}

// CertificateHandoff loads the connection's active certificate and private
// key for a product that takes a PEM or PKCS#12 file.
func CertificateHandoff(secrets store.Secrets, conn *store.Connection) (*graphapi.Certificate, error) {
	rec := ActiveCertificate(conn)
	if rec == nil {
		return nil, fmt.Errorf("this connection has no certificate made by entrawiz")
	}
	return StoredCertificate(secrets, rec)
}

// AppNotes is what the app registration's notes say: that entrawiz
// manages it, for which product and profile, and how to see and change it.
func AppNotes(p *Profile) string {
	return fmt.Sprintf("Managed by entrawiz for %s (profile %s): its client secrets are rotated by entrawiz and kept in the OS keyring of the machine that set it up. "+
		"See `entrawiz status` there; change it with `entrawiz setup`, `entrawiz rotate` or `entrawiz reset`.", p.AppName, p.Name)
}

// Enable marks the connection enabled and, when the caller set Deliver,
// hands the client secret to the product.
func Enable() Step {
	return Step{Name: "enable", Title: "Enable and hand off", Check: func(ctx context.Context, r *Run) (bool, string, error) {
		if r.consentPending {
			return true, "not enabled yet: waits for admin consent", nil
		}
		return r.Conn.Enabled && r.Deliver == nil, "the connection is enabled", nil
	}, Apply: func(ctx context.Context, r *Run) (string, error) {
		r.Conn.Enabled = true
		if r.Deliver != nil && (r.cert != nil || UsesCertificate(r.Conn)) {
			cert := r.cert
			if cert == nil {
				var err error
				if cert, err = StoredCertificate(r.Env.Secrets, ActiveCertificate(r.Conn)); err != nil {
					return "", err
				}
			}
			pemText, err := cert.PEM()
			if err != nil {
				return "", err
			}
			if err := r.Deliver(ctx, string(pemText)); err != nil {
				return "", fmt.Errorf("deliver the certificate: %w", err)
			}
			return "connection enabled; the certificate and its private key were delivered (PEM)", nil
		}
		if r.Deliver != nil {
			secret := r.secret
			if secret == "" {
				var err error
				if secret, _, err = StoredSecret(r.Env.Secrets, r.Conn); err != nil {
					return "", err
				}
			}
			if err := r.Deliver(ctx, secret); err != nil {
				return "", fmt.Errorf("deliver the client secret: %w", err)
			}
			return "connection enabled; the client secret was delivered", nil
		}
		return "connection enabled", nil
	}}
}

// Procedure is the setup after the plan is confirmed, in order.
func Procedure() []Step {
	return []Step{RegisterApp(), GrantConsent(), CreateSecret(), Assign(), TestConnection(), Enable()}
}

// ProcedureFor is the procedure for a plan: the certificate step in place
// of the client secret's where the plan chose a certificate, and the
// exemption before the secret where the admin asked for one.
func ProcedureFor(plan *Plan) []Step {
	var out []Step
	for _, s := range Procedure() {
		switch {
		case s.Name == "create-secret" && plan.Credential.Kind == CredentialCertificate:
			s = CreateCertificate()
		case s.Name == "create-secret" && plan.Credential.Exempt:
			out = append(out, ExemptSecrets())
		}
		out = append(out, s)
	}
	return out
}
