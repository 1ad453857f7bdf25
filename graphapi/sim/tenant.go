package sim

import (
	"fmt"
	"net/http"
	"strings"
)

// organizationProps is the tenant as GET /organization returns it.
func (d *directory) organizationProps() map[string]any {
	return map[string]any{
		"id": d.tenantID, "deletedDateTime": nil, "businessPhones": []any{"425-555-0100"}, "city": "Redmond",
		"country": nil, "countryLetterCode": "US", "createdDateTime": d.created.Format("2006-01-02T15:04:05Z"),
		"defaultUsageLocation": nil, "displayName": d.displayName, "isMultipleDataLocationsForServicesEnabled": nil,
		"marketingNotificationEmails": []any{}, "onPremisesLastSyncDateTime": nil, "onPremisesSyncEnabled": nil,
		"partnerTenantType": nil, "postalCode": "98052", "preferredLanguage": "en", "securityComplianceNotificationMails": []any{},
		"securityComplianceNotificationPhones": []any{}, "state": "WA", "street": "1 Microsoft Way",
		"technicalNotificationMails": []any{d.adminUPN}, "tenantType": "AAD",
		"directorySizeQuota": map[string]any{"used": len(d.users) + len(d.groups), "total": 300000},
		"assignedPlans":      []any{}, "privacyProfile": nil, "provisionedPlans": []any{},
		"verifiedDomains": []any{
			map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": false, "isInitial": true,
				"name": d.initialDomain, "type": "Managed"},
			map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": false,
				"name": d.primaryDomain, "type": "Managed"},
		},
	}
}

func (d *directory) domainProps() []map[string]any {
	mk := func(name string, isDefault, isInitial bool) map[string]any {
		return map[string]any{"authenticationType": "Managed", "availabilityStatus": nil, "id": name,
			"isAdminManaged": true, "isDefault": isDefault, "isInitial": isInitial, "isRoot": true, "isVerified": true,
			"passwordNotificationWindowInDays": nil, "passwordValidityPeriodInDays": nil,
			"supportedServices": []any{"Email", "OfficeCommunicationsOnline"}, "state": nil}
	}
	return []map[string]any{mk(d.initialDomain, false, true), mk(d.primaryDomain, true, false)}
}

// organization serves /organization. Any signed-in user may read it (with
// User.Read a caller sees id, displayName and verifiedDomains); app-only
// callers need Organization.Read.All or a directory permission.
func (c *gctx) organization() {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if c.p.app && !c.allowed(access{appRoles: []string{"Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All"}}) {
		return
	}
	d := c.s.dir
	d.mu.RLock()
	org := d.organizationProps()
	d.mu.RUnlock()
	if !c.p.app && !c.p.scopes["organization.read.all"] && !c.p.scopes["directory.read.all"] && !c.p.scopes["directory.readwrite.all"] {
		for k := range org {
			if k != "id" && k != "displayName" && k != "verifiedDomains" {
				org[k] = nil
			}
		}
	}
	if len(c.seg) == 2 {
		if !strings.EqualFold(c.seg[1], d.tenantID) {
			c.notFound(c.seg[1])
			return
		}
		c.entity(http.StatusOK, "organization", org)
		return
	}
	c.page("organization", 1, func(int) map[string]any { return org })
}

func (c *gctx) domains() {
	if !c.allowed(access{
		scopes:   []string{"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}) {
		return
	}
	d := c.s.dir
	doms := d.domainProps()
	if len(c.seg) == 2 {
		for _, dm := range doms {
			if strings.EqualFold(dm["id"].(string), c.seg[1]) {
				c.entity(http.StatusOK, "domains", dm)
				return
			}
		}
		c.notFound(c.seg[1])
		return
	}
	c.page("domains", len(doms), func(i int) map[string]any { return doms[i] })
}

// me serves /me, /me/memberOf and /me/transitiveMemberOf. Directory roles
// come back with limited information (only @odata.type and id) unless the
// caller may read roles: RoleManagement.Read.Directory or Directory.Read.All.
func (c *gctx) me() {
	if c.p.app {
		c.badRequest("/me request is only valid with delegated authentication flow.")
		return
	}
	d := c.s.dir
	d.mu.RLock()
	u := d.usersByID[c.p.oid]
	d.mu.RUnlock()
	if u == nil {
		c.notFound(c.p.oid)
		return
	}
	if len(c.seg) == 1 {
		d.mu.RLock()
		props := u.render(c.q.sel)
		d.mu.RUnlock()
		c.entity(http.StatusOK, "users", props)
		return
	}
	if c.seg[1] != "memberOf" && c.seg[1] != "transitiveMemberOf" {
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[1]))
		return
	}
	cast := ""
	if len(c.seg) == 3 {
		switch {
		case isCast(c.seg[2], "directoryRole"):
			cast = "directoryRole"
		case isCast(c.seg[2], "group"):
			cast = "group"
		default:
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[2]))
			return
		}
		if !(c.q.eventual && c.q.raw.Get("$count") == "true") {
			c.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "The specified type cast is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
			return
		}
	}
	canReadRoles := c.p.scopes["rolemanagement.read.directory"] || c.p.scopes["directory.read.all"] ||
		c.p.scopes["directory.readwrite.all"] || c.p.scopes["rolemanagement.readwrite.directory"]
	canReadGroups := c.p.scopes["groupmember.read.all"] || c.p.scopes["group.read.all"] || c.p.scopes["directory.read.all"]
	transitive := c.seg[1] == "transitiveMemberOf"
	d.mu.RLock()
	var items []map[string]any
	if cast != "group" {
		for _, r := range d.roles {
			for _, m := range r.members {
				if m != u.ID {
					continue
				}
				item := map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": r.ID,
					"deletedDateTime": nil, "description": nil, "displayName": nil, "roleTemplateId": nil}
				if canReadRoles {
					item["description"], item["displayName"], item["roleTemplateId"] = r.Description, r.DisplayName, r.TemplateID
				}
				items = append(items, item)
			}
		}
	}
	if cast != "directoryRole" {
		_, in := d.groupsOf(u.ID, transitive)
		for _, g := range d.groups {
			if !in[g.ID] {
				continue
			}
			item := map[string]any{"@odata.type": "#microsoft.graph.group", "id": g.ID}
			if canReadGroups {
				item = g.render(c.q.sel)
				item["@odata.type"] = "#microsoft.graph.group"
			}
			items = append(items, item)
		}
	}
	d.mu.RUnlock()
	set := "directoryObjects"
	if cast != "" {
		set = cast + "s"
	}
	c.page(set, len(items), func(i int) map[string]any { return items[i] })
}

// directoryRoles serves /directoryRoles and a role's members.
func (c *gctx) directoryRoles() {
	if !c.allowed(access{
		scopes:   []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"},
		appRoles: []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"},
	}) {
		return
	}
	d := c.s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	roleJSON := func(r *dirRole) map[string]any {
		return map[string]any{"id": r.ID, "deletedDateTime": nil, "description": r.Description,
			"displayName": r.DisplayName, "roleTemplateId": r.TemplateID}
	}
	if len(c.seg) == 1 {
		c.page("directoryRoles", len(d.roles), func(i int) map[string]any { return roleJSON(d.roles[i]) })
		return
	}
	for _, r := range d.roles {
		if r.ID != c.seg[1] && !strings.HasPrefix(c.seg[1], "roleTemplateId=") {
			continue
		}
		if strings.HasPrefix(c.seg[1], "roleTemplateId=") && strings.Trim(strings.TrimPrefix(c.seg[1], "roleTemplateId="), "'") != r.TemplateID {
			continue
		}
		if len(c.seg) == 2 {
			c.entity(http.StatusOK, "directoryRoles", roleJSON(r))
			return
		}
		if c.seg[2] == "members" {
			members := r.members
			c.page("directoryObjects", len(members), func(i int) map[string]any { return d.memberRender(members[i], c.q.sel) })
			return
		}
	}
	c.notFound(c.seg[1])
}

// groupsOf is the groups userID is a direct member of, and with transitive
// also the groups those are members of, nested to any depth (in holds
// both). The caller holds d.mu.
func (d *directory) groupsOf(userID string, transitive bool) (direct, in map[string]bool) {
	direct, in = map[string]bool{}, map[string]bool{}
	for _, g := range d.groups {
		if g.memberSet[userID] {
			direct[g.ID], in[g.ID] = true, true
		}
	}
	for changed := transitive; changed; {
		changed = false
		for _, g := range d.groups {
			if in[g.ID] {
				continue
			}
			for m := range g.memberSet {
				if in[m] {
					in[g.ID], changed = true, true
					break
				}
			}
		}
	}
	return direct, in
}
