package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
	"golang.org/x/time/rate"
)

// Picked groups are read side by side, this many at a time.
const parallelWalks = 3

// Graph's documented budget for the identity reads of one app in one
// tenant is 3,500 resource units every 10 seconds in a tenant of under 50
// users (5,000 up to 500 users, 8,000 above), and a page of
// transitiveMembers costs 5 units, less 1 for $select.
const (
	budgetUnits  = 3500
	budgetWindow = 10 * time.Second
	pageUnits    = 4
)

// readBudget paces a run's page requests to the smallest tenant's budget
// (87 pages, 87,000 users, a second), with the next page of each walk
// fetched ahead of it. A 429 all the same is waited out by the Graph
// client, as Retry-After says.
func readBudget() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(budgetUnits/pageUnits/budgetWindow.Seconds()), parallelWalks)
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
	if s.st.Step == "read-groups" && s.st.Group < len(s.st.Dirty) && s.st.Walks != nil {
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
// page by page, side by side, resuming each where it stood (see walkGroups).
func (s *syncer) readGroups(ctx context.Context) error {
	if s.st.Walks == nil {
		s.st.Walks = walksOf(s.st)
	}
	if err := s.walkGroups(ctx); err != nil {
		return err
	}
	s.st.Step = "ready"
	return s.commit(ctx, store.StagePage{})
}

// walksOf is where each group of a stage stands, from a stage written
// before Walks existed, which read the groups one by one.
func walksOf(st *store.Stage) []store.Walk {
	walks := make([]store.Walk, len(st.Dirty))
	for i := range walks {
		switch {
		case i < st.Group:
			walks[i].Done = true
		case i == st.Group:
			walks[i] = store.Walk{Link: st.Link, Subgroups: st.Subgroups}
		}
	}
	st.Link, st.Subgroups = "", false
	return walks
}

// midWalkGone is a picked group deleted while it was read: its pages so
// far are staged, and its next page cannot be had.
type midWalkGone struct{ error }

func (e midWalkGone) Unwrap() error { return e.error }

// walkPage is a page one group's walk hands to the run to stage, or, with
// end set, the end of the walk with its error.
type walkPage struct {
	walk  int
	page  graphapi.UserPage
	subs  []string // the group's nested groups, with its first page
	first bool     // subs is set
	end   bool
	err   error
	reply chan error // the page's commit; nil with end
}

// walkGroups reads the groups that are not read yet, up to parallelWalks
// at a time: each walk fetches its pages (one ahead, see GroupUserPages)
// while this goroutine stages the pages of all of them in turn, one
// transaction each, saving every walk's position with each. A picked group
// that is large does not hold up the others, and three large groups take
// about the time of the largest, as long as staging keeps up with the
// fetching. The walks together stay within Graph's documented request
// budget (see readBudget).
func (s *syncer) walkGroups(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var todo []int
	for i, w := range s.st.Walks {
		if !w.Done {
			todo = append(todo, i)
		}
	}
	pages := make(chan walkPage)
	budget := readBudget()
	running := 0
	start := func() {
		i := todo[0]
		todo = todo[1:]
		running++
		// A walk's goroutine gets what it needs by value: the stage is
		// this goroutine's.
		go s.walk(ctx, i, s.st.Dirty[i], s.st.Walks[i], budget, pages)
	}
	for len(todo) > 0 && running < parallelWalks {
		start()
	}
	left := map[int]int{} // users each walk has still to read, when Graph counted them
	var failed error
	for running > 0 {
		m := <-pages
		if !m.end {
			err := failed
			if err == nil {
				err = s.stageWalkPage(ctx, m, left)
			}
			m.reply <- err
			if err != nil && failed == nil {
				failed = err
				cancel()
			}
			continue
		}
		running--
		err := m.err
		if err != nil && failed == nil {
			w := s.st.Walks[m.walk]
			switch {
			case graphapi.IsKind(err, graphapi.KindNotFound) && w.Link == "":
				err = s.gone(ctx, m.walk, err)
			case graphapi.IsKind(err, graphapi.KindNotFound):
				err = midWalkGone{err}
			}
		}
		if err != nil && failed == nil {
			failed = err
			cancel()
		}
		if failed == nil && len(todo) > 0 {
			start()
		}
	}
	return failed
}

// walk reads one group from where its walk stood, handing each page to
// walkGroups and waiting for it to be staged.
func (s *syncer) walk(ctx context.Context, i int, g string, w store.Walk, budget *rate.Limiter, pages chan<- walkPage) {
	// The nested groups are read beside the first page of users and
	// staged with it.
	var subgroups func() ([]string, error)
	if !w.Subgroups {
		subgroups = async(func() ([]string, error) { return s.o.Graph.GroupSubgroups(ctx, g) })
	}
	q := graphapi.MemberQuery{Select: s.sel, NextLink: w.Link}
	err := s.o.Graph.GroupUserPages(ctx, g, q, func(up graphapi.UserPage) error {
		m := walkPage{walk: i, page: up, reply: make(chan error, 1)}
		if subgroups != nil {
			subs, err := subgroups()
			if err != nil {
				return err
			}
			m.subs, m.first, subgroups = subs, true, nil
		}
		// The page after this one is being fetched: waiting here paces
		// the walk's requests.
		if err := budget.Wait(ctx); err != nil {
			return err
		}
		pages <- m
		return <-m.reply
	})
	if subgroups != nil {
		// Not waited for (no page came): let it finish on its own.
		go subgroups()
	}
	pages <- walkPage{walk: i, end: true, err: err}
}

// stageWalkPage stages one page of a walk with every walk's position.
func (s *syncer) stageWalkPage(ctx context.Context, m walkPage, left map[int]int) error {
	g, up := s.st.Dirty[m.walk], m.page
	page := store.StagePage{Users: make([]store.StagedUser, 0, len(up.Users)), Members: make([]store.Membership, 0, len(up.Users))}
	w := &s.st.Walks[m.walk]
	if m.first {
		for _, sub := range m.subs {
			page.Subgroups = append(page.Subgroups, store.Membership{GroupID: g, MemberID: sub})
		}
		w.Subgroups = true
	}
	for _, u := range up.Users {
		page.Users = append(page.Users, stagedUser(u))
		page.Members = append(page.Members, store.Membership{GroupID: g, MemberID: u.ID})
	}
	if up.Count != nil {
		left[m.walk] = *up.Count
	}
	if n, ok := left[m.walk]; ok {
		left[m.walk] = max(0, n-len(up.Users))
	}
	s.users += len(up.Users)
	if len(left) > 0 {
		s.total = s.users
		for _, n := range left {
			s.total += n
		}
	}
	w.Link = up.Next
	w.Done = up.Next == ""
	s.st.Group = m.walk
	return s.commit(ctx, page)
}

// gone handles a picked group Graph does not find: one a run applied
// before was deleted in Entra, and is read as empty, so that its users
// leave it; one never synced may be too new to be seen yet, and stops the
// run rather than be taken for empty.
func (s *syncer) gone(ctx context.Context, i int, notFound error) error {
	g := s.st.Dirty[i]
	known, err := s.o.DB.SyncedGroup(ctx, g)
	if err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("picked group %s was not found in Entra: if it was just created, run the sync again in a minute; "+
			"if it was deleted, pick the groups again (entrawiz groups pick): %w", g, notFound)
	}
	s.st.Gone = append(s.st.Gone, g)
	s.st.Group = i
	s.report(fmt.Sprintf("picked group %s no longer exists in Entra: its users are taken as having left it (pick the groups again)", g))
	s.st.Walks[i] = store.Walk{Done: true}
	return s.commit(ctx, store.StagePage{})
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
