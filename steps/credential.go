package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// Which credential the product accepts (the profile's "credential").
const (
	CredentialSecret      = "secret"
	CredentialCertificate = "certificate"
	CredentialEither      = "either"
)

// CredentialKind is the credential the product accepts: secret,
// certificate or either; "" when the profile needs none.
func (p *Profile) CredentialKind() string {
	if p.Secret == nil {
		return ""
	}
	if p.Credential == "" {
		return CredentialSecret
	}
	return p.Credential
}

// errNoPolicyReader stands for a Graph that cannot read policies at all
// (a test's): nothing is said about the policy then.
var errNoPolicyReader = errors.New("this Graph reads no app management policy")

// PolicyGraph reads and changes app management policies. *graphapi.Client
// implements it.
type PolicyGraph interface {
	CredentialPolicy(ctx context.Context, created time.Time) (*graphapi.CredentialPolicy, error)
	ExemptFromSecretBan(ctx context.Context, objectID, appName string, keep *graphapi.CredentialPolicy) (string, error)
}

// CredentialPlan is the credential preflight chose, and why.
type CredentialPlan struct {
	// Kind is the credential setup makes or keeps: secret or certificate
	// ("" when the profile needs none).
	Kind string `json:"kind,omitempty"`
	// Policy is the tenant's app management policy as it applies to a new
	// app; nil when it could not be read.
	Policy *graphapi.CredentialPolicy `json:"-"`
	// Exempt: create and assign a per-app policy allowing client secrets.
	Exempt bool `json:"exempt,omitempty"`
	// LifetimeDays is the new credential's lifetime, after the tenant's cap.
	LifetimeDays int `json:"lifetimeDays,omitempty"`
}

// PreflightOptions are the admin's explicit permissions for what a plan
// may do beyond the profile.
type PreflightOptions struct {
	// AllowSecretExemption lets setup create and assign a per-app app
	// management policy that allows client secrets, where the tenant
	// forbids them and the product accepts nothing else.
	AllowSecretExemption bool
}

// planCredential reads the tenant's app management policy (when the
// admin's token may) and decides the credential, the lifetime and any
// exemption; it sets the plan's Blocker when the tenant will refuse what
// the product needs. It writes nothing.
func planCredential(tr graphapi.TenantReads, p *Profile, conn *store.Connection, plan *Plan, held map[string]bool, rolesKnown bool, o PreflightOptions) {
	cp := &plan.Credential
	kind := p.CredentialKind()
	if err := tr.PolicyErr; err != errNoPolicyReader {
		switch {
		case err == nil:
			cp.Policy = tr.Policy
		case graphapi.IsKind(err, graphapi.KindForbidden, graphapi.KindConsentNeeded):
			plan.Warnings = append(plan.Warnings, "The tenant's app management policy could not be read (it needs Policy.Read.All), so what it forbids is found only when a credential is added.")
		default:
			plan.Warnings = append(plan.Warnings, "The tenant's app management policy could not be read: "+err.Error())
		}
	}
	pol := cp.Policy
	creating := plan.Existing == nil || plan.Existing.SignInAudience != p.SignInAudience
	if creating && !pol.AudienceAllowed(p.SignInAudience) {
		plan.Blocker = &graphapi.Error{Kind: graphapi.KindForbidden, Code: "SignInAudienceNotAllowedAsPerAppPolicy", Op: "plan",
			Message: fmt.Sprintf("the tenant's app management policy forbids apps with sign-in audience %s, which profile %s asks for", p.SignInAudience, p.Name),
			Remedy: "Nothing was changed. If the product works with a single-tenant app, set \"signInAudience\": \"AzureADMyOrg\" in the profile " +
				"(`entrawiz profiles show " + p.Name + "` prints one to edit); otherwise ask the tenant's security team to allow multi-tenant apps."}
		return
	}
	if kind == "" {
		return
	}
	exempted := conn.State.SecretExemption != nil && plan.Existing != nil
	secretsForbidden := pol != nil && pol.SecretsForbidden && !exempted
	switch kind {
	case CredentialCertificate:
		cp.Kind = CredentialCertificate
	case CredentialEither:
		// Microsoft's guidance is that secrets should not be used in
		// production: a product that takes a certificate gets one, except
		// where an earlier setup left a working secret.
		cp.Kind = CredentialCertificate
		if ActiveCertificate(conn) == nil && ActiveSecret(conn) != nil && !secretsForbidden {
			cp.Kind = CredentialSecret
		}
	default:
		cp.Kind = CredentialSecret
		if secretsForbidden {
			if !o.AllowSecretExemption {
				plan.Blocker = secretsForbiddenBlocker(p)
				return
			}
			if rolesKnown && !held[RoleGlobalAdmin] && !held[RoleCloudAppAdmin] && !held[RoleApplicationAdmin] {
				plan.Blocker = &graphapi.Error{Kind: graphapi.KindForbidden, Code: "ExemptionRoleMissing", Op: "plan",
					Message: plan.AdminUPN + " cannot create app management policies",
					Remedy:  "Nothing was changed. Sign in as a Cloud Application Administrator, Application Administrator or Global Administrator to exempt this app, or ask the product's vendor for certificate support."}
				return
			}
			cp.Exempt = true
		}
	}
	cp.LifetimeDays = p.Secret.LifetimeDays
	limit := time.Duration(0)
	if pol != nil && cp.Kind == CredentialSecret {
		limit = pol.SecretMaxLifetime
	}
	if pol != nil && cp.Kind == CredentialCertificate {
		limit = pol.CertMaxLifetime
	}
	if limit > 0 && time.Duration(cp.LifetimeDays)*24*time.Hour > limit {
		cp.LifetimeDays = int(limit / (24 * time.Hour))
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("The tenant allows a new %s at most %d days: it will be made for %d days, not the profile's %d.",
			credentialNoun(cp.Kind), cp.LifetimeDays, cp.LifetimeDays, p.Secret.LifetimeDays))
	}
	if pol != nil && pol.SecretsForbidden && kind != CredentialSecret {
		plan.Warnings = append(plan.Warnings, "The tenant forbids new client secrets: entrawiz makes a certificate instead (the product accepts one).")
	}
}

func credentialNoun(kind string) string {
	if kind == CredentialCertificate {
		return "certificate"
	}
	return "client secret"
}

// secretsForbiddenBlocker says, before any write, that the product needs a
// secret the tenant will refuse, with the two ways out.
func secretsForbiddenBlocker(p *Profile) *graphapi.Error {
	return &graphapi.Error{Kind: graphapi.KindForbidden, Code: "CredentialTypeNotAllowedAsPerAppPolicy", Op: "plan",
		Message: fmt.Sprintf("the tenant's app management policy forbids new client secrets, and the product (profile %s) accepts only a client secret", p.Name),
		Remedy: "Nothing was changed. Two ways out: (1) ask the product's vendor for certificate support, then set \"credential\": \"certificate\" " +
			"(or \"either\") in the profile and run setup again — entrawiz makes the certificate; or (2) exempt this app only: run setup again with " +
			"--allow-secret-exemption as a Cloud Application Administrator, Application Administrator or Global Administrator — entrawiz creates " +
			"and assigns a per-app app management policy that allows client secrets, and records it in the connection."}
}

// ExemptSecrets creates and assigns the per-app app management policy that
// allows this app client secrets, when the plan says so (the admin asked
// with --allow-secret-exemption). It is recorded in the connection.
func ExemptSecrets() Step {
	return Step{Name: "exempt-secrets", Title: "Allow client secrets for this app",
		Check: func(ctx context.Context, r *Run) (bool, string, error) {
			if !r.Plan.Credential.Exempt {
				return true, "no exemption needed", nil
			}
			if r.Conn.State.SecretExemption != nil {
				return true, "app management policy " + r.Conn.State.SecretExemption.PolicyID + " already allows client secrets", nil
			}
			return false, "", nil
		},
		Apply: func(ctx context.Context, r *Run) (string, error) {
			pg, ok := r.Env.Graph.(PolicyGraph)
			if !ok {
				return "", fmt.Errorf("this Graph client cannot change app management policies")
			}
			var id string
			err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
				var err error
				id, err = pg.ExemptFromSecretBan(ctx, r.Conn.App.ObjectID, r.Conn.App.DisplayName, r.Plan.Credential.Policy)
				if id != "" && err != nil {
					// Made but not assigned: record it, so a re-run does not make
					// a second one; the error says what to finish.
					r.Conn.State.SecretExemption = &store.SecretExemption{PolicyID: id, At: r.Env.now(), By: r.Plan.AdminUPN}
				}
				return err
			})
			if err != nil {
				return "", fmt.Errorf("exempt the app from the ban on client secrets: %w", err)
			}
			r.Conn.State.SecretExemption = &store.SecretExemption{PolicyID: id, At: r.Env.now(), By: r.Plan.AdminUPN}
			return "app management policy " + id + " allows this app client secrets (the rest of the tenant is unchanged)", nil
		}}
}

// planCredentialItems are the plan's lines for the credential.
func planCredentialItems(now time.Time, p *Profile, conn *store.Connection, plan *Plan, secretsPlace string) []PlanItem {
	cp := plan.Credential
	var items []PlanItem
	if cp.Exempt {
		items = append(items, PlanItem{"create", "App management policy \"entrawiz: client secrets allowed for " + p.AppName + "\"",
			"assigned to this app only: allows client secrets the tenant forbids (--allow-secret-exemption); recorded in the connection"})
	}
	if cp.Kind != CredentialCertificate {
		return items
	}
	if c := ActiveCertificate(conn); c != nil && plan.Existing != nil && hasKey(plan.Existing, c.KeyID) && c.End.After(now) {
		return append(items, PlanItem{"keep", "Certificate", fmt.Sprintf("%s, expires %s", c.Thumbprint, c.End.Format("2006-01-02"))})
	}
	end := now.AddDate(0, 0, cp.LifetimeDays)
	return append(items, PlanItem{"create", "Certificate", fmt.Sprintf("RSA-2048 key pair made on this computer, valid %d days, until %s; only the public certificate is uploaded, the private key is kept in %s",
		cp.LifetimeDays, end.Format("2006-01-02"), secretsPlace)})
}

func hasKey(app *graphapi.Application, keyID string) bool {
	for _, k := range app.Keys {
		if strings.EqualFold(k.KeyID, keyID) {
			return true
		}
	}
	return false
}
