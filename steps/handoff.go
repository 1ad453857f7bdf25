package steps

import (
	"context"
	"fmt"
	"strings"

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
	"groupId":       "Group object ID",
}

// Handoff returns the values the profile hands to the product. The secret's
// value is read from the keyring only when reveal is set.
func Handoff(secrets store.Secrets, conn *store.Connection, p *Profile, loginURL string, reveal bool) ([]HandoffValue, error) {
	var out []HandoffValue
	for _, name := range p.Handoff {
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
			v.Value = strings.TrimSuffix(loginURL, "/") + "/" + conn.Tenant.ID + "/v2.0"
		case "groupId":
			v.Value = CreatedGroupID(conn)
		case "clientSecret":
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
	return out, nil
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
		return r.Conn.Enabled && r.Deliver == nil, "the connection is enabled", nil
	}, Apply: func(ctx context.Context, r *Run) (string, error) {
		r.Conn.Enabled = true
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
