package sim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	assignRoles = access{
		scopes:   []string{"AppRoleAssignment.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"AppRoleAssignment.ReadWrite.All"},
	}
	writeGrants = access{
		scopes:   []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"},
		dirRoles: []string{roleGlobalAdmin, rolePrivRoleAdmin, roleCloudAppAdmin, roleAppAdmin},
	}
	readGrants = access{
		scopes:   []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
)

// spByKey finds a service principal by id, or by appId when byAppID, as a
// read (visible) or a write (writable) at now sees it.
func (d *directory) spByKey(key string, byAppID bool, now time.Time, write bool) *object {
	for _, sp := range d.sps {
		if (byAppID && sp.Props["appId"] == key || !byAppID && sp.ID == key) && (write && sp.writable(now) || !write && sp.visible(now)) {
			return sp
		}
	}
	return nil
}

func (c *gctx) servicePrincipals(key string) {
	d := c.s.dir
	now := c.now()
	if key == "" && len(c.seg) == 1 {
		switch c.r.Method {
		case http.MethodGet:
			if c.allowed(readApps) {
				c.listObjects("servicePrincipals", "ServicePrincipal", d.sps)
			}
		case http.MethodPost:
			c.createServicePrincipal()
		default:
			c.methodNotAllowed()
		}
		return
	}
	id, byAppID, rest := key, true, c.seg[1:]
	if key == "" {
		id, byAppID, rest = c.seg[1], false, c.seg[2:]
	}
	d.mu.RLock()
	sp := d.spByKey(id, byAppID, now, c.r.Method != http.MethodGet)
	var owners []string
	if sp != nil {
		owners = append(owners, sp.owners...)
	}
	d.mu.RUnlock()
	if sp == nil {
		c.notFound(id)
		return
	}
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		if c.allowed(readApps) {
			d.mu.RLock()
			props := copyProps(sp.Props)
			d.mu.RUnlock()
			c.entity(http.StatusOK, "servicePrincipals", props)
		}
	case len(rest) == 1 && isFunction(rest[0], "addPassword") && c.r.Method == http.MethodPost:
		c.spCredentialWrite(sp, "passwordCredentials", owners)
	case len(rest) == 1 && isFunction(rest[0], "addKey") && c.r.Method == http.MethodPost:
		c.spCredentialWrite(sp, "keyCredentials", owners)
	case len(rest) == 0 && c.r.Method == http.MethodPatch:
		if !c.allowed(writeApps) || !c.ownsOrAdmin(owners) {
			return
		}
		var body map[string]any
		if !c.body(&body) {
			return
		}
		d.mu.RLock()
		for _, prop := range []string{"passwordCredentials", "keyCredentials"} {
			if _, ok := body[prop]; ok && d.spCredentialsLocked(sp, prop) {
				d.mu.RUnlock()
				c.fail(http.StatusBadRequest, "CannotUpdateLockedServicePrincipalProperty", fmt.Sprintf("Property %s is invalid.", prop))
				return
			}
		}
		d.mu.RUnlock()
		d.mu.Lock()
		msg := applyAppProps(sp, body, "servicePrincipal")
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
		d.removeServicePrincipal(sp)
		d.mu.Unlock()
		c.noContent()
	case len(rest) >= 1 && rest[0] == "appRoleAssignedTo":
		c.appRoleAssignedTo(sp, rest[1:])
	case len(rest) == 1 && rest[0] == "appRoleAssignments" && c.r.Method == http.MethodGet:
		if !c.allowed(readApps) {
			return
		}
		d.mu.RLock()
		var list []*object
		for _, a := range d.assigns {
			if a.Props["principalId"] == sp.ID && a.visible(now) {
				list = append(list, a)
			}
		}
		d.mu.RUnlock()
		c.listObjects("appRoleAssignments", "AppRoleAssignment", list)
	default:
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", strings.Join(rest, "/")))
	}
}

// listObjects pages a filtered list of map-shaped objects.
func (c *gctx) listObjects(set, resource string, objs []*object) {
	d := c.s.dir
	now := c.now()
	d.mu.RLock()
	kept, ok := matching(c, objs, func(o *object) bool { return o.visible(now) }, propsGetter, resource)
	var match []map[string]any
	for _, o := range kept {
		match = append(match, copyProps(o.Props))
	}
	d.mu.RUnlock()
	if !ok {
		return
	}
	c.page(set, len(match), func(i int) map[string]any { return match[i] })
}

func (c *gctx) createServicePrincipal() {
	if !c.allowed(writeApps) {
		return
	}
	var body map[string]any
	if !c.body(&body) {
		return
	}
	appID, _ := body["appId"].(string)
	d := c.s.dir
	now := c.now()
	d.mu.Lock()
	app := d.appByKey(appID, true, now, true)
	if app == nil {
		d.mu.Unlock()
		c.badRequest(fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", appID))
		return
	}
	if d.spByAppID(appID) != nil {
		d.mu.Unlock()
		c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
			"The service principal cannot be created, updated, or restored because the service principal name "+appID+" is already in use.")
		return
	}
	owners := app.owners
	d.mu.Unlock()
	if !c.ownsOrAdmin(owners) {
		return
	}
	d.mu.Lock()
	name, _ := app.Props["displayName"].(string)
	sp := d.newServicePrincipal(appID, name, d.tenantID)
	sp.owners = append([]string(nil), owners...)
	sp.Props["signInAudience"] = app.Props["signInAudience"]
	sp.Props["tags"] = app.Props["tags"]
	sp.Props["publisherName"] = d.displayName
	delete(body, "appId")
	msg := applyAppProps(sp, body, "servicePrincipal")
	d.stamp(&sp.replica, c.s.CurrentFaults())
	if msg != "" {
		d.sps = d.sps[:len(d.sps)-1]
		delete(d.spByID, sp.ID)
		d.mu.Unlock()
		c.badRequest(msg)
		return
	}
	props := copyProps(sp.Props)
	d.mu.Unlock()
	c.entity(http.StatusCreated, "servicePrincipals", props)
}

// appRoleAssignedTo lists, grants (POST) and revokes (DELETE {id}) app roles
// of the resource service principal sp.
func (c *gctx) appRoleAssignedTo(sp *object, rest []string) {
	d := c.s.dir
	now := c.now()
	need := assignRoles
	if sp.Props["appId"] == GraphAppID {
		// Granting Microsoft Graph app roles is privileged: Privileged Role
		// Administrator or Global Administrator.
		need.dirRoles = []string{roleGlobalAdmin, rolePrivRoleAdmin}
	} else {
		need.dirRoles = []string{roleGlobalAdmin, rolePrivRoleAdmin, roleCloudAppAdmin, roleAppAdmin}
	}
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		if !c.allowed(readApps) {
			return
		}
		d.mu.RLock()
		var list []*object
		for _, a := range d.assigns {
			if a.Props["resourceId"] == sp.ID {
				list = append(list, a)
			}
		}
		d.mu.RUnlock()
		c.listObjects("servicePrincipals('"+sp.ID+"')/appRoleAssignedTo", "AppRoleAssignment", list)
	case len(rest) == 0 && c.r.Method == http.MethodPost:
		if !c.allowed(need) {
			return
		}
		var body struct {
			PrincipalID string `json:"principalId"`
			ResourceID  string `json:"resourceId"`
			AppRoleID   string `json:"appRoleId"`
		}
		if !c.body(&body) {
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if !strings.EqualFold(body.ResourceID, sp.ID) {
			c.badRequest("Invalid value specified for property 'resourceId' of resource 'AppRoleAssignment'.")
			return
		}
		principalType, principalName := "", ""
		if p := d.spByKey(body.PrincipalID, false, now, true); p != nil {
			principalType, principalName = "ServicePrincipal", p.Props["displayName"].(string)
		} else if u := d.usersByID[body.PrincipalID]; u != nil && u.writable(now) {
			principalType, principalName = "User", u.DisplayName
		} else if g := d.groupByID[body.PrincipalID]; g != nil && g.writable(now) {
			principalType, principalName = "Group", g.DisplayName
		}
		if principalType == "" {
			c.notFound(body.PrincipalID)
			return
		}
		if !hasAppRole(sp, body.AppRoleID) {
			c.badRequest(fmt.Sprintf("Permission being assigned was not found on application '%s'.", sp.Props["appId"]))
			return
		}
		for _, a := range d.assigns {
			if a.Props["principalId"] == body.PrincipalID && a.Props["resourceId"] == sp.ID && strings.EqualFold(a.Props["appRoleId"].(string), body.AppRoleID) {
				c.badRequest("Permission being assigned already exists on the object.")
				return
			}
		}
		a := &object{ID: randomToken(32)[:43]}
		a.Props = map[string]any{
			"id": a.ID, "deletedDateTime": nil, "appRoleId": strings.ToLower(body.AppRoleID),
			"createdDateTime":      now.UTC().Format(time.RFC3339Nano),
			"principalDisplayName": principalName, "principalId": body.PrincipalID, "principalType": principalType,
			"resourceDisplayName": sp.Props["displayName"], "resourceId": sp.ID,
		}
		d.stamp(&a.replica, c.s.CurrentFaults())
		d.assigns = append(d.assigns, a)
		c.w.Header().Set("Location", c.base()+"/servicePrincipals/"+sp.ID+"/appRoleAssignedTo/"+a.ID)
		c.entityLocked(http.StatusCreated, "servicePrincipals('"+sp.ID+"')/appRoleAssignedTo", a.Props)
	case len(rest) == 1 && c.r.Method == http.MethodDelete:
		if !c.allowed(need) {
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		for i, a := range d.assigns {
			if a.ID == rest[0] && a.Props["resourceId"] == sp.ID {
				d.assigns = append(d.assigns[:i], d.assigns[i+1:]...)
				c.noContent()
				return
			}
		}
		c.notFound(rest[0])
	default:
		c.methodNotAllowed()
	}
}

// entityLocked is entity for handlers that hold the directory lock: props
// are copied before writing.
func (c *gctx) entityLocked(status int, set string, props map[string]any) {
	c.entity(status, set, copyProps(props))
}

// hasAppRole reports whether the resource sp publishes the app role; the
// all-zero ID is the default role every app has.
func hasAppRole(sp *object, id string) bool {
	if id == "00000000-0000-0000-0000-000000000000" {
		roles, _ := sp.Props["appRoles"].([]any)
		return len(roles) == 0
	}
	roles, _ := sp.Props["appRoles"].([]any)
	for _, r := range roles {
		if m, ok := r.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["id"]), id) {
			return true
		}
	}
	return false
}

func (c *gctx) oauth2PermissionGrants() {
	d := c.s.dir
	now := c.now()
	switch {
	case len(c.seg) == 1 && c.r.Method == http.MethodGet:
		if c.allowed(readGrants) {
			c.listObjects("oauth2PermissionGrants", "OAuth2PermissionGrant", d.grants)
		}
	case len(c.seg) == 1 && c.r.Method == http.MethodPost:
		if !c.allowed(writeGrants) {
			return
		}
		var body struct {
			ClientID    string  `json:"clientId"`
			ConsentType string  `json:"consentType"`
			PrincipalID *string `json:"principalId"`
			ResourceID  string  `json:"resourceId"`
			Scope       string  `json:"scope"`
		}
		if !c.body(&body) {
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if body.ConsentType != "AllPrincipals" && body.ConsentType != "Principal" {
			c.badRequest("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")
			return
		}
		if body.ConsentType == "AllPrincipals" && body.PrincipalID != nil && *body.PrincipalID != "" {
			c.badRequest("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.")
			return
		}
		if len(body.Scope) > 3850 {
			c.badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.")
			return
		}
		for _, id := range []string{body.ClientID, body.ResourceID} {
			if d.spByKey(id, false, now, true) == nil {
				c.notFound(id)
				return
			}
		}
		for _, g := range d.grants {
			if g.Props["clientId"] == body.ClientID && g.Props["resourceId"] == body.ResourceID &&
				g.Props["consentType"] == body.ConsentType && (body.ConsentType == "AllPrincipals" || g.Props["principalId"] == *body.PrincipalID) {
				c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
				return
			}
		}
		g := &object{ID: randomToken(32)[:43]}
		var principal any
		if body.PrincipalID != nil && *body.PrincipalID != "" {
			principal = *body.PrincipalID
		}
		g.Props = map[string]any{"clientId": body.ClientID, "consentType": body.ConsentType, "id": g.ID,
			"principalId": principal, "resourceId": body.ResourceID, "scope": body.Scope}
		d.stamp(&g.replica, c.s.CurrentFaults())
		d.grants = append(d.grants, g)
		c.entityLocked(http.StatusCreated, "oauth2PermissionGrants", g.Props)
	case len(c.seg) == 2:
		d.mu.Lock()
		var grant *object
		idx := -1
		for i, g := range d.grants {
			if g.ID == c.seg[1] && g.visible(now) {
				grant, idx = g, i
			}
		}
		d.mu.Unlock()
		if grant == nil {
			c.notFound(c.seg[1])
			return
		}
		switch c.r.Method {
		case http.MethodGet:
			if c.allowed(readGrants) {
				d.mu.RLock()
				props := copyProps(grant.Props)
				d.mu.RUnlock()
				c.entity(http.StatusOK, "oauth2PermissionGrants", props)
			}
		case http.MethodPatch:
			if !c.allowed(writeGrants) {
				return
			}
			var body struct {
				Scope *string `json:"scope"`
			}
			if !c.body(&body) {
				return
			}
			if body.Scope != nil {
				d.mu.Lock()
				grant.Props["scope"] = *body.Scope
				d.mu.Unlock()
			}
			c.noContent()
		case http.MethodDelete:
			if !c.allowed(writeGrants) {
				return
			}
			d.mu.Lock()
			if idx < len(d.grants) && d.grants[idx] == grant {
				d.grants = append(d.grants[:idx], d.grants[idx+1:]...)
			}
			d.mu.Unlock()
			c.noContent()
		default:
			c.methodNotAllowed()
		}
	default:
		c.methodNotAllowed()
	}
}

// removeServicePrincipal deletes sp with its role assignments (either side)
// and delegated grants, as Entra does.
func (d *directory) removeServicePrincipal(sp *object) {
	for i, x := range d.sps {
		if x == sp {
			d.sps = append(d.sps[:i], d.sps[i+1:]...)
			delete(d.spByID, sp.ID)
			break
		}
	}
	var kept []*object
	for _, a := range d.assigns {
		if a.Props["principalId"] != sp.ID && a.Props["resourceId"] != sp.ID {
			kept = append(kept, a)
		}
	}
	d.assigns = kept
	var grants []*object
	for _, g := range d.grants {
		if g.Props["clientId"] != sp.ID && g.Props["resourceId"] != sp.ID {
			grants = append(grants, g)
		}
	}
	d.grants = grants
}
