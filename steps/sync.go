package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// SyncGraph is what a sync reads from Microsoft Graph with the app-only
// token. *graphapi.Client implements it.
type SyncGraph interface {
	GroupUserPages(ctx context.Context, groupID string, q graphapi.MemberQuery, onPage func(graphapi.UserPage) error) error
	GroupSubgroups(ctx context.Context, groupID string) ([]string, error)
	UsersByID(ctx context.Context, ids, sel []string) ([]graphapi.User, error)
	UsersDelta(ctx context.Context, q graphapi.DeltaQuery, onPage func(graphapi.DeltaPage[graphapi.UserChange]) error) (string, error)
	GroupsDelta(ctx context.Context, q graphapi.DeltaQuery, onPage func(graphapi.DeltaPage[graphapi.GroupChange]) error) (string, error)
	LatestDeltaLink(ctx context.Context, set string, sel []string) (string, error)
}

// SyncDB is the directory database a sync writes. *store.DirDB implements it.
type SyncDB interface {
	Cursor(ctx context.Context) (store.SyncCursor, error)
	Staged(ctx context.Context) (*store.Stage, error)
	BeginStage(ctx context.Context, st store.Stage) error
	DiscardStage(ctx context.Context) error
	StagePage(ctx context.Context, p *store.StagePage) error
	Trees(ctx context.Context, picked []string) (map[string][]string, error)
	DirtyGroups(ctx context.Context, picked []string) ([]string, error)
	MissingUsers(ctx context.Context) ([]string, error)
	SyncedGroup(ctx context.Context, id string) (bool, error)
	Reconcile(ctx context.Context, opts store.ReconcileOptions) (*store.SyncPlan, error)
	StartRun(ctx context.Context, kind string, started time.Time) (int64, error)
	FinishRun(ctx context.Context, r store.RunRecord) error
}

// previewer is a SyncDB that gives a preview a staging area of its own.
// *store.DirDB implements it.
type previewer interface {
	Preview(ctx context.Context) (*store.DirDB, error)
}

// syncGCPercent is the garbage collector's target while a run is in hand.
const syncGCPercent = 400

// Safety limits on how many users one run may disable (like Entra
// Connect's accidental-delete protection).
const (
	DefaultMaxDisable        = 500
	DefaultMaxDisablePercent = 20
)

// SyncOptions is one sync run.
type SyncOptions struct {
	Graph  SyncGraph
	DB     SyncDB
	Groups []string  // the picked groups
	Spec   *SyncSpec // the profile's sync settings; nil for the defaults
	// Full reads the picked groups in full even when delta links are saved.
	Full   bool
	DryRun bool
	// AllowMassDisable lifts the safety limits.
	AllowMassDisable  bool
	MaxDisable        int // 0: DefaultMaxDisable
	MaxDisablePercent int // 0: DefaultMaxDisablePercent
	Report            func(Event)
	Now               func() time.Time
	// AfterPage is called after each page is committed; an error stops the
	// run there, as a crash would (tests use it).
	AfterPage func(pages int) error
}

// SyncProgress is the live state of a run, carried by StepProgress events.
type SyncProgress struct {
	Phase string // links, users-delta, groups-delta, resolve, read-groups, apply, done
	Pages int
	Users int // users read so far
	Group string
	// Total is the number of users the groups being read hold (from
	// @odata.count), 0 when unknown; it sizes a progress bar.
	Total int
	// The plan so far: what the run will do to the users read until now.
	// A full run knows it page by page; users it will disable are only
	// known once every page is read (phase apply). An incremental run
	// knows it in phase apply. In phase done the counts are what was
	// applied (or, dry, would be).
	Created, Updated, Disabled, Unchanged int
	// Retried is how many of the run's requests Graph throttled (429) or
	// failed (503, 504) and were retried, so far.
	Retried int
}

// SyncResult is how a run went.
type SyncResult struct {
	RunID   int64  `json:"runId"`
	Kind    string `json:"kind"` // full or incremental
	DryRun  bool   `json:"dryRun,omitempty"`
	Resumed bool   `json:"resumed,omitempty"`
	// GoneGroups are picked groups deleted in Entra: read as empty.
	GoneGroups []string `json:"goneGroups,omitempty"`
	FellBack   bool     `json:"fellBack,omitempty"` // an expired delta link made it a full run
	// Restarted is set when a group deleted part way through its read
	// made the run start again from the first page.
	Restarted bool            `json:"restarted,omitempty"`
	Pages     int             `json:"pages"`
	Users     int             `json:"usersRead"`
	Took      time.Duration   `json:"took"`
	Plan      *store.SyncPlan `json:"plan"`
	// Stopped says why a real run with this plan would be refused.
	Stopped string `json:"stopped,omitempty"`
}

// SafetyError is a run refused because it would disable too many users;
// nothing was changed.
type SafetyError struct {
	Plan  *store.SyncPlan
	Limit string
}

func (e *SafetyError) Error() string {
	return fmt.Sprintf("sync stopped: it would disable %d users, more than %s; nothing was changed (check the picked groups, or run again with --allow-mass-disable)", e.Plan.Disabled, e.Limit)
}

// GroupSetKey names a set of picked groups; delta links are only valid for
// the set they were made for.
func GroupSetKey(groups []string) string {
	ids := slices.Clone(groups)
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return hex.EncodeToString(sum[:8])
}

// SyncUsers runs one sync: it resumes a run a crash left unfinished, else
// starts a full run (first run, new groups, --full, expired delta link) or
// an incremental one, stages what it reads page by page, and applies it in
// one transaction unless it is dry or refused by the safety limits. A dry
// run (a preview) stages in a handle of its own (store.DirDB.Preview): it
// neither resumes nor disturbs a real run's stage, and starts afresh.
func SyncUsers(ctx context.Context, o SyncOptions) (*SyncResult, error) {
	if len(o.Groups) == 0 {
		return nil, errors.New("no groups are picked: run `entrawiz groups pick ID...` first")
	}
	// A run makes a page of garbage a page over a small live heap: at the
	// default target the collector ran every few pages and took a core
	// from the next fetch. A 100k-user run peaks near 90 MB with this.
	defer debug.SetGCPercent(debug.SetGCPercent(syncGCPercent))
	if o.DryRun {
		// A preview stages apart: a real run's stage, perhaps a
		// stopped run the next real run resumes, stays as it is.
		p, ok := o.DB.(previewer)
		if !ok {
			return nil, errors.New("sync: this directory database cannot stage a preview apart from a real run")
		}
		db, err := p.Preview(ctx)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		o.DB = db
	}
	s := &syncer{o: o, sel: syncSelect(o.Spec), start: o.now()}
	s.retried0 = int64(s.retried())
	set := GroupSetKey(o.Groups)
	cur, err := o.DB.Cursor(ctx)
	if err != nil {
		return nil, err
	}
	st, err := o.DB.Staged(ctx)
	if err != nil {
		return nil, err
	}
	res := &SyncResult{DryRun: o.DryRun}
	if st != nil && st.GroupSet == set && st.DryRun == o.DryRun && (!o.Full || st.Kind == "full") {
		res.Resumed = true
	} else {
		kind := "incremental"
		if o.Full || cur.GroupSet != set || cur.UsersDelta == "" || cur.GroupsDelta == "" {
			kind = "full"
		}
		if st, err = s.begin(ctx, kind, set); err != nil {
			return nil, err
		}
	}
	s.st, s.cur = st, cur
	recKind := st.Kind
	if o.DryRun {
		recKind = "dry-run"
	}
	runID, err := o.DB.StartRun(ctx, recKind, s.start)
	if err != nil {
		return nil, err
	}
	res.RunID = runID
	err = s.run(ctx)
	// Two things make what is staged unusable; a full run from the start
	// replaces it.
	restart := ""
	switch {
	case graphapi.IsKind(err, graphapi.KindDeltaExpired):
		restart, res.FellBack = "a saved delta link expired: reading the groups in full", true
	case graphapi.IsKind(err, graphapi.KindNotFound) && s.st.Step == "read-groups" && s.st.Link != "":
		// The group being read went away part way: its pages so far are
		// staged, and its next page cannot be had.
		restart, res.Restarted = "a picked group was deleted while it was read: reading the groups again from the start", true
	}
	if restart != "" {
		s.report(restart)
		if s.st, err = s.begin(ctx, "full", set); err == nil {
			err = s.run(ctx)
		}
	}
	var plan *store.SyncPlan
	if err == nil {
		plan, err = s.reconcile(ctx, res)
	}
	res.Kind, res.Pages, res.Users, res.Took, res.Plan = s.st.Kind, s.pages, s.users, o.now().Sub(s.start), plan
	res.GoneGroups = s.st.Gone
	rec := store.RunRecord{ID: runID, Kind: recKind}
	if plan != nil {
		rec.Created, rec.Updated, rec.Disabled, rec.Deleted, rec.Unchanged = plan.Created, plan.Updated, plan.Disabled, plan.Deleted, plan.Unchanged
	}
	if err != nil {
		rec.Error = err.Error()
	}
	fin := o.now()
	rec.Finished = &fin
	// A cancelled run still records how it ended.
	if ferr := o.DB.FinishRun(context.WithoutCancel(ctx), rec); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

func (o *SyncOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// syncSelect is the user properties a run reads: the profile's attributes
// (with those the engine needs), else the default set.
func syncSelect(spec *SyncSpec) []string {
	if spec == nil || len(spec.Attributes) == 0 {
		return graphapi.DefaultUserSelect()
	}
	sel := []string{"id", "userPrincipalName", "displayName", "accountEnabled"}
	for _, a := range spec.Attributes {
		if !slices.ContainsFunc(sel, func(s string) bool { return strings.EqualFold(s, a) }) {
			sel = append(sel, a)
		}
	}
	return sel
}

type syncer struct {
	o        SyncOptions
	st       *store.Stage
	cur      store.SyncCursor
	sel      []string
	start    time.Time
	pages    int
	users    int
	total    int   // users the groups being read hold, when Graph counted them
	retried0 int64 // the Graph client's retry count when the run began
}

func (s *syncer) begin(ctx context.Context, kind, set string) (*store.Stage, error) {
	st := &store.Stage{Kind: kind, DryRun: s.o.DryRun, GroupSet: set, Groups: slices.Clone(s.o.Groups), Step: "users-delta"}
	if kind == "full" {
		st.Step = "links"
	}
	return st, s.o.DB.BeginStage(ctx, *st)
}

func (s *syncer) report(msg string) {
	if s.o.Report == nil {
		return
	}
	group := ""
	if s.st.Step == "read-groups" && s.st.Group < len(s.st.Dirty) {
		group = s.st.Dirty[s.st.Group]
	}
	c := s.st.Planned
	s.o.Report(Event{Step: "sync", Title: "Synchronize users", Kind: StepProgress, Message: msg,
		Sync: &SyncProgress{Phase: s.st.Step, Pages: s.pages, Users: s.users, Group: group, Total: s.total, Retried: s.retried(),
			Created: c.Created, Updated: c.Updated, Disabled: c.Disabled, Unchanged: c.Unchanged}})
}

// retried is how many requests of this run were retried, when the Graph
// client counts them.
func (s *syncer) retried() int {
	if r, ok := s.o.Graph.(interface{ Retried() int64 }); ok {
		return int(r.Retried() - s.retried0)
	}
	return 0
}

// commit stages a page with the run's new position, in one transaction.
func (s *syncer) commit(ctx context.Context, p store.StagePage) error {
	p.Stage, p.Now = *s.st, s.o.now()
	if err := s.o.DB.StagePage(ctx, &p); err != nil {
		return err
	}
	s.st.Planned = p.Stage.Planned
	s.pages++
	s.report(fmt.Sprintf("page %d: %d users read", s.pages, s.users))
	if s.o.AfterPage != nil {
		return s.o.AfterPage(s.pages)
	}
	return nil
}

func (s *syncer) run(ctx context.Context) error {
	for {
		var err error
		switch s.st.Step {
		case "links":
			err = s.links(ctx)
		case "users-delta":
			err = s.usersDelta(ctx)
		case "groups-delta":
			err = s.groupsDelta(ctx)
		case "resolve":
			err = s.resolve(ctx)
		case "read-groups":
			err = s.readGroups(ctx)
		case "ready":
			return nil
		default:
			return fmt.Errorf("sync: unknown step %q in the staged run", s.st.Step)
		}
		if err != nil {
			return err
		}
	}
}

// links takes delta links before the full read, so that what changes
// during it is reported again by the next run rather than lost.
func (s *syncer) links(ctx context.Context) error {
	groups := async(func() (string, error) {
		return s.o.Graph.LatestDeltaLink(ctx, "groups", []string{"id", "displayName", "members"})
	})
	u, err := s.o.Graph.LatestDeltaLink(ctx, "users", s.sel)
	g, gerr := groups()
	if err == nil {
		err = gerr
	}
	if err != nil {
		return err
	}
	s.st.UsersDelta, s.st.GroupsDelta = u, g
	s.st.Step, s.st.Dirty, s.st.Group, s.st.Link = "read-groups", slices.Clone(s.st.Groups), 0, ""
	return s.commit(ctx, store.StagePage{})
}

// deltaFrom is where a delta round starts: the page a stopped run had
// reached, else the link the last applied run saved.
func (s *syncer) deltaFrom(saved string) string {
	if s.st.Link != "" {
		return s.st.Link
	}
	return saved
}

// deltaPage moves the run past a delta page: to the next page, or at the
// end of the round to step, with the round's delta link kept in link
// (saved when the run is applied).
func (s *syncer) deltaPage(next, delta string, link *string, step string) {
	s.st.Link = next
	if delta != "" {
		*link, s.st.Step, s.st.Link = delta, step, ""
	}
}

func (s *syncer) usersDelta(ctx context.Context) error {
	_, err := s.o.Graph.UsersDelta(ctx, graphapi.DeltaQuery{DeltaLink: s.deltaFrom(s.cur.UsersDelta)}, func(p graphapi.DeltaPage[graphapi.UserChange]) error {
		page := store.StagePage{Users: make([]store.StagedUser, 0, len(p.Items))}
		for _, u := range p.Items {
			su := stagedUser(u.User)
			su.Removed = u.Removed
			page.Users = append(page.Users, su)
		}
		s.users += len(p.Items)
		s.deltaPage(p.NextLink, p.DeltaLink, &s.st.UsersDelta, "groups-delta")
		return s.commit(ctx, page)
	})
	return err
}

func (s *syncer) groupsDelta(ctx context.Context) error {
	trees, err := s.o.DB.Trees(ctx, s.st.Groups)
	if err != nil {
		return err
	}
	_, err = s.o.Graph.GroupsDelta(ctx, graphapi.DeltaQuery{DeltaLink: s.deltaFrom(s.cur.GroupsDelta)}, func(p graphapi.DeltaPage[graphapi.GroupChange]) error {
		var page store.StagePage
		for _, g := range p.Items {
			if _, ok := trees[g.ID]; !ok {
				continue
			}
			if g.Removed != "" && slices.Contains(s.st.Groups, g.ID) {
				// A picked group deleted in Entra: read it in full,
				// where it is found gone.
				page.Changes = append(page.Changes, store.MemberChange{GroupID: g.ID, MemberID: g.ID, Type: store.GroupDeleted, Removed: true})
			}
			for _, m := range g.Members {
				page.Changes = append(page.Changes, store.MemberChange{GroupID: g.ID, MemberID: m.ID, Type: m.Type, Removed: m.Removed})
			}
		}
		s.deltaPage(p.NextLink, p.DeltaLink, &s.st.GroupsDelta, "resolve")
		return s.commit(ctx, page)
	})
	return err
}

// resolve decides which picked groups must be read in full and fetches the
// attributes of users who joined without changing themselves.
func (s *syncer) resolve(ctx context.Context) error {
	dirty, err := s.o.DB.DirtyGroups(ctx, s.st.Groups)
	if err != nil {
		return err
	}
	missing, err := s.o.DB.MissingUsers(ctx)
	if err != nil {
		return err
	}
	var page store.StagePage
	if len(missing) > 0 {
		users, err := s.o.Graph.UsersByID(ctx, missing, s.sel)
		if err != nil {
			return err
		}
		for _, u := range users {
			page.Users = append(page.Users, stagedUser(u))
		}
		s.users += len(users)
	}
	s.st.Step, s.st.Dirty, s.st.Group, s.st.Link = "read-groups", dirty, 0, ""
	return s.commit(ctx, page)
}

// readGroups reads the transitive users of the groups to read in full,
// page by page, resuming at the saved group and page.
func (s *syncer) readGroups(ctx context.Context) error {
	for s.st.Group < len(s.st.Dirty) {
		g := s.st.Dirty[s.st.Group]
		// The nested groups are read beside the first page of users and
		// staged with it.
		var subgroups func() ([]string, error)
		if !s.st.Subgroups {
			subgroups = async(func() ([]string, error) { return s.o.Graph.GroupSubgroups(ctx, g) })
		}
		q := graphapi.MemberQuery{Select: s.sel, NextLink: s.st.Link}
		err := s.o.Graph.GroupUserPages(ctx, g, q, func(up graphapi.UserPage) error {
			page := store.StagePage{Users: make([]store.StagedUser, 0, len(up.Users)), Members: make([]store.Membership, 0, len(up.Users))}
			if subgroups != nil {
				subs, err := subgroups()
				if err != nil {
					return err
				}
				for _, sub := range subs {
					page.Subgroups = append(page.Subgroups, store.Membership{GroupID: g, MemberID: sub})
				}
				subgroups, s.st.Subgroups = nil, true
			}
			for _, u := range up.Users {
				page.Users = append(page.Users, stagedUser(u))
				page.Members = append(page.Members, store.Membership{GroupID: g, MemberID: u.ID})
			}
			if up.Count != nil {
				s.total = s.users + *up.Count
			}
			s.users += len(up.Users)
			s.st.Link = up.Next
			if up.Next == "" {
				s.st.Group++
				s.st.Subgroups = false
			}
			return s.commit(ctx, page)
		})
		if graphapi.IsKind(err, graphapi.KindNotFound) && s.st.Link == "" {
			err = s.gone(ctx, g, err)
		}
		if err != nil {
			return err
		}
	}
	s.st.Step = "ready"
	return s.commit(ctx, store.StagePage{})
}

// gone handles a picked group Graph does not find: one a run applied
// before was deleted in Entra, and is read as empty, so that its users
// leave it; one never synced may be too new to be seen yet, and stops the
// run rather than be taken for empty.
func (s *syncer) gone(ctx context.Context, g string, notFound error) error {
	known, err := s.o.DB.SyncedGroup(ctx, g)
	if err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("picked group %s was not found in Entra: if it was just created, run the sync again in a minute; "+
			"if it was deleted, pick the groups again (entrawiz groups pick): %w", g, notFound)
	}
	s.st.Gone = append(s.st.Gone, g)
	s.report(fmt.Sprintf("picked group %s no longer exists in Entra: its users are taken as having left it (pick the groups again)", g))
	s.st.Group, s.st.Subgroups, s.st.Link = s.st.Group+1, false, ""
	return s.commit(ctx, store.StagePage{})
}

func (s *syncer) limits() (int, int) {
	n, pct := s.o.MaxDisable, s.o.MaxDisablePercent
	if n <= 0 {
		n = DefaultMaxDisable
	}
	if pct <= 0 {
		pct = DefaultMaxDisablePercent
	}
	return n, pct
}

// unsafe says which limit a plan breaks, or "".
func (s *syncer) unsafe(p *store.SyncPlan) string {
	n, pct := s.limits()
	switch {
	case p.Disabled > n:
		return fmt.Sprintf("the limit of %d users", n)
	case p.ActiveBefore > 0 && p.Disabled*100 > pct*p.ActiveBefore:
		return fmt.Sprintf("%d %% of the %d active users", pct, p.ActiveBefore)
	}
	return ""
}

func (s *syncer) reconcile(ctx context.Context, res *SyncResult) (*store.SyncPlan, error) {
	s.st.Step = "apply"
	s.report("comparing with the directory database")
	opts := store.ReconcileOptions{Now: s.o.now(), DryRun: s.o.DryRun, RunStart: s.start}
	if sp := s.o.Spec; sp != nil && sp.OnRemoval == "delete" {
		opts.OnRemoval, opts.DeleteAfterDays = "delete", sp.DeleteAfterDays
	}
	opts.Check = func(p *store.SyncPlan) error {
		limit := s.unsafe(p)
		if limit == "" || s.o.AllowMassDisable {
			return nil
		}
		if s.o.DryRun {
			res.Stopped = limit
			return nil
		}
		return &SafetyError{Plan: p, Limit: limit}
	}
	plan, err := s.o.DB.Reconcile(ctx, opts)
	if err != nil {
		return plan, err
	}
	verb := "applied"
	if s.o.DryRun {
		verb = "previewed (nothing written)"
	}
	s.st.Step = "done"
	// Disabled and deleted are different users: the screen's "disabled"
	// is both.
	s.st.Planned = store.PlanCounts{Created: plan.Created, Updated: plan.Updated, Disabled: plan.Disabled + plan.Deleted, Unchanged: plan.Unchanged}
	s.report(fmt.Sprintf("%s: %d created, %d updated, %d disabled, %d deleted, %d unchanged", verb,
		plan.Created, plan.Updated, plan.Disabled, plan.Deleted, plan.Unchanged))
	return plan, nil
}

// async runs fn in a goroutine; the function it returns waits for fn's
// result.
func async[T any](fn func() (T, error)) func() (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	return func() (T, error) {
		r := <-ch
		return r.v, r.err
	}
}

func stagedUser(u graphapi.User) store.StagedUser {
	enabled := true
	if u.AccountEnabled != nil {
		enabled = *u.AccountEnabled
	}
	return store.StagedUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, GivenName: u.GivenName,
		Surname: u.Surname, Mail: u.Mail, JobTitle: u.JobTitle, Department: u.Department, AccountEnabled: enabled}
}
