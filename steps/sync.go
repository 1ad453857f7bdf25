package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// syncMemoryLimit is the Go heap's soft limit while a run is in hand.
const syncMemoryLimit = 64 << 20

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
	// The run's live heap grows with the users it has planned (16 bytes
	// and a map slot each): at a million, five times it, which the target
	// above allows, would be more than the run may take. The limit makes
	// the collector run sooner as the heap nears it, and is never raised
	// above one the process has already.
	if limit := debug.SetMemoryLimit(-1); limit > syncMemoryLimit {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(syncMemoryLimit))
	}
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
	case errors.As(err, new(midWalkGone)):
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
