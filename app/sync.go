package app

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// appGraph is the connection's app-only Graph client with its active
// client secret from the secret store, made once per app and secret: after
// a rotation (by this process or another) or a new setup under the same
// name, the next call makes a client with the secret now in use.
func (a *App) appGraph(conn *store.Connection) (*graphapi.Client, error) {
	key := conn.Name + "|" + conn.App.AppID
	if s := steps.ActiveSecret(conn); s != nil {
		key += "|" + s.KeyID
	}
	a.mu.Lock()
	g := a.apps[key]
	a.mu.Unlock()
	if g != nil {
		return g, nil
	}
	secret, _, err := steps.StoredSecret(a.o.Secrets, conn)
	if err != nil {
		return nil, fmt.Errorf("%w (run `entrawiz setup` or `entrawiz rotate`)", err)
	}
	sess, err := graphapi.NewAppSession(graphapi.AppOptions{Cloud: a.cloud, Tenant: conn.Tenant.ID, ClientID: conn.App.AppID, Secret: secret, Tracer: a.o.Tracer})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apps == nil {
		a.apps = map[string]*graphapi.Client{}
	}
	a.apps[key] = sess.Graph
	return sess.Graph, nil
}

// GroupCounts are a group's member counts.
type GroupCounts struct {
	Users  int64 // users at any depth of nesting: those a sync reads
	Nested int   // groups nested in it, at any depth; -1 when not known
}

// connectionGraph is the named connection's app-only client.
func (a *App) connectionGraph(name string) (*graphapi.Client, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	return a.appGraph(conn)
}

// readsGroups refuses, before any request, the group commands of a
// connection whose profile gives the app no permission to read groups: the
// tenant would answer 403 and advise a role that does not help.
func readsGroups(conn *store.Connection, p *steps.Profile) error {
	if p == nil || p.ReadsGroups() {
		return nil
	}
	return inputErrorf("the profile %s does not read groups: it gives the app no permission to (Group.Read.All, GroupMember.Read.All or Directory.Read.All), so connection %s has no groups to list, pick or sync; to give people access to the app, use `entrawiz assign`", p.Name, conn.Name)
}

// SearchGroups returns one page of the connection's tenant groups, searched
// on the server, as the app.
func (a *App) SearchGroups(ctx context.Context, name string, q graphapi.GroupQuery) (*graphapi.GroupPage, error) {
	conn, p, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if err := readsGroups(conn, p); err != nil {
		return nil, err
	}
	g, err := a.appGraph(conn)
	if err != nil {
		return nil, err
	}
	return g.SearchGroups(ctx, q)
}

// GroupLine is one group of a listing, with what a sync of it would read.
type GroupLine struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Users       int64  `json:"users"` // at any depth of nesting: what a sync reads
	Picked      bool   `json:"picked,omitempty"`
}

// ListGroups returns one page of the tenant's groups, each with its users
// counted and whether the connection has it picked.
func (a *App) ListGroups(ctx context.Context, name string, q graphapi.GroupQuery) (*graphapi.GroupPage, []GroupLine, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, nil, err
	}
	page, err := a.SearchGroups(ctx, conn.Name, q)
	if err != nil {
		return nil, nil, err
	}
	picked := map[string]bool{}
	for _, id := range steps.PickedGroupIDs(conn) {
		picked[id] = true
	}
	lines := []GroupLine{}
	for _, grp := range page.Groups {
		n, err := a.GroupUsers(ctx, conn.Name, grp.ID)
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, GroupLine{ID: grp.ID, DisplayName: grp.DisplayName, Users: n, Picked: picked[grp.ID]})
	}
	return page, lines, nil
}

// GroupUsers counts a group's users at any depth of nesting.
func (a *App) GroupUsers(ctx context.Context, name, groupID string) (int64, error) {
	g, err := a.connectionGraph(name)
	if err != nil {
		return 0, err
	}
	return g.GroupUserCount(ctx, groupID)
}

// GroupCounts counts a group's users and the groups nested in it.
func (a *App) GroupCounts(ctx context.Context, name, groupID string) (GroupCounts, error) {
	g, err := a.connectionGraph(name)
	if err != nil {
		return GroupCounts{}, err
	}
	n, err := g.GroupUserCount(ctx, groupID)
	if err != nil {
		return GroupCounts{}, err
	}
	counts := GroupCounts{Users: n, Nested: -1}
	if sub, err := g.GroupSubgroups(ctx, groupID); err == nil {
		counts.Nested = len(sub)
	}
	return counts, nil
}

// EmptyGroupError is a pick or a sync of a group with no users: a sync
// of it would disable every user synced from it before, so it is done
// only when asked for (--allow-empty, or a yes in the wizard).
type EmptyGroupError struct {
	Groups []steps.PickedGroup
}

func (e *EmptyGroupError) Error() string {
	var names []string
	for _, g := range e.Groups {
		names = append(names, fmt.Sprintf("%q", store.EscapeControls(g.DisplayName)))
	}
	return fmt.Sprintf("%s has no users: a sync of it would give the product no one, and disable anyone synced from it before (add users to it in Entra, or pass --allow-empty if that is meant)", strings.Join(names, ", "))
}

// PickGroups replaces the connection's picked groups, within its profile's
// limit on their number. A sync group with no users is refused unless
// allowEmpty.
func (a *App) PickGroups(ctx context.Context, name string, ids []string, allowEmpty bool) (*store.Connection, []steps.PickedGroup, error) {
	conn, p, save, err := a.open(name)
	if err != nil {
		return conn, nil, err
	}
	g, err := a.appGraph(conn)
	if err != nil {
		return conn, nil, err
	}
	if err := readsGroups(conn, p); err != nil {
		return conn, nil, err
	}
	picked, err := steps.PickGroups(ctx, g, conn, p, ids)
	if err != nil {
		if graphapi.IsKind(err, graphapi.KindBadInput, graphapi.KindNotFound) {
			err = &InputError{Err: err}
		}
		return conn, nil, err
	}
	if !allowEmpty {
		if err := a.refuseEmpty(ctx, g, picked); err != nil {
			return conn, nil, err
		}
	}
	conn.Updated = a.now()
	return conn, picked, save(conn)
}

// refuseEmpty returns an EmptyGroupError naming the sync groups (not the
// extra ones, which are simply not synced when empty) that have no users.
func (a *App) refuseEmpty(ctx context.Context, g *graphapi.Client, picked []steps.PickedGroup) error {
	var empty []steps.PickedGroup
	for _, grp := range picked {
		if grp.Extra {
			continue
		}
		n, err := g.GroupUserCount(ctx, grp.ID)
		if err != nil {
			return fmt.Errorf("count the users of %q: %w", store.EscapeControls(grp.DisplayName), err)
		}
		if n == 0 {
			empty = append(empty, grp)
		}
	}
	if len(empty) > 0 {
		return &InputError{Err: &EmptyGroupError{Groups: empty}}
	}
	return nil
}

// SyncRequest is how a sync runs.
type SyncRequest struct {
	DryRun           bool // compute the changes, write nothing
	Full             bool
	AllowMassDisable bool
	// AllowEmpty lets the first (or a full) sync read a group with no
	// users; without it such a sync is refused before it starts.
	AllowEmpty bool
}

// Sync runs one sync of the connection's picked groups into its directory
// database and records it on the connection (a preview is not recorded).
// One sync of a connection runs at a time: another is refused at once with
// who holds it. A preview runs beside a sync and never touches its stage.
func (a *App) Sync(ctx context.Context, name string, req SyncRequest, report func(steps.Event)) (*store.Connection, *steps.SyncResult, error) {
	conn, p, save, err := a.open(name)
	if err != nil {
		return conn, nil, err
	}
	// Extra groups bring no users of their own.
	groups := steps.SyncGroupIDs(conn)
	if len(groups) == 0 {
		return conn, nil, inputErrorf("no groups are picked: run `entrawiz groups list` and `entrawiz groups pick ID...` first")
	}
	if !req.DryRun {
		// A preview stages apart from real runs (store.DirDB.Preview) and
		// writes only its own run record: it may run beside a sync.
		lock, err := tryLock(a.o.ConfigDir, "sync-"+conn.Name, "a sync of "+conn.Name, a.o.Command, a.now())
		if err != nil {
			return conn, nil, err
		}
		defer lock.Release()
	}
	g, err := a.appGraph(conn)
	if err != nil {
		return conn, nil, err
	}
	if !req.AllowEmpty && !req.DryRun && (req.Full || steps.LastSync(conn) == nil) {
		// Checked when a sync reads the groups whole: an incremental run
		// reads only changes, and its group had users when picked.
		if err := a.refuseEmpty(ctx, g, steps.PickedGroups(conn)); err != nil {
			return conn, nil, err
		}
	}
	db, err := a.openDirectory(conn)
	if err != nil {
		return conn, nil, err
	}
	defer db.Close()
	start := a.now()
	res, syncErr := steps.SyncUsers(ctx, steps.SyncOptions{Graph: g, DB: db, Groups: groups, Spec: p.Sync,
		Full: req.Full, DryRun: req.DryRun, AllowMassDisable: req.AllowMassDisable, Report: report, Now: a.o.Now})
	if req.DryRun {
		return conn, res, syncErr
	}
	steps.RecordSync(conn, start, res, syncErr)
	if err := save(conn); err != nil && syncErr == nil {
		syncErr = err
	}
	return conn, res, syncErr
}

// SyncRuns returns the connection's last n sync runs, newest first.
func (a *App) SyncRuns(ctx context.Context, name string, n int) ([]store.RunRecord, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, err
	}
	db, err := a.openDirectory(conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Runs(ctx, n)
}

// Export writes the connection's synced users to w as "csv" or "json".
func (a *App) Export(ctx context.Context, name, format string, w io.Writer) error {
	if format != "csv" && format != "json" {
		return inputErrorf("--format must be csv or json, not %q", format)
	}
	conn, err := a.Connection(name)
	if err != nil {
		return err
	}
	db, err := a.openDirectory(conn)
	if err != nil {
		return err
	}
	defer db.Close()
	if format == "json" {
		return store.ExportJSON(ctx, w, db)
	}
	return store.ExportCSV(ctx, w, db)
}

// openDirectory opens the connection's directory database.
func (a *App) openDirectory(conn *store.Connection) (*store.DirDB, error) {
	return store.OpenDirectory(store.ConnectionDirectory(a.o.ConfigDir, conn.Name))
}
