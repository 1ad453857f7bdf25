package steps

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// GrantConsent grants admin consent: each application permission as an app
// role assignment on Microsoft Graph, the delegated ones as one grant for all
// users. Existing grants are kept.
func GrantConsent() Step {
	return Step{Name: "grant-consent", Title: "Grant admin consent", Check: checkConsent, Apply: applyConsent}
}

func (r *Run) wantsConsent() bool {
	return r.Profile.GrantAdminConsent && (len(r.Plan.Access.RoleIDs) > 0 || len(r.Plan.Access.ScopeIDs) > 0)
}

func checkConsent(ctx context.Context, r *Run) (bool, string, error) {
	if !r.wantsConsent() {
		return true, "the profile asks for no admin consent", nil
	}
	if r.freshSP {
		return false, "", nil // a new enterprise app has no grants: skip the reads
	}
	missingRoles, missingScopes, err := r.missingConsent(ctx)
	if err != nil {
		return false, "", err
	}
	if len(missingRoles)+len(missingScopes) > 0 || r.Conn.State.ConsentPending != nil {
		return false, "", nil // (a pending record is cleared by apply)
	}
	return true, "admin consent is granted", nil
}

// AdminConsentURL is the tenant-wide admin consent URL for an app: a
// Global Administrator or Privileged Role Administrator who opens it
// grants every permission the app registration lists.
func AdminConsentURL(loginURL, tenantID, appID, redirectURI string) string {
	q := url.Values{"client_id": {appID}, "scope": {"https://graph.microsoft.com/.default"}}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	if loginURL == "" {
		loginURL = "https://login.microsoftonline.com"
	}
	return strings.TrimSuffix(loginURL, "/") + "/" + tenantID + "/v2.0/adminconsent?" + q.Encode()
}

// leaveConsentPending records consent this admin cannot grant, with the
// URL that grants it, unless it has been granted meanwhile.
func (r *Run) leaveConsentPending(ctx context.Context) (string, error) {
	if !r.freshSP {
		roles, scopes, err := r.missingConsent(ctx)
		if err != nil {
			return "", err
		}
		if len(roles)+len(scopes) == 0 {
			r.Conn.State.ConsentPending = nil
			r.Conn.State.Consent = &store.ConsentRecord{AppRoles: r.Profile.ApplicationPermissions, Scopes: r.Profile.DelegatedPermissions}
			return "admin consent is granted", nil
		}
	}
	redirect := ""
	if len(r.Profile.RedirectURIs.Web) > 0 {
		redirect = r.Profile.RedirectURIs.Web[0]
	}
	u := AdminConsentURL(r.Env.LoginURL, r.Conn.Tenant.ID, r.Conn.App.AppID, redirect)
	if p := r.Conn.State.ConsentPending; p == nil || p.URL != u {
		r.Conn.State.ConsentPending = &store.ConsentPending{URL: u, Since: r.Env.now(), By: r.Plan.AdminUPN}
	}
	r.consentPending = true
	return "left for a Global Administrator or Privileged Role Administrator, who opens " + u, nil
}

func (r *Run) missingConsent(ctx context.Context) (roles []string, scopes []string, err error) {
	g, sp, graphSP := r.Env.Graph, r.Conn.App.ServicePrincipalID, r.Plan.Catalog.ServicePrincipalID
	if len(r.Plan.Access.RoleIDs) > 0 {
		have, err := g.AppRoleAssignments(ctx, sp)
		if err != nil {
			return nil, nil, fmt.Errorf("read granted application permissions: %w", err)
		}
		for _, id := range r.Plan.Access.RoleIDs {
			if !slices.ContainsFunc(have, func(a graphapi.AppRoleAssignment) bool {
				return strings.EqualFold(a.AppRoleID, id) && strings.EqualFold(a.ResourceID, graphSP)
			}) {
				roles = append(roles, id)
			}
		}
	}
	if want := r.Profile.DelegatedPermissions; len(want) > 0 {
		grant, err := g.AdminConsentGrant(ctx, sp, graphSP)
		if err != nil {
			return nil, nil, fmt.Errorf("read granted delegated permissions: %w", err)
		}
		for _, s := range want {
			if grant == nil || !slices.ContainsFunc(grant.Scopes, func(h string) bool { return strings.EqualFold(h, s) }) {
				scopes = append(scopes, s)
			}
		}
	}
	return roles, scopes, nil
}

func applyConsent(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Blocker != nil {
		return "", r.Plan.Blocker
	}
	if r.Plan.ConsentPending {
		return r.leaveConsentPending(ctx)
	}
	g, sp, graphSP := r.Env.Graph, r.Conn.App.ServicePrincipalID, r.Plan.Catalog.ServicePrincipalID
	roles, scopes := r.Plan.Access.RoleIDs, r.Profile.DelegatedPermissions
	if !r.freshSP {
		var err error
		if roles, scopes, err = r.missingConsent(ctx); err != nil {
			return "", err
		}
	}
	var granted []string
	for _, id := range roles {
		name := r.Plan.Catalog.RoleName(id)
		r.Progress("granting " + name)
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			_, err := g.AssignAppRole(ctx, graphSP, sp, id)
			if graphapi.IsKind(err, graphapi.KindAlreadyExists) {
				return nil
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("grant %s: %w", name, err)
		}
		granted = append(granted, name)
	}
	if len(scopes) > 0 {
		r.Progress("granting delegated permissions for all users: " + strings.Join(scopes, " "))
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			_, err := g.GrantDelegatedScopes(ctx, sp, graphSP, scopes)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("grant delegated permissions: %w", err)
		}
		granted = append(granted, scopes...)
	}
	r.Conn.State.Consent = &store.ConsentRecord{AppRoles: r.Profile.ApplicationPermissions, Scopes: r.Profile.DelegatedPermissions}
	r.Conn.State.ConsentPending = nil
	if len(granted) == 0 {
		return "admin consent is granted", nil
	}
	return "granted " + strings.Join(granted, ", "), nil
}
