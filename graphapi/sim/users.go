package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// userDefaults are the properties /users returns without $select.
var userDefaults = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// singleUserOnly are properties /users refuses to $select on a list.
var singleUserOnly = map[string]bool{"aboutme": true, "birthday": true, "hiredate": true, "interests": true,
	"mysite": true, "pastprojects": true, "preferredname": true, "responsibilities": true, "schools": true,
	"skills": true, "mailboxsettings": true}

// get returns one property of a user, as Graph spells and types it.
func (u *user) get(prop string) (any, bool) { return u.getLower(strings.ToLower(prop)) }

// getLower is get with the property name in lower case.
func (u *user) getLower(prop string) (any, bool) {
	switch prop {
	case "id":
		return u.ID, true
	case "displayname":
		return u.DisplayName, true
	case "givenname":
		return u.GivenName, true
	case "surname":
		return u.Surname, true
	case "userprincipalname":
		return u.UPN, true
	case "mail":
		return u.Mail, true
	case "mailnickname":
		nick, _, _ := strings.Cut(u.UPN, "@")
		return nick, true
	case "jobtitle":
		return u.JobTitle, true
	case "department":
		return u.Department, true
	case "officelocation":
		return u.OfficeLocation, true
	case "mobilephone":
		return u.Mobile, true
	case "businessphones":
		return []any{}, true
	case "preferredlanguage":
		return "en-US", true
	case "accountenabled":
		return u.Enabled, true
	case "employeeid":
		return u.EmployeeID, true
	case "usertype":
		return "Member", true
	case "createddatetime":
		return u.Created.UTC().Format(time.RFC3339), true
	case "companyname":
		return nil, true
	case "deleteddatetime":
		return nil, true
	}
	return nil, false
}

var userProps = []string{"id", "displayName", "givenName", "surname", "userPrincipalName", "mail", "mailNickname",
	"jobTitle", "department", "officeLocation", "mobilePhone", "businessPhones", "preferredLanguage",
	"accountEnabled", "employeeId", "userType", "createdDateTime", "companyName", "deletedDateTime"}

// render returns the user with the selected properties, or the defaults.
func (u *user) render(sel []string) map[string]any {
	names := sel
	if len(names) == 0 {
		names = userDefaults
	}
	out := make(map[string]any, len(names)+1)
	out["id"] = u.ID
	for _, n := range names {
		if p, ok := userPropByLower[strings.ToLower(n)]; ok {
			v, _ := u.get(p)
			out[p] = v
		}
	}
	return out
}

// userPropByLower maps a property name in lower case to its spelling.
var userPropByLower = func() map[string]string {
	m := make(map[string]string, len(userProps))
	for _, p := range userProps {
		m[strings.ToLower(p)] = p
	}
	return m
}()

var groupDefaults = []string{"id", "deletedDateTime", "classification", "createdDateTime", "creationOptions",
	"description", "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
	"mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
	"onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
	"onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
	"proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
	"securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors",
	"serviceProvisioningErrors"}

func (g *group) get(prop string) (any, bool) {
	switch strings.ToLower(prop) {
	case "id":
		return g.ID, true
	case "displayname":
		return g.DisplayName, true
	case "description":
		return g.Description, true
	case "mailnickname":
		return g.MailNickname, true
	case "mail":
		if g.Mail == "" {
			return nil, true
		}
		return g.Mail, true
	case "mailenabled":
		return g.MailEnabled, true
	case "securityenabled":
		return g.SecurityEnabled, true
	case "grouptypes":
		out := make([]any, len(g.GroupTypes))
		for i, t := range g.GroupTypes {
			out[i] = t
		}
		return out, true
	case "createddatetime", "reneweddatetime":
		return g.Created.UTC().Format(time.RFC3339), true
	case "creationoptions", "proxyaddresses", "resourcebehavioroptions", "resourceprovisioningoptions",
		"onpremisesprovisioningerrors", "serviceprovisioningerrors":
		return []any{}, true
	case "isassignabletorole", "onpremisessyncenabled":
		return nil, true
	case "visibility":
		if g.MailEnabled {
			return "Private", true
		}
		return nil, true
	case "securityidentifier":
		return "S-1-12-1-" + strings.ReplaceAll(g.ID[:18], "-", ""), true
	case "deleteddatetime", "classification", "expirationdatetime", "membershiprule", "membershipruleprocessingstate",
		"onpremisesdomainname", "onpremiseslastsyncdatetime", "onpremisesnetbiosname", "onpremisessamaccountname",
		"onpremisessecurityidentifier", "preferreddatalocation", "preferredlanguage", "theme":
		return nil, true
	}
	return nil, false
}

func (g *group) render(sel []string) map[string]any {
	names := sel
	if len(names) == 0 {
		names = groupDefaults
	}
	out := make(map[string]any, len(names)+1)
	out["id"] = g.ID
	for _, n := range names {
		for _, p := range groupDefaults {
			if strings.EqualFold(p, n) {
				v, _ := g.get(p)
				out[p] = v
			}
		}
	}
	return out
}

// readUsers is who may list users and read their profiles.
var readUsers = access{
	scopes:   []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "User.ReadBasic.All", "Directory.AccessAsUser.All"},
	appRoles: []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}

var readGroups = access{
	scopes:   []string{"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
	appRoles: []string{"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}

func (c *gctx) users() {
	if len(c.seg) >= 2 && isFunction(c.seg[1], "delta") {
		if c.allowed(readUsers) {
			c.delta("users")
		}
		return
	}
	if !c.allowed(readUsers) {
		return
	}
	for _, s := range c.q.sel {
		if singleUserOnly[strings.ToLower(s)] && len(c.seg) == 1 {
			c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
			return
		}
	}
	d := c.s.dir
	now := c.now()
	if len(c.seg) == 1 || c.seg[1] == "$count" {
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		d.mu.RLock()
		match, ok := matching(c, d.users, func(u *user) bool { return u.visible(now) }, func(u *user) getter { return u.get }, "User")
		d.mu.RUnlock()
		if !ok {
			return
		}
		if len(c.seg) == 2 {
			c.countOnly(len(match))
			return
		}
		c.page("users", len(match), func(i int) map[string]any { return match[i].render(c.q.sel) })
		return
	}
	d.mu.RLock()
	u := d.userByKey(c.seg[1])
	var props map[string]any
	if u != nil && u.visible(now) {
		props = u.render(c.q.sel)
	}
	d.mu.RUnlock()
	if props == nil {
		c.notFound(c.seg[1])
		return
	}
	if len(c.seg) > 2 {
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[2]))
		return
	}
	if c.r.Method != http.MethodGet { // PATCH and DELETE of users are not simulated
		c.methodNotAllowed()
		return
	}
	c.entity(http.StatusOK, "users", props)
}

// userByKey finds a user by id or userPrincipalName.
func (d *directory) userByKey(key string) *user {
	if u := d.usersByID[key]; u != nil {
		return u
	}
	for _, u := range d.users {
		if strings.EqualFold(u.UPN, key) {
			return u
		}
	}
	return nil
}

// memberRender renders a user or group member as a directoryObject with its
// @odata.type.
func (d *directory) memberRender(id string, sel []string) map[string]any {
	if u := d.usersByID[id]; u != nil {
		m := u.render(sel)
		m["@odata.type"] = "#microsoft.graph.user"
		return m
	}
	if g := d.groupByID[id]; g != nil {
		m := g.render(sel)
		m["@odata.type"] = "#microsoft.graph.group"
		return m
	}
	return map[string]any{"id": id}
}

func (c *gctx) groups() {
	if len(c.seg) >= 2 && isFunction(c.seg[1], "delta") {
		if c.allowed(readGroups) {
			c.delta("groups")
		}
		return
	}
	d := c.s.dir
	now := c.now()
	if len(c.seg) == 1 || c.seg[1] == "$count" {
		if c.r.Method == http.MethodPost && len(c.seg) == 1 {
			c.createGroup()
			return
		}
		if !c.allowed(readGroups) {
			return
		}
		d.mu.RLock()
		match, ok := matching(c, d.groups, func(g *group) bool { return g.visible(now) }, func(g *group) getter { return g.get }, "Group")
		d.mu.RUnlock()
		if !ok {
			return
		}
		if len(c.seg) == 2 {
			c.countOnly(len(match))
			return
		}
		c.page("groups", len(match), func(i int) map[string]any { return match[i].render(c.q.sel) })
		return
	}
	d.mu.RLock()
	g := d.groupByID[c.seg[1]]
	if g != nil && !(c.r.Method == http.MethodGet && g.visible(now) || c.r.Method != http.MethodGet && g.writable(now)) {
		g = nil
	}
	d.mu.RUnlock()
	if g == nil {
		c.notFound(c.seg[1])
		return
	}
	if len(c.seg) == 2 {
		switch {
		case c.r.Method == http.MethodDelete:
			// DELETE /groups/{id}: 204; Group.ReadWrite.All, and as a user
			// a role that manages groups (G:group-delete.md).
			if c.allowed(access{
				scopes:   []string{"Group.ReadWrite.All", "Directory.AccessAsUser.All"},
				appRoles: []string{"Group.ReadWrite.All"},
				dirRoles: []string{roleGlobalAdmin, roleGroupsAdmin, roleUserAdmin},
			}) {
				d.mu.Lock()
				d.deleteGroup(g.ID)
				d.mu.Unlock()
				c.noContent()
			}
		case !c.allowed(readGroups):
		case c.r.Method != http.MethodGet: // PATCH of groups is not simulated
			c.methodNotAllowed()
		default:
			d.mu.RLock()
			props := g.render(c.q.sel)
			d.mu.RUnlock()
			c.entity(http.StatusOK, "groups", props)
		}
		return
	}
	// Graph matches path segments without regard to case; the docs write
	// transitivemembers too (group-list-transitivemembers.md ex. 3).
	switch strings.ToLower(c.seg[2]) {
	case "members", "transitivemembers":
		c.groupMembers(g, strings.EqualFold(c.seg[2], "transitiveMembers"), c.seg[3:])
	default:
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[2]))
	}
}

// groupMembers serves members and transitiveMembers, with the user/group
// casts, $count, and members/$ref writes.
func (c *gctx) groupMembers(g *group, transitive bool, rest []string) {
	d := c.s.dir
	if !transitive && len(rest) >= 1 && rest[len(rest)-1] == "$ref" {
		c.memberRef(g, rest)
		return
	}
	if !c.allowed(readGroups) {
		return
	}
	cast := ""
	count := false
	for _, seg := range rest {
		switch {
		case isCast(seg, "user"):
			cast = "user"
		case isCast(seg, "group"):
			cast = "group"
		case seg == "$count":
			count = true
		default:
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
			return
		}
	}
	if cast != "" && transitive && !(c.q.eventual && c.q.count) && !count {
		c.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "The specified type cast is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
		return
	}
	now := c.now()
	d.mu.RLock()
	var ids []string
	visible := func(id string) bool {
		if u := d.usersByID[id]; u != nil {
			return u.visible(now)
		}
		if sub := d.groupByID[id]; sub != nil {
			return sub.visible(now)
		}
		return false
	}
	if transitive {
		ids = d.transitiveCached(g, cast, visible)
	} else {
		for _, m := range g.members {
			if visible(m) {
				ids = append(ids, m)
			}
		}
		ids = d.castTo(ids, cast)
	}
	if c.q.filter != nil || len(c.q.search) > 0 {
		var kept []string
		for _, id := range ids {
			get := d.getterFor(id)
			if !matchSearch(c.q.search, func(p string) any { v, _ := get(p); return v }) {
				continue
			}
			if c.q.filter != nil {
				ok, err := c.q.filter.eval(get, "DirectoryObject")
				if err != nil {
					d.mu.RUnlock()
					c.fail(http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
					return
				}
				if !ok {
					continue
				}
			}
			kept = append(kept, id)
		}
		ids = kept
	}
	d.mu.RUnlock()
	if count {
		c.countOnly(len(ids))
		return
	}
	set := "directoryObjects"
	if cast != "" {
		set = cast + "s"
	}
	if cast == "user" && len(c.q.sel) > 0 {
		fields := userFields(c.q.sel)
		c.pageJSON(set, len(ids), func(buf []byte, i int) []byte {
			d.mu.RLock()
			defer d.mu.RUnlock()
			if u := d.usersByID[ids[i]]; u != nil {
				return u.appendFields(buf, fields)
			}
			return appendJSON(buf, map[string]any{"id": ids[i]})
		})
		return
	}
	c.page(set, len(ids), func(i int) map[string]any {
		d.mu.RLock()
		defer d.mu.RUnlock()
		m := d.memberRender(ids[i], c.q.sel)
		return m
	})
}

// appendJSON appends the user as a member with the selected properties,
// as memberRender and project would give it, without building a map.
func (u *user) appendJSON(buf []byte, sel []string) []byte {
	return u.appendFields(buf, userFields(sel))
}

// userFields are the user properties $select names, as Graph spells them,
// each once, id aside (it is always written first).
func userFields(sel []string) []userField {
	var out []userField
	for _, n := range sel {
		lower := strings.ToLower(n)
		p, ok := userPropByLower[lower]
		if !ok || p == "id" || slices.ContainsFunc(out, func(f userField) bool { return f.name == p }) {
			continue
		}
		out = append(out, userField{name: p, lower: lower, key: appendJSONString(nil, p)})
	}
	return out
}

type userField struct {
	name, lower string
	key         []byte // the name as a JSON string
}

func (u *user) appendFields(buf []byte, fields []userField) []byte {
	buf = append(buf, `{"@odata.type":"#microsoft.graph.user","id":`...)
	buf = appendJSONString(buf, u.ID)
	for _, f := range fields {
		v, _ := u.getLower(f.lower)
		buf = append(buf, ',')
		buf = append(buf, f.key...)
		buf = append(buf, ':')
		buf = appendJSON(buf, v)
	}
	return append(buf, '}')
}

func (d *directory) getterFor(id string) getter {
	if u := d.usersByID[id]; u != nil {
		return u.get
	}
	if g := d.groupByID[id]; g != nil {
		return g.get
	}
	return func(string) (any, bool) { return nil, false }
}

// transitiveCached walks g's members once per change of the directory; a
// 100k-member group is paged without walking it again for every page.
// The cast is applied before caching, so that each page of a cast walk
// does not filter the whole member list again. Several groups' walks are
// kept, so that groups paged side by side do not walk each other out.
func (d *directory) transitiveCached(g *group, cast string, visible func(string) bool) []string {
	d.tcMu.Lock()
	defer d.tcMu.Unlock()
	k := tcKey{g.ID, cast}
	if e, ok := d.tc[k]; ok && e.seq == d.seq && d.replicationSettled() {
		return e.ids
	}
	ids := d.castTo(d.transitiveMembers(g, visible), cast)
	if d.tc == nil || len(d.tc) >= tcEntries {
		d.tc = map[tcKey]tcEntry{}
	}
	d.tc[k] = tcEntry{seq: d.seq, ids: ids}
	return ids
}

// tcEntries is how many walks the cache keeps before starting afresh.
const tcEntries = 16

type tcKey struct{ group, cast string }

type tcEntry struct {
	seq uint64
	ids []string
}

// castTo keeps the users ("user") or the groups ("group") of ids; "" keeps
// them all.
func (d *directory) castTo(ids []string, cast string) []string {
	if cast == "" {
		return ids
	}
	var kept []string
	for _, id := range ids {
		if _, isUser := d.usersByID[id]; isUser == (cast == "user") {
			kept = append(kept, id)
		}
	}
	return kept
}

// replicationSettled reports whether no object is waiting to become visible,
// so a cached walk cannot hide one.
func (d *directory) replicationSettled() bool {
	return !d.now().Before(d.pendingUntil)
}

// memberRef adds (POST members/$ref) or removes (DELETE members/{id}/$ref) a
// direct member.
func (c *gctx) memberRef(g *group, rest []string) {
	write := access{
		scopes:   []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"},
		appRoles: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		dirRoles: []string{roleGlobalAdmin, roleGroupsAdmin, roleUserAdmin},
	}
	if !c.allowed(write) {
		return
	}
	d := c.s.dir
	switch {
	case c.r.Method == http.MethodPost && len(rest) == 1:
		var body struct {
			ID string `json:"@odata.id"`
		}
		if !c.body(&body) {
			return
		}
		id := body.ID[strings.LastIndex(body.ID, "/")+1:]
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.usersByID[id] == nil && d.groupByID[id] == nil {
			c.notFound(id)
			return
		}
		if g.memberSet[id] {
			c.badRequest("One or more added object references already exist for the following modified properties: 'members'.")
			return
		}
		d.addMember(g, id, true)
		c.noContent()
	case c.r.Method == http.MethodDelete && len(rest) == 2:
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.removeMember(g, rest[0]) {
			c.notFound(rest[0])
			return
		}
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

// createGroup serves POST /groups.
func (c *gctx) createGroup() {
	if !c.allowed(access{
		scopes:   []string{"Group.ReadWrite.All", "Directory.ReadWrite.All", "Group.Create", "Directory.AccessAsUser.All"},
		appRoles: []string{"Group.ReadWrite.All", "Directory.ReadWrite.All", "Group.Create"},
		dirRoles: []string{roleGlobalAdmin, roleGroupsAdmin, roleUserAdmin},
	}) {
		return
	}
	var body map[string]any
	if !c.body(&body) {
		return
	}
	name, _ := body["displayName"].(string)
	nick, _ := body["mailNickname"].(string)
	mailEnabled, okM := body["mailEnabled"].(bool)
	security, okS := body["securityEnabled"].(bool)
	switch {
	case name == "" || len(name) > 256:
		c.badRequest("Invalid value specified for property 'displayName' of resource 'Group'.")
		return
	case nick == "" || len(nick) > 64 || strings.ContainsAny(nick, "@()\\[]\";:.<>, "):
		c.badRequest("Invalid value specified for property 'mailNickname' of resource 'Group'.")
		return
	case !okM || !okS:
		c.badRequest("A value is required for property 'mailEnabled' or 'securityEnabled' of resource 'Group'.")
		return
	}
	d := c.s.dir
	d.mu.Lock()
	// members@odata.bind and owners@odata.bind take up to 20 directory
	// object URLs each (G:group-post-groups.md).
	var binds []string
	for _, key := range []string{"members@odata.bind", "owners@odata.bind"} {
		list, _ := body[key].([]any)
		if len(list) > 20 {
			d.mu.Unlock()
			c.badRequest(fmt.Sprintf("At most 20 relationships can be added in %s when creating a group.", key))
			return
		}
		for _, item := range list {
			ref, _ := item.(string)
			id := ref[strings.LastIndex(ref, "/")+1:]
			if d.usersByID[id] == nil && d.groupByID[id] == nil && d.spByID[id] == nil {
				d.mu.Unlock()
				c.notFound(id)
				return
			}
			if key == "members@odata.bind" {
				binds = append(binds, id)
			}
		}
	}
	g := d.addGroup(name, "", security)
	for _, id := range binds {
		d.addMember(g, id, true)
	}
	if desc, ok := body["description"].(string); ok {
		g.Description = desc
	}
	g.MailNickname, g.MailEnabled = nick, mailEnabled
	if types, ok := body["groupTypes"].([]any); ok {
		g.GroupTypes = nil
		for _, t := range types {
			if s, ok := t.(string); ok {
				g.GroupTypes = append(g.GroupTypes, s)
			}
		}
	}
	d.stamp(&g.replica, c.s.CurrentFaults())
	props := g.render(nil)
	d.mu.Unlock()
	c.entity(http.StatusCreated, "groups", props)
}

// delayed returns when an object written now becomes visible elsewhere, and
// remembers it so caches know replication is still pending.
func (d *directory) delayed(delay time.Duration) time.Time {
	at := d.now().Add(delay)
	if at.After(d.pendingUntil) {
		d.pendingUntil = at
	}
	return at
}
