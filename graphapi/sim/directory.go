package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// directory is the tenant's state. Every method that reads or writes it takes
// mu; handlers never hold it across I/O.
type directory struct {
	mu  sync.RWMutex
	now func() time.Time
	rng *rand.Rand

	tenantID, displayName        string
	initialDomain, primaryDomain string
	adminUPN, userUPN            string
	adminID                      string
	created                      time.Time

	users     []*user // in creation order
	usersByID map[string]*user
	groups    []*group
	groupByID map[string]*group

	apps       []*object
	appByID    map[string]*object
	sps        []*object
	spByID     map[string]*object
	assigns    []*object // appRoleAssignments
	grants     []*object // oauth2PermissionGrants
	roles      []*dirRole
	graphSPID  string
	cliToolsID string

	// seq orders every change for delta queries; tombstones and the member log
	// remember what a delta round must report after it.
	seq        uint64
	tombstones []tombstone
	memberLog  []memberChange

	// pendingUntil is when the last replicating object becomes visible.
	pendingUntil time.Time

	// The last transitive member walk, reused while nothing has changed.
	tcMu sync.Mutex
	tc   map[tcKey]tcEntry // transitive walks, for paging them
}

type user struct {
	ID, DisplayName, GivenName, Surname, UPN, Mail string
	JobTitle, Department, OfficeLocation, Mobile   string
	EmployeeID                                     string
	Enabled                                        bool
	Created                                        time.Time
	replica
	version uint64
	isAdmin bool
}

type group struct {
	ID, DisplayName, Description, MailNickname string
	Mail                                       string
	SecurityEnabled, MailEnabled               bool
	GroupTypes                                 []string
	Created                                    time.Time
	replica
	version   uint64
	members   []string // user or group ids, in order added
	memberSet map[string]bool
}

// object is an application, service principal, or grant: few of them, many
// properties, so they are kept as the JSON shape Graph returns.
type object struct {
	ID    string
	Props map[string]any
	replica
	owners  []string
	secrets []*secret  // applications only
	keys    []*keyCred // applications only: certificates
}

type secret struct {
	KeyID, DisplayName, Hint string
	hash                     [32]byte
	Start, End               time.Time
	replica
}

type dirRole struct {
	ID, TemplateID, DisplayName, Description string
	members                                  []string
}

type tombstone struct {
	kind, id string
	seq      uint64
	reason   string // "deleted" or "changed"
}

type memberChange struct {
	seq               uint64
	groupID, memberID string
	memberKind        string // "user" or "group"
	removed           bool
}

var (
	givenNames = []string{"Adele", "Alex", "Allan", "Bianca", "Brian", "Cameron", "Christie", "Debra", "Diego", "Emily",
		"Enrico", "Grady", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne",
		"Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Raul", "Sakura", "Tomasz", "Una", "Yuki"}
	surnames = []string{"Vance", "Wilber", "Deyoung", "Pino", "Johnson", "White", "Cline", "Berger", "Siciliani", "Braun",
		"Cattaneo", "Archie", "Gonzalez", "Sayers", "Stokes", "Lauer", "Sherman", "Gu", "Holloway", "Robbins",
		"Bowen", "Caldwell", "Wilke", "Fernandez", "Gupta", "Razo", "Tanaka", "Nowak", "Oduya", "Sato"}
	departments = []string{"Sales", "Marketing", "Engineering", "Finance", "Legal", "Operations", "Support", "Research"}
	titles      = []string{"Analyst", "Engineer", "Manager", "Designer", "Consultant", "Director", "Specialist"}
	offices     = []string{"Amsterdam", "Berlin", "Chicago", "Dublin", "London", "Seattle", "Sydney", "Tokyo"}
)

func newDirectory(opts Options, now func() time.Time) *directory {
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed))
	d := &directory{
		now:       now,
		rng:       rng,
		usersByID: make(map[string]*user, opts.Users+2),
		groupByID: map[string]*group{},
		appByID:   map[string]*object{},
		spByID:    map[string]*object{},
	}
	name := strings.ToLower(opts.TenantName)
	d.tenantID = d.newID()
	d.displayName = strings.ToUpper(name[:1]) + name[1:]
	d.initialDomain = name + ".onmicrosoft.com"
	d.primaryDomain = name + ".example.com"
	d.created = time.Date(2021, 8, 2, 10, 30, 6, 0, time.UTC)

	admin := d.addUser("Megan", "Bowen", "admin", "IT", "Global Administrator", true)
	admin.isAdmin = true
	d.adminUPN, d.adminID = admin.UPN, admin.ID
	plain := d.addUser("Joni", "Sherman", "joni", "Sales", "Analyst", true)
	d.userUPN = plain.UPN
	for i := 0; i < opts.Users; i++ {
		g, s := givenNames[i%len(givenNames)], surnames[(i/len(givenNames))%len(surnames)]
		nick := fmt.Sprintf("%s.%s%d", strings.ToLower(g), strings.ToLower(s), i)
		d.addUser(g, s, nick, departments[i%len(departments)], titles[i%len(titles)], i%97 != 96)
	}

	everyone := d.addGroup("All Users", "Everyone in "+d.displayName, true)
	for _, u := range d.users {
		d.addMember(everyone, u.ID, false)
	}
	var made []*group
	for i := 0; i < opts.Groups; i++ {
		dep := departments[i%len(departments)]
		name := fmt.Sprintf("%s %s %d", dep, []string{"Team", "Project", "Site", "Committee"}[(i/len(departments))%4], i+1)
		g := d.addGroup(name, "Members of "+name, i%6 != 5)
		made = append(made, g)
	}
	if len(made) > 0 {
		// Users spread over the groups; every fifth group also holds the group
		// before it, so nested membership is common.
		for i, u := range d.users[2:] {
			d.addMember(made[i%len(made)], u.ID, false)
		}
		for i := 4; i < len(made); i += 5 {
			d.addMember(made[i], made[i-1].ID, false)
		}
		d.addMember(made[0], d.users[1].ID, false)
	}
	d.seedRoles()
	d.seedFirstPartyApps()
	// Generated data predates every delta round.
	for _, u := range d.users {
		u.version = 0
	}
	for _, g := range d.groups {
		g.version = 0
	}
	d.memberLog = nil
	d.seq = 1
	return d
}

// newID returns a random GUID from the tenant's generator, so the same seed
// gives the same IDs.
func (d *directory) newID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(d.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (d *directory) nextSeq() uint64 {
	d.seq++
	return d.seq
}

func (d *directory) addUser(given, sur, nick, dep, title string, enabled bool) *user {
	upnDomain := d.primaryDomain
	u := &user{
		ID: d.newID(), GivenName: given, Surname: sur, DisplayName: given + " " + sur,
		UPN: nick + "@" + upnDomain, Mail: nick + "@" + upnDomain,
		Department: dep, JobTitle: title, OfficeLocation: offices[len(d.users)%len(offices)],
		Mobile:     fmt.Sprintf("+1 425 555 %04d", len(d.users)%10000),
		EmployeeID: fmt.Sprintf("E%06d", len(d.users)+1),
		Enabled:    enabled, Created: d.created.Add(time.Duration(len(d.users)) * time.Minute),
		version: d.nextSeq(),
	}
	d.users = append(d.users, u)
	d.usersByID[u.ID] = u
	return u
}

func (d *directory) addGroup(name, desc string, security bool) *group {
	nick := strings.Map(func(r rune) rune {
		if r == ' ' {
			return '-'
		}
		return r
	}, strings.ToLower(name))
	g := &group{
		ID: d.newID(), DisplayName: name, Description: desc, MailNickname: nick,
		SecurityEnabled: security, MailEnabled: !security, GroupTypes: []string{},
		Created: d.created.Add(time.Duration(len(d.groups)) * time.Hour), memberSet: map[string]bool{},
		version: d.nextSeq(),
	}
	if !security {
		g.GroupTypes = []string{"Unified"}
		g.Mail = nick + "@" + d.primaryDomain
	}
	d.groups = append(d.groups, g)
	d.groupByID[g.ID] = g
	return g
}

// addMember adds a user or group to g; logged says whether delta rounds
// should see it as a change.
func (d *directory) addMember(g *group, id string, logged bool) bool {
	if g.memberSet[id] {
		return false
	}
	g.members = append(g.members, id)
	g.memberSet[id] = true
	kind := "user"
	if _, ok := d.groupByID[id]; ok {
		kind = "group"
	}
	seq := d.nextSeq()
	g.version = seq
	if logged {
		d.memberLog = append(d.memberLog, memberChange{seq: seq, groupID: g.ID, memberID: id, memberKind: kind})
	}
	return true
}

func (d *directory) removeMember(g *group, id string) bool {
	if !g.memberSet[id] {
		return false
	}
	delete(g.memberSet, id)
	for i, m := range g.members {
		if m == id {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	kind := "user"
	if _, ok := d.groupByID[id]; ok {
		kind = "group"
	}
	seq := d.nextSeq()
	g.version = seq
	d.memberLog = append(d.memberLog, memberChange{seq: seq, groupID: g.ID, memberID: id, memberKind: kind, removed: true})
	return true
}

// deleteUser removes a user everywhere, leaving a tombstone for delta.
func (d *directory) deleteUser(id string) bool {
	u := d.usersByID[id]
	if u == nil {
		return false
	}
	for _, g := range d.groups {
		d.removeMember(g, id)
	}
	delete(d.usersByID, id)
	for i, x := range d.users {
		if x == u {
			d.users = append(d.users[:i], d.users[i+1:]...)
			break
		}
	}
	d.tombstones = append(d.tombstones, tombstone{kind: "user", id: id, seq: d.nextSeq(), reason: "changed"})
	return true
}

// deleteGroup removes a group everywhere, leaving a tombstone for delta.
// Its members are not changed, only no longer in it.
func (d *directory) deleteGroup(id string) bool {
	g := d.groupByID[id]
	if g == nil {
		return false
	}
	for _, parent := range d.groups {
		d.removeMember(parent, id)
	}
	delete(d.groupByID, id)
	d.groups = slices.DeleteFunc(d.groups, func(x *group) bool { return x == g })
	// A Microsoft 365 group can be restored for 30 days ("changed"); a
	// security group is deleted for good ("deleted").
	reason := "deleted"
	if slices.Contains(g.GroupTypes, "Unified") {
		reason = "changed"
	}
	d.tombstones = append(d.tombstones, tombstone{kind: "group", id: id, seq: d.nextSeq(), reason: reason})
	return true
}

// transitiveMembers returns the ids of every user and group below g, each once,
// users in the order their groups were walked.
func (d *directory) transitiveMembers(g *group, visible func(id string) bool) []string {
	seen := map[string]bool{g.ID: true}
	var out []string
	queue := []*group{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range cur.members {
			if seen[m] || !visible(m) {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if sub := d.groupByID[m]; sub != nil {
				queue = append(queue, sub)
			}
		}
	}
	return out
}

// rolesOf returns the template IDs of the directory roles a user holds.
func (d *directory) rolesOf(userID string) map[string]bool {
	out := map[string]bool{}
	for _, r := range d.roles {
		for _, m := range r.members {
			if m == userID {
				out[r.TemplateID] = true
			}
		}
	}
	return out
}

func (d *directory) seedRoles() {
	for _, r := range []struct{ id, name, desc string }{
		{roleGlobalAdmin, "Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
		{rolePrivRoleAdmin, "Privileged Role Administrator", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."},
		{roleAppAdmin, "Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps."},
		{roleCloudAppAdmin, "Cloud Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy."},
		{roleGroupsAdmin, "Groups Administrator", "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports."},
		{roleUserAdmin, "User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins."},
		{roleSecurityAdmin, "Security Administrator", "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365."},
	} {
		role := &dirRole{ID: d.newID(), TemplateID: r.id, DisplayName: r.name, Description: r.desc}
		if r.id == roleGlobalAdmin {
			role.members = []string{d.adminID}
		}
		d.roles = append(d.roles, role)
	}
}

// visibleUser reports whether replication has made u visible at t.
// replica is when a new object reaches the parts of Entra that did not
// write it. Reads, lists and the token service see it after the replication
// delay; writes that name it (a service principal for a new app, a role
// assignment to a new service principal) after the reference delay.
type replica struct {
	visibleAt  time.Time
	writableAt time.Time
}

// visible reports whether reads at t see the object.
func (r replica) visible(t time.Time) bool { return !t.Before(r.visibleAt) }

// writable reports whether writes at t that name the object find it.
func (r replica) writable(t time.Time) bool { return !t.Before(r.writableAt) }

// stamp starts replication of an object written now.
func (d *directory) stamp(r *replica, f Faults) {
	r.visibleAt = d.delayed(f.ReplicationDelay)
	r.writableAt = d.now().Add(f.ReferenceDelay)
}
