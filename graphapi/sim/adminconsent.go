package sim

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The tenant-wide admin consent endpoint of the identity platform:
//
//	GET /{tenant}/v2.0/adminconsent?client_id=…&scope=…&redirect_uri=…&state=…
//
// shows who is signing in and what the app asks for; accepting grants, for
// the whole tenant, the permissions the app's registration lists
// (scope=https://graph.microsoft.com/.default) and redirects to
// redirect_uri with admin_consent=True, tenant, scope and state. Granting
// Microsoft Graph application permissions needs Global Administrator or
// Privileged Role Administrator. With no redirect_uri, the app's first
// registered reply URL is used; when it has none, consent is recorded and
// the page answers AADSTS500113, as Entra does.

func (s *Server) adminConsentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/adminconsent", s.adminConsentPage)
	mux.HandleFunc("POST /{tenant}/v2.0/adminconsent", s.adminConsentSubmit)
}

// consentRequest is a checked admin consent request.
type consentRequest struct {
	tenantID, clientID, scope, redirect, state string
	appName                                    string
	roles, scopes                              []string // Graph permission names the app lists
}

// parseConsent checks the request's parameters; msg (with its AADSTS
// code) is the error page's text.
func (s *Server) parseConsent(r *http.Request, form url.Values) (*consentRequest, int, string) {
	tid, ok := s.resolveTenant(r.PathValue("tenant"))
	if !ok {
		return nil, 90002, fmt.Sprintf("Tenant '%s' not found.", r.PathValue("tenant"))
	}
	cr := &consentRequest{tenantID: tid, clientID: form.Get("client_id"), scope: form.Get("scope"),
		redirect: form.Get("redirect_uri"), state: form.Get("state")}
	if cr.clientID == "" {
		return nil, 900144, "The request body must contain the following parameter: 'client_id'."
	}
	if cr.scope == "" {
		return nil, 900144, "The request body must contain the following parameter: 'scope'."
	}
	d := s.dir
	now := s.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	app := d.appByKey(cr.clientID, true, now, false)
	if app == nil {
		return nil, 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", cr.clientID, d.displayName)
	}
	cr.appName, _ = app.Props["displayName"].(string)
	var uris []string
	if web, ok := app.Props["web"].(map[string]any); ok {
		list, _ := web["redirectUris"].([]any)
		for _, u := range list {
			if s, ok := u.(string); ok {
				uris = append(uris, s)
			}
		}
	}
	if cr.redirect != "" && !slices.Contains(uris, cr.redirect) {
		return nil, 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", cr.redirect, cr.clientID)
	}
	if cr.redirect == "" && len(uris) > 0 {
		cr.redirect = uris[0]
	}
	rra, _ := app.Props["requiredResourceAccess"].([]any)
	for _, item := range rra {
		m, _ := item.(map[string]any)
		if m["resourceAppId"] != GraphAppID {
			continue
		}
		ra, _ := m["resourceAccess"].([]any)
		for _, x := range ra {
			xm, _ := x.(map[string]any)
			id, _ := xm["id"].(string)
			switch xm["type"] {
			case "Role":
				if p, ok := appRoleByID(id); ok {
					cr.roles = append(cr.roles, p.value)
				}
			case "Scope":
				for _, p := range graphScopes {
					if strings.EqualFold(p.id, id) {
						cr.scopes = append(cr.scopes, p.value)
					}
				}
			}
		}
	}
	return cr, 0, ""
}

func (s *Server) adminConsentPage(w http.ResponseWriter, r *http.Request) {
	cr, code, msg := s.parseConsent(r, r.URL.Query())
	if cr == nil {
		s.consentErrorPage(w, code, msg)
		return
	}
	var users strings.Builder
	for _, u := range []string{s.info.AdminUPN, s.info.UserUPN} {
		users.WriteString("<option>" + html.EscapeString(u) + "</option>")
	}
	var perms strings.Builder
	for _, p := range cr.roles {
		perms.WriteString("<li>" + html.EscapeString(p) + " (application)</li>")
	}
	for _, p := range cr.scopes {
		perms.WriteString("<li>" + html.EscapeString(p) + " (delegated, all users)</li>")
	}
	hidden := func(name, v string) string {
		return fmt.Sprintf(`<input type="hidden" name="%s" value="%s">`, name, html.EscapeString(v))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html><head><title>Permissions requested</title></head><body>
<h1>Permissions requested</h1><p>%s — accept for your organization</p>
<p>This app would like to:</p><ul>%s</ul>
<form method="post">%s%s%s%s
<label>Sign in as <select name="upn">%s</select></label>
<button name="action" value="accept">Accept</button> <button name="action" value="cancel">Cancel</button>
</form></body></html>`,
		html.EscapeString(cr.appName), perms.String(), hidden("client_id", cr.clientID), hidden("scope", cr.scope),
		hidden("redirect_uri", r.URL.Query().Get("redirect_uri")), hidden("state", cr.state), users.String())
}

func (s *Server) adminConsentSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cr, code, msg := s.parseConsent(r, r.PostForm)
	if cr == nil {
		s.consentErrorPage(w, code, msg)
		return
	}
	back := func(q url.Values) {
		if cr.state != "" {
			q.Set("state", cr.state)
		}
		if cr.redirect == "" {
			s.consentErrorPage(w, 500113, "No reply address is registered for the application.")
			return
		}
		http.Redirect(w, r, cr.redirect+"?"+q.Encode(), http.StatusFound)
	}
	if r.PostForm.Get("action") != "accept" {
		back(url.Values{"error": {"access_denied"}, "error_subcode": {"cancel"},
			"error_description": {"AADSTS65004: User declined to consent to access the app."}})
		return
	}
	if err := s.GrantAdminConsent(cr.clientID, r.PostForm.Get("upn")); err != nil {
		if err == errNeedsAdmin {
			s.consentErrorPage(w, 90094, "The grant requires admin permission.")
			return
		}
		s.consentErrorPage(w, 500011, err.Error())
		return
	}
	back(url.Values{"admin_consent": {"True"}, "tenant": {cr.tenantID}, "scope": {cr.scope}})
}

func (s *Server) consentErrorPage(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<!doctype html><html><head><title>Sign in</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p>AADSTS%d: %s</p></body></html>`,
		code, html.EscapeString(msg))
}

var errNeedsAdmin = fmt.Errorf("sim: the user may not grant these permissions")

// GrantAdminConsent grants, as the user upn would on the admin consent
// page, every Microsoft Graph permission the application with appID lists:
// application permissions as app role assignments, delegated ones in one
// AllPrincipals grant. The service principal is made if missing. Graph
// application permissions need Global Administrator or Privileged Role
// Administrator; delegated ones also Cloud Application Administrator or
// Application Administrator.
func (s *Server) GrantAdminConsent(appID, upn string) error {
	d := s.dir
	now := s.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	var uid string
	for _, u := range d.users {
		if strings.EqualFold(u.UPN, upn) {
			uid = u.ID
		}
	}
	if uid == "" {
		return fmt.Errorf("%w: user %s", ErrNotFound, upn)
	}
	app := d.appByKey(appID, true, now, true)
	if app == nil {
		return fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	var roleIDs, scopes []string
	rra, _ := app.Props["requiredResourceAccess"].([]any)
	for _, item := range rra {
		m, _ := item.(map[string]any)
		if m["resourceAppId"] != GraphAppID {
			continue
		}
		ra, _ := m["resourceAccess"].([]any)
		for _, x := range ra {
			xm, _ := x.(map[string]any)
			id, _ := xm["id"].(string)
			switch xm["type"] {
			case "Role":
				roleIDs = append(roleIDs, strings.ToLower(id))
			case "Scope":
				for _, p := range graphScopes {
					if strings.EqualFold(p.id, id) {
						scopes = append(scopes, p.value)
					}
				}
			}
		}
	}
	held := d.rolesOf(uid)
	privileged := held[roleGlobalAdmin] || held[rolePrivRoleAdmin]
	if len(roleIDs) > 0 && !privileged || len(scopes) > 0 && !privileged && !held[roleCloudAppAdmin] && !held[roleAppAdmin] {
		return errNeedsAdmin
	}
	sp := d.spByAppID(appID)
	if sp == nil {
		name, _ := app.Props["displayName"].(string)
		sp = d.newServicePrincipal(appID, name, d.tenantID)
		sp.Props["signInAudience"] = app.Props["signInAudience"]
		sp.Props["tags"] = app.Props["tags"]
		sp.Props["publisherName"] = d.displayName
		d.stamp(&sp.replica, s.CurrentFaults())
	}
	graphSP := d.spByAppID(GraphAppID)
	for _, id := range roleIDs {
		exists := false
		for _, a := range d.assigns {
			if a.Props["principalId"] == sp.ID && a.Props["resourceId"] == graphSP.ID && strings.EqualFold(a.Props["appRoleId"].(string), id) {
				exists = true
			}
		}
		if exists {
			continue
		}
		a := &object{ID: randomToken(32)[:43]}
		a.Props = map[string]any{
			"id": a.ID, "deletedDateTime": nil, "appRoleId": id, "createdDateTime": now.UTC().Format(time.RFC3339Nano),
			"principalDisplayName": sp.Props["displayName"], "principalId": sp.ID, "principalType": "ServicePrincipal",
			"resourceDisplayName": graphSP.Props["displayName"], "resourceId": graphSP.ID,
		}
		d.stamp(&a.replica, s.CurrentFaults())
		d.assigns = append(d.assigns, a)
	}
	if len(scopes) > 0 {
		var grant *object
		for _, g := range d.grants {
			if g.Props["clientId"] == sp.ID && g.Props["resourceId"] == graphSP.ID && g.Props["consentType"] == "AllPrincipals" {
				grant = g
			}
		}
		if grant == nil {
			grant = &object{ID: randomToken(32)[:43]}
			grant.Props = map[string]any{"clientId": sp.ID, "consentType": "AllPrincipals", "id": grant.ID,
				"principalId": nil, "resourceId": graphSP.ID, "scope": ""}
			d.stamp(&grant.replica, s.CurrentFaults())
			d.grants = append(d.grants, grant)
		}
		have := strings.Fields(grant.Props["scope"].(string))
		for _, sc := range scopes {
			if !hasFold(have, sc) {
				have = append(have, sc)
			}
		}
		grant.Props["scope"] = strings.Join(have, " ")
	}
	return nil
}
