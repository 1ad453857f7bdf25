package sim

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var (
	readApps = access{
		scopes:   []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	// writeApps is app registration and enterprise app writes. Any member
	// may create apps (the tenant default "Users can register
	// applications"); changing an existing one needs ownership or a role,
	// checked by ownsOrAdmin.
	writeApps = access{
		scopes:   []string{"Application.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"},
	}
	appAdminRoles = []string{roleGlobalAdmin, roleAppAdmin, roleCloudAppAdmin}
)

// appProps are the properties of a new application, as POST /applications
// returns them.
func (d *directory) newApplication(name string) *object {
	app := &object{ID: d.newID()}
	app.Props = map[string]any{
		"id": app.ID, "deletedDateTime": nil, "appId": d.newID(), "applicationTemplateId": nil,
		"disabledByMicrosoftStatus": nil, "createdDateTime": d.now().UTC().Format("2006-01-02T15:04:05Z"),
		"displayName": name, "description": nil, "groupMembershipClaims": nil, "identifierUris": []any{},
		"isDeviceOnlyAuthSupported": nil, "isFallbackPublicClient": nil, "notes": nil, "optionalClaims": nil,
		"publisherDomain": d.initialDomain, "samlMetadataUrl": nil, "serviceManagementReference": nil,
		"signInAudience": "AzureADandPersonalMicrosoftAccount", "tags": []any{}, "tokenEncryptionKeyId": nil,
		"defaultRedirectUri": nil, "certification": nil, "servicePrincipalLockConfiguration": nil,
		"requestSignatureVerification": nil, "addIns": []any{},
		"api": map[string]any{"acceptMappedClaims": nil, "knownClientApplications": []any{},
			"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": []any{}, "preAuthorizedApplications": []any{}},
		"appRoles": []any{},
		"info": map[string]any{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil,
			"supportUrl": nil, "termsOfServiceUrl": nil},
		"keyCredentials":          []any{},
		"parentalControlSettings": map[string]any{"countriesBlockedForMinors": []any{}, "legalAgeGroupRule": "Allow"},
		"passwordCredentials":     []any{},
		"publicClient":            map[string]any{"redirectUris": []any{}},
		"requiredResourceAccess":  []any{},
		"verifiedPublisher":       map[string]any{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
		"web": map[string]any{"homePageUrl": nil, "logoutUrl": nil, "redirectUris": []any{},
			"implicitGrantSettings": map[string]any{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
			"redirectUriSettings":   []any{}},
		"spa": map[string]any{"redirectUris": []any{}},
	}
	return app
}

// applyAppProps validates and writes the properties of a POST or PATCH body.
func applyAppProps(app *object, body map[string]any, kind string) string {
	for k, v := range body {
		if strings.HasPrefix(k, "@odata") {
			continue
		}
		if k == "passwordCredentials" || k == "id" || k == "appId" || k == "createdDateTime" || k == "publisherDomain" {
			if k == "passwordCredentials" && kind == "application" {
				return "Property 'passwordCredentials' is read-only and cannot be set. Use the addPassword action instead."
			}
			if k != "passwordCredentials" {
				return fmt.Sprintf("Property '%s' is read-only and cannot be set.", k)
			}
		}
		old, known := app.Props[k]
		if !known {
			return fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", k)
		}
		switch k {
		case "signInAudience":
			s, _ := v.(string)
			switch s {
			case "AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount":
			default:
				return "Invalid value specified for property 'signInAudience' of resource 'Application'."
			}
		case "web", "spa", "publicClient":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Sprintf("Invalid value specified for property '%s' of resource 'Application'.", k)
			}
			if msg := checkRedirectURIs(k, m["redirectUris"]); msg != "" {
				return msg
			}
			merged := map[string]any{}
			if om, ok := old.(map[string]any); ok {
				for ok, ov := range om {
					merged[ok] = ov
				}
			}
			for nk, nv := range m {
				merged[nk] = nv
			}
			v = merged
		case "requiredResourceAccess":
			list, ok := v.([]any)
			if !ok || len(list) > 50 {
				return "Invalid value specified for property 'requiredResourceAccess' of resource 'Application'."
			}
			total := 0
			for _, rra := range list {
				m, _ := rra.(map[string]any)
				ra, _ := m["resourceAccess"].([]any)
				total += len(ra)
			}
			if total > 400 {
				return "The number of permissions in requiredResourceAccess exceeds the limit of 400."
			}
		}
		app.Props[k] = v
	}
	return ""
}

// checkRedirectURIs applies Entra's rules: absolute URIs, https except for
// localhost (web, spa); public client URIs may use custom schemes.
func checkRedirectURIs(kind string, v any) string {
	if v == nil {
		return ""
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Sprintf("Invalid value specified for property '%s.redirectUris' of resource 'Application'.", kind)
	}
	for _, item := range list {
		s, _ := item.(string)
		u, err := url.Parse(s)
		bad := err != nil || u.Scheme == "" || len(s) > 256 || strings.Contains(s, "#")
		if !bad && kind != "publicClient" {
			local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"
			bad = u.Scheme != "https" && !(u.Scheme == "http" && local)
		}
		if bad {
			return fmt.Sprintf("Invalid value specified for property '%s.redirectUris' of resource 'Application'.", kind)
		}
	}
	return ""
}

// syncPasswordProps writes the secrets' metadata (never the text) into the
// passwordCredentials property.
func (d *directory) syncPasswordProps(app *object) {
	var list []any
	for _, s := range app.secrets {
		list = append(list, passwordJSON(s, ""))
	}
	if list == nil {
		list = []any{}
	}
	app.Props["passwordCredentials"] = list
}

func passwordJSON(s *secret, text string) map[string]any {
	m := map[string]any{
		"customKeyIdentifier": nil, "displayName": s.DisplayName, "endDateTime": s.End.UTC().Format(time.RFC3339Nano),
		"hint": s.Hint, "keyId": s.KeyID, "secretText": nil, "startDateTime": s.Start.UTC().Format(time.RFC3339Nano),
	}
	if s.DisplayName == "" {
		m["displayName"] = nil
	}
	if text != "" {
		m["secretText"] = text
	}
	return m
}

// appByKey finds an application by object id, or by appId when byAppID,
// as a read (visible) or a write (writable) at now sees it.
func (d *directory) appByKey(key string, byAppID bool, now time.Time, write bool) *object {
	for _, a := range d.apps {
		if (byAppID && a.Props["appId"] == key || !byAppID && a.ID == key) && (write && a.writable(now) || !write && a.visible(now)) {
			return a
		}
	}
	return nil
}

// ownsOrAdmin is the second half of delegated authorization for changing an
// application: the caller owns it or holds an app admin role.
func (c *gctx) ownsOrAdmin(owners []string) bool {
	if c.p.app {
		if c.p.roles["application.readwrite.all"] {
			return true
		}
		for _, o := range owners {
			if o == c.p.oid {
				return true
			}
		}
	} else {
		for _, o := range owners {
			if o == c.p.oid {
				return true
			}
		}
		c.s.dir.mu.RLock()
		held := c.s.dir.rolesOf(c.p.oid)
		c.s.dir.mu.RUnlock()
		for _, r := range appAdminRoles {
			if held[r] {
				return true
			}
		}
	}
	c.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

func (c *gctx) applications(key string) {
	d := c.s.dir
	now := c.now()
	switch {
	case key == "" && len(c.seg) == 1 && c.r.Method == http.MethodGet,
		key == "" && len(c.seg) == 2 && c.seg[1] == "$count":
		if !c.allowed(readApps) {
			return
		}
		d.mu.RLock()
		apps, ok := matching(c, d.apps, func(a *object) bool { return a.visible(now) }, propsGetter, "Application")
		var match []map[string]any
		for _, a := range apps {
			match = append(match, copyProps(a.Props))
		}
		d.mu.RUnlock()
		if !ok {
			return
		}
		if len(c.seg) == 2 {
			c.countOnly(len(match))
			return
		}
		c.page("applications", len(match), func(i int) map[string]any { return match[i] })
		return
	case key == "" && len(c.seg) == 1 && c.r.Method == http.MethodPost:
		c.createApplication()
		return
	case key == "" && len(c.seg) == 2 && isFunction(c.seg[1], "delta"):
		c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
		return
	}
	id, byAppID := key, true
	rest := c.seg[1:]
	if key == "" {
		id, byAppID, rest = c.seg[1], false, c.seg[2:]
	}
	d.mu.RLock()
	app := d.appByKey(id, byAppID, now, c.r.Method != http.MethodGet)
	var owners []string
	if app != nil {
		owners = append(owners, app.owners...)
	}
	d.mu.RUnlock()
	if app == nil {
		c.notFound(id)
		return
	}
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		if c.allowed(readApps) {
			d.mu.RLock()
			props := copyProps(app.Props)
			d.mu.RUnlock()
			c.entity(http.StatusOK, "applications", props)
		}
	case len(rest) == 0 && c.r.Method == http.MethodPatch:
		if !c.allowed(writeApps) || !c.ownsOrAdmin(owners) {
			return
		}
		var body map[string]any
		if !c.body(&body) {
			return
		}
		if aud, ok := body["signInAudience"].(string); ok && c.refuseAudience(app, aud) {
			return
		}
		if kc, ok := body["keyCredentials"]; ok {
			if !c.patchKeyCredentials(app, kc) {
				return
			}
			delete(body, "keyCredentials")
		}
		d.mu.Lock()
		msg := applyAppProps(app, body, "application")
		d.mu.Unlock()
		if msg != "" {
			c.badRequest(msg)
			return
		}
		c.noContent()
	case len(rest) == 0 && c.r.Method == http.MethodDelete:
		if !c.allowed(writeApps) || !c.ownsOrAdmin(owners) {
			return
		}
		d.mu.Lock()
		for i, a := range d.apps {
			if a == app {
				d.apps = append(d.apps[:i], d.apps[i+1:]...)
				break
			}
		}
		// Entra deletes the app's service principal with it, and with that
		// its role assignments and delegated grants.
		if sp := d.spByAppID(app.Props["appId"].(string)); sp != nil {
			d.removeServicePrincipal(sp)
		}
		d.mu.Unlock()
		c.noContent()
	case len(rest) == 1 && isFunction(rest[0], "addPassword") && c.r.Method == http.MethodPost:
		if c.allowed(writeApps) && c.ownsOrAdmin(owners) {
			c.addPassword(app)
		}
	case len(rest) == 1 && isFunction(rest[0], "removePassword") && c.r.Method == http.MethodPost:
		if c.allowed(writeApps) && c.ownsOrAdmin(owners) {
			c.removePassword(app)
		}
	case len(rest) == 1 && isFunction(rest[0], "addKey") && c.r.Method == http.MethodPost:
		if c.mayRollKeys(app, owners) {
			c.addKey(app)
		}
	case len(rest) == 1 && isFunction(rest[0], "removeKey") && c.r.Method == http.MethodPost:
		if c.mayRollKeys(app, owners) {
			c.removeKey(app)
		}
	case len(rest) == 1 && rest[0] == "appManagementPolicies" && c.r.Method == http.MethodGet:
		c.appPolicies(app)
	case len(rest) == 2 && rest[0] == "appManagementPolicies" && rest[1] == "$ref" && c.r.Method == http.MethodPost:
		c.assignPolicy(app)
	case len(rest) == 1 && rest[0] == "owners" && c.r.Method == http.MethodGet:
		if !c.allowed(readApps) {
			return
		}
		d.mu.RLock()
		var list []map[string]any
		for _, o := range owners {
			if u := d.usersByID[o]; u != nil {
				m := u.render(c.q.sel)
				m["@odata.type"] = "#microsoft.graph.user"
				list = append(list, m)
			}
		}
		d.mu.RUnlock()
		c.page("directoryObjects", len(list), func(i int) map[string]any { return list[i] })
	default:
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", strings.Join(rest, "/")))
	}
}

func (c *gctx) createApplication() {
	if !c.allowed(writeApps) {
		return
	}
	var body map[string]any
	if !c.body(&body) {
		return
	}
	name, _ := body["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		c.badRequest("Invalid value specified for property 'displayName' of resource 'Application'.")
		return
	}
	d := c.s.dir
	if _, ok := body["keyCredentials"]; ok {
		// The sim takes certificates by PATCH only, as entrawiz adds them.
		c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
		return
	}
	d.mu.Lock()
	app := d.newApplication(name)
	if aud, ok := body["signInAudience"].(string); ok && c.s.audienceRefused(app.ID, appCreated(app), aud) != "" {
		d.mu.Unlock()
		c.refuseAudience(app, aud)
		return
	}
	if msg := applyAppProps(app, body, "application"); msg != "" {
		d.mu.Unlock()
		c.badRequest(msg)
		return
	}
	if !c.p.app {
		app.owners = []string{c.p.oid}
	} else if sp := d.spByAppID(c.p.appID); sp != nil {
		app.owners = []string{sp.ID}
	}
	d.stamp(&app.replica, c.s.CurrentFaults())
	d.apps = append(d.apps, app)
	props := copyProps(app.Props)
	d.mu.Unlock()
	c.entity(http.StatusCreated, "applications", props)
}

func (c *gctx) addPassword(app *object) {
	var body struct {
		PasswordCredential *struct {
			DisplayName   *string `json:"displayName"`
			StartDateTime *string `json:"startDateTime"`
			EndDateTime   *string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if c.r.ContentLength != 0 && !c.body(&body) {
		return
	}
	now := c.now()
	sec := &secret{KeyID: newUUID(), Start: now}
	if pc := body.PasswordCredential; pc != nil {
		if pc.DisplayName != nil {
			sec.DisplayName = *pc.DisplayName
		}
		for _, t := range []struct {
			v   *string
			dst *time.Time
			n   string
		}{{pc.StartDateTime, &sec.Start, "startDateTime"}, {pc.EndDateTime, &sec.End, "endDateTime"}} {
			if t.v == nil {
				continue
			}
			parsed, err := time.Parse(time.RFC3339Nano, *t.v)
			if err != nil {
				c.badRequest(fmt.Sprintf("Invalid value specified for property '%s' of resource 'PasswordCredential'.", t.n))
				return
			}
			*t.dst = parsed
		}
	}
	if sec.End.IsZero() {
		sec.End = sec.Start.AddDate(2, 0, 0)
	}
	if !sec.End.After(sec.Start) {
		c.badRequest("Key credential end date is invalid.")
		return
	}
	if c.refusePassword(app, sec.Start, sec.End) {
		return
	}
	text := secretText()
	sec.Hint = text[:3]
	sec.hash = sha256.Sum256([]byte(text))
	d := c.s.dir
	d.mu.Lock()
	d.stamp(&sec.replica, c.s.CurrentFaults())
	app.secrets = append(app.secrets, sec)
	d.syncPasswordProps(app)
	d.mu.Unlock()
	out := passwordJSON(sec, text)
	out["@odata.context"] = c.base() + "/$metadata#microsoft.graph.passwordCredential"
	writeGraphJSON(c.w, http.StatusOK, out)
}

// secretText makes a 40-character secret from Entra's alphabet, which has
// the ~ and . that often trip up copy and paste.
func secretText() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-"
	raw := randomToken(40)
	b := []byte(raw[:40])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (c *gctx) removePassword(app *object) {
	var body struct {
		KeyID string `json:"keyId"`
	}
	if !c.body(&body) {
		return
	}
	d := c.s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, s := range app.secrets {
		if strings.EqualFold(s.KeyID, body.KeyID) {
			app.secrets = append(app.secrets[:i], app.secrets[i+1:]...)
			d.syncPasswordProps(app)
			c.noContent()
			return
		}
	}
	c.fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("No password credential found with keyId '%s'.", body.KeyID))
}

func copyProps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
