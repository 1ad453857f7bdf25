package app

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// LiveView is what the tenant says about a connection now, as far as the
// credentials at hand (the app's stored secret, the admin's saved sign-in)
// let entrawiz ask without prompting anyone. A nil field was not checked.
type LiveView struct {
	At time.Time `json:"at"`
	// Via names who asked the tenant: "the app's stored secret", "the
	// saved sign-in of admin@contoso.com".
	Via []string `json:"via,omitempty"`
	// Limits say plainly what could not be checked, and why.
	Limits []string `json:"limits,omitempty"`

	AppExists              *bool `json:"appExists,omitempty"`
	ServicePrincipalExists *bool `json:"servicePrincipalExists,omitempty"`
	// SecretWorks: the token endpoint took the stored secret.
	SecretWorks *bool `json:"secretWorks,omitempty"`
	// SecretOnApp: the stored secret's key ID is still on the app; SecretEnd
	// is its endDateTime there.
	SecretOnApp *bool     `json:"secretOnApp,omitempty"`
	SecretEnd   time.Time `json:"secretEnd,omitzero"`
	// SecretRefused is the token endpoint's reason when it refused the
	// secret: "expired", "invalid" (not a secret of the app), "app-missing",
	// "sp-missing".
	SecretRefused string `json:"secretRefused,omitempty"`
	// Roles are the application permissions the app's token carries.
	Roles              []string `json:"roles,omitempty"`
	MissingPermissions []string `json:"missingPermissions,omitempty"`
	MissingDelegated   []string `json:"missingDelegated,omitempty"`
	// MissingAssignments are the groups the setup assigned that are no
	// longer assigned to the app.
	MissingAssignments []string `json:"missingAssignments,omitempty"`
}

// Checked reports whether the tenant answered anything.
func (v *LiveView) Checked() bool { return v != nil && len(v.Via) > 0 }

func yes(b bool) *bool { return &b }

// CheckTenant asks the tenant about the named connection without prompting
// anyone: as the app, with its stored secret (the app and its service
// principal exist, the secret works, the consented permissions), and,
// when the admin's sign-in is saved, as the admin (the secret's real end
// date, the delegated consent, the group assignments). Nothing is written,
// locally or in the tenant.
func (a *App) CheckTenant(ctx context.Context, name string) (*LiveView, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	return a.checkTenant(ctx, conn), nil
}

func (a *App) checkTenant(ctx context.Context, conn *store.Connection) *LiveView {
	v := &LiveView{At: a.now()}
	p, err := profileOf(conn)
	if err != nil {
		v.Limits = append(v.Limits, "the connection's profile is not known here: "+err.Error())
		return v
	}
	if conn.Tenant.ID == "" || conn.App.AppID == "" {
		v.Limits = append(v.Limits, "the setup did not get as far as the app: there is nothing in the tenant to check yet")
		return v
	}
	a.checkAsApp(ctx, conn, p, v)
	a.checkAsAdmin(ctx, conn, p, v)
	return v
}

// checkAsApp signs in as the app with its stored secret, as the product
// does: the token says the app, its service principal and the secret are
// good, and carries the consented application permissions.
func (a *App) checkAsApp(ctx context.Context, conn *store.Connection, p *steps.Profile, v *LiveView) {
	secret, _, err := steps.StoredSecret(a.o.Secrets, conn)
	if err != nil {
		v.Limits = append(v.Limits, "the app's sign-in was not tried: "+err.Error())
		return
	}
	app, err := graphapi.NewApp(graphapi.AppOptions{Cloud: a.cloud, Tenant: conn.Tenant.ID, ClientID: conn.App.AppID, Secret: secret, Tracer: a.o.Tracer})
	if err != nil {
		v.Limits = append(v.Limits, "the app's sign-in was not tried: "+err.Error())
		return
	}
	tok, err := app.Token(ctx)
	if err != nil {
		e := graphapi.Classify(err)
		switch e.Code {
		case "AADSTS7000222":
			v.SecretWorks, v.SecretRefused, v.AppExists = yes(false), "expired", yes(true)
		case "AADSTS7000215":
			v.SecretWorks, v.SecretRefused, v.AppExists = yes(false), "invalid", yes(true)
		case "AADSTS700016":
			v.SecretWorks, v.SecretRefused, v.AppExists = yes(false), "app-missing", yes(false)
		case "AADSTS7000229":
			v.SecretWorks, v.SecretRefused, v.AppExists, v.ServicePrincipalExists = yes(false), "sp-missing", yes(true), yes(false)
		default:
			v.Limits = append(v.Limits, "the app's sign-in failed, so the tenant could not be checked as the app: "+e.Error())
			return
		}
		v.Via = append(v.Via, "the app's stored secret")
		return
	}
	v.Via = append(v.Via, "the app's stored secret")
	v.SecretWorks, v.AppExists, v.ServicePrincipalExists = yes(true), yes(true), yes(true)
	v.Roles = tok.Roles
	for _, r := range p.ApplicationPermissions {
		if !slices.Contains(tok.Roles, r) {
			v.MissingPermissions = append(v.MissingPermissions, r)
		}
	}
	sort.Strings(v.MissingPermissions)
}

// checkAsAdmin reads the app, its service principal, delegated consent and
// assignments with the admin's saved sign-in, if there is one; it never
// asks the admin to sign in.
func (a *App) checkAsAdmin(ctx context.Context, conn *store.Connection, p *steps.Profile, v *LiveView) {
	admin, _, id, err := a.savedSignIn(ctx, conn.Tenant, steps.AdminScopes(p))
	if err == nil {
		var g *graphapi.Client
		if g, err = graphapi.NewClient(graphapi.ClientOptions{Cloud: a.cloud, Tokens: admin, Tracer: a.o.Tracer}); err == nil {
			v.Via = append(v.Via, "the saved sign-in of "+id.UPN)
			a.readAsAdmin(ctx, g, conn, p, v)
			return
		}
	}
	what := "the secret's end date in Entra, the delegated consent and the group assignments were not read"
	if graphapi.IsKind(err, graphapi.KindSignInRequired, graphapi.KindSignIn, graphapi.KindConsentNeeded) {
		v.Limits = append(v.Limits, what+": no saved admin sign-in (any command that signs you in, such as `entrawiz rotate`, saves one; "+graphapi.Classify(err).Message+")")
		return
	}
	v.Limits = append(v.Limits, what+": "+err.Error())
}

func (a *App) readAsAdmin(ctx context.Context, g *graphapi.Client, conn *store.Connection, p *steps.Profile, v *LiveView) {
	if conn.App.ObjectID != "" {
		app, err := g.GetApplication(ctx, conn.App.ObjectID)
		switch {
		case graphapi.IsKind(err, graphapi.KindNotFound, graphapi.KindNotFoundYet):
			v.AppExists = yes(false)
			return
		case err != nil:
			v.Limits = append(v.Limits, "the app could not be read: "+graphapi.Classify(err).Error())
		default:
			v.AppExists = yes(true)
			if s := steps.ActiveSecret(conn); s != nil && s.KeyID != "" {
				v.SecretOnApp = yes(false)
				for _, pw := range app.Passwords {
					if strings.EqualFold(pw.KeyID, s.KeyID) {
						v.SecretOnApp, v.SecretEnd = yes(true), pw.End
					}
				}
			}
		}
	}
	sp, err := g.GetServicePrincipalByAppID(ctx, conn.App.AppID)
	if graphapi.IsKind(err, graphapi.KindNotFound, graphapi.KindNotFoundYet) {
		v.ServicePrincipalExists = yes(false)
		return
	}
	if err != nil {
		v.Limits = append(v.Limits, "the enterprise app could not be read: "+graphapi.Classify(err).Error())
		return
	}
	v.ServicePrincipalExists = yes(true)
	if p.GrantAdminConsent && len(p.DelegatedPermissions) > 0 {
		if err := a.checkDelegated(ctx, g, sp.ID, p, v); err != nil {
			v.Limits = append(v.Limits, "the delegated consent could not be read: "+graphapi.Classify(err).Error())
		}
	}
	if grp := conn.State.Group; grp != nil && grp.Assigned {
		list, err := g.AppRoleAssignedTo(ctx, sp.ID)
		if err != nil {
			v.Limits = append(v.Limits, "the app's assignments could not be read: "+graphapi.Classify(err).Error())
			return
		}
		if !slices.ContainsFunc(list, func(x graphapi.AppRoleAssignment) bool { return strings.EqualFold(x.PrincipalID, grp.ID) }) {
			v.MissingAssignments = append(v.MissingAssignments, grp.DisplayName+" ("+grp.ID+")")
		}
	}
}

func (a *App) checkDelegated(ctx context.Context, g *graphapi.Client, spID string, p *steps.Profile, v *LiveView) error {
	graphSP, err := g.GetServicePrincipalByAppID(ctx, graphapi.GraphAppID)
	if err != nil {
		return err
	}
	grant, err := g.AdminConsentGrant(ctx, spID, graphSP.ID)
	if err != nil {
		return err
	}
	for _, s := range p.DelegatedPermissions {
		if grant == nil || !slices.ContainsFunc(grant.Scopes, func(x string) bool { return strings.EqualFold(x, s) }) {
			v.MissingDelegated = append(v.MissingDelegated, s)
		}
	}
	return nil
}

// Problem is one thing an admin must act on, as `status --check` lists it.
type Problem struct {
	Connection string `json:"connection"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Remedy     string `json:"remedy"`
}

// problems are what stops (or will soon stop) the connection working,
// from its status: within is how near an expiry must be to count.
func problems(st *ConnectionStatus, within time.Duration) []Problem {
	var out []Problem
	add := func(code, msg, remedy string) {
		out = append(out, Problem{Connection: st.Name, Code: code, Message: msg, Remedy: remedy})
	}
	v := st.Live
	if v != nil && v.AppExists != nil && !*v.AppExists {
		add("AppDeleted", "the app registration is gone from the tenant", "Run `entrawiz setup` again to register it anew, or `entrawiz reset` to forget the connection.")
		return out
	}
	if v != nil && v.ServicePrincipalExists != nil && !*v.ServicePrincipalExists {
		add("ServicePrincipalMissing", "the app has no enterprise app (service principal) in the tenant", "Run `entrawiz setup` again: it creates it and grants consent.")
	}
	if s := st.Secret; s != nil {
		switch {
		case s.State == "removed":
			add("SecretRemoved", "the stored client secret "+s.Hint+"… is no longer on the app", "Run `entrawiz rotate` to make a new one.")
		case s.State == "expired":
			add("SecretExpired", "the client secret "+s.Hint+"… has expired", "Run `entrawiz rotate` to make a new one.")
		case s.State != "unknown" && within > 0 && s.Expires.Sub(st.At) <= within:
			add("SecretExpiring", "the client secret "+s.Hint+"… expires on "+s.Expires.Format("2006-01-02")+" ("+plural(s.DaysLeft, "day")+" left)",
				"Run `entrawiz rotate` (or let `entrawiz schedule install` rotate it before it ends).")
		}
	} else if st.Profile != "" && st.App.AppID != "" {
		add("NoSecret", "no client secret is stored", "Run `entrawiz setup` again, or `entrawiz rotate`.")
	}
	if v != nil && len(v.MissingPermissions) > 0 {
		add("ConsentRevoked", "admin consent is missing for "+strings.Join(v.MissingPermissions, ", "), "Run `entrawiz setup` again: it grants what is missing.")
	}
	if v != nil && len(v.MissingDelegated) > 0 {
		add("DelegatedConsentRevoked", "delegated admin consent is missing for "+strings.Join(v.MissingDelegated, ", "), "Run `entrawiz setup` again: it grants what is missing.")
	}
	if v != nil && len(v.MissingAssignments) > 0 {
		add("AssignmentRemoved", "no longer assigned to the app: "+strings.Join(v.MissingAssignments, ", "), "Run `entrawiz setup` again: it assigns the group.")
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// NeedsAdminError is `status --check` finding problems only an admin can
// mend; the command line exits with the admin-action code.
type NeedsAdminError struct{ Problems []Problem }

func (e *NeedsAdminError) Error() string {
	return strconv.Itoa(len(e.Problems)) + " problem(s) need an admin: " + e.Problems[0].Message
}
