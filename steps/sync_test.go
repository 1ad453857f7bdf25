package steps_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// In a sim with Users: 200 and Groups: 10, generated user k (UserIDs()[2+k])
// is a direct member of group k%10: 0 "Sales Team 1", 1 "Marketing Team 2",
// 3 "Finance Team 4", 4 "Legal Team 5" (which holds Finance Team 4).
func genUser(h *syncTenant, k int) string { return h.ids[2+k] }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSyncMatchesTenantAfterChanges(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 200, Groups: 10})
	sales, legal, finance := h.group(t, "Sales Team 1"), h.group(t, "Legal Team 5"), h.group(t, "Finance Team 4")
	picked := []string{sales, legal}
	both := genUser(h, 10) // in Sales Team 1, and in Legal Team 5 too
	must(t, h.AddMember(legal, both))

	first := h.mustSync(t, picked, nil)
	if first.Kind != "full" || first.Plan.Created == 0 {
		t.Fatalf("first run: %+v", first)
	}
	h.assertTruth(t, picked)

	newcomer := h.CreateUser("Nia Newcomer")
	must(t, h.AddMember(sales, newcomer))              // join (a new user)
	must(t, h.AddMember(sales, genUser(h, 1)))         // join (an existing user, unchanged herself)
	must(t, h.RemoveMember(sales, genUser(h, 20)))     // leave
	must(t, h.AddMember(finance, genUser(h, 11)))      // nested join
	must(t, h.DisableUser(genUser(h, 14)))             // disabled in Entra
	must(t, h.DeleteUser(genUser(h, 13)))              // deleted in Entra
	must(t, h.RenameUser(genUser(h, 30), "Renamed R")) // rename
	must(t, h.RemoveMember(legal, both))               // leaves one of two picked groups

	h.ResetRequests()
	second := h.mustSync(t, picked, nil)
	if second.Kind != "incremental" {
		t.Fatalf("second run: %+v", second)
	}
	p := second.Plan
	if p.Created != 3 || p.Disabled != 3 || p.Updated != 1 {
		t.Errorf("second run plan: created %d updated %d disabled %d, want 3 1 3 (%+v)", p.Created, p.Updated, p.Disabled, p.Changes)
	}
	h.assertTruth(t, picked)

	// A third run with no change changes nothing.
	third := h.mustSync(t, picked, nil)
	if third.Plan.Created+third.Plan.Updated+third.Plan.Disabled != 0 {
		t.Errorf("third run changed something: %+v", third.Plan)
	}
	h.assertTruth(t, picked)
	runs, err := h.db.Runs(context.Background(), 10)
	must(t, err)
	if len(runs) != 3 || runs[0].Kind != "incremental" || runs[2].Kind != "full" || runs[1].Created != 3 {
		t.Errorf("runs: %+v", runs)
	}
}

func TestSyncDeltaExpiryFallsBackToFull(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 60, Groups: 10})
	picked := []string{h.group(t, "Sales Team 1")}
	h.mustSync(t, picked, nil)
	h.SetFaults(sim.Faults{DeltaTokenTTL: time.Millisecond})
	time.Sleep(10 * time.Millisecond)
	must(t, h.RenameUser(genUser(h, 0), "After Expiry"))
	res := h.mustSync(t, picked, nil)
	if !res.FellBack || res.Kind != "full" || res.Plan.Updated != 1 {
		t.Fatalf("want a full run after the expired delta link: %+v", res)
	}
	h.SetFaults(sim.Faults{})
	h.assertTruth(t, picked)
}

func TestSyncResumesAfterCrash(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 2500, Groups: 4})
	picked := []string{h.group(t, "All Users")}
	crash := errors.New("crash")
	// Pages: 1 delta links, 2.. users (999 a page; the nested groups
	// with the first).
	_, err := h.sync(picked, func(o *steps.SyncOptions) {
		o.AfterPage = func(n int) error {
			if n == 3 {
				return crash
			}
			return nil
		}
	})
	if !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	h.assertEmpty(t)
	h.ResetRequests()
	res := h.mustSync(t, picked, nil)
	if !res.Resumed || res.Kind != "full" {
		t.Fatalf("want the full run resumed: %+v", res)
	}
	// The crashed run's prefetch of page 3 may still reach the sim's log
	// after it returned, so count what the resumed run read instead.
	if res.Users != 2502-2*999 {
		t.Errorf("the resumed run read %d users, want the %d of the page left", res.Users, 2502-2*999)
	}
	if res.Plan.Created != 2502 {
		t.Errorf("created %d, want 2502", res.Plan.Created)
	}
	h.assertTruth(t, picked)

	// An incremental run that stops after its users page resumes with
	// the group changes, and applies both.
	must(t, h.RenameUser(genUser(h, 5), "Crash Rename"))
	must(t, h.RemoveMember(picked[0], genUser(h, 6)))
	_, err = h.sync(picked, func(o *steps.SyncOptions) {
		o.AfterPage = func(n int) error { return crash }
	})
	if !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	h.ResetRequests()
	res = h.mustSync(t, picked, nil)
	if !res.Resumed || res.Plan.Updated != 1 || res.Plan.Disabled != 1 {
		t.Fatalf("resumed incremental run: %+v", res)
	}
	if n := h.countPath("/users/delta"); n != 0 {
		t.Errorf("the resumed run read users/delta %d times, want 0", n)
	}
	h.assertTruth(t, picked)
}

func (h *syncTenant) countPath(part string) int {
	n := 0
	for _, r := range h.Requests() {
		if strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

func (h *syncTenant) assertEmpty(t *testing.T) {
	t.Helper()
	n := 0
	must(t, h.db.EachUser(context.Background(), func(store.DirUser) error { n++; return nil }))
	cur, err := h.db.Cursor(context.Background())
	must(t, err)
	if n != 0 || cur.UsersDelta != "" {
		t.Fatalf("the database changed: %d users, cursor %+v", n, cur)
	}
}

func TestSyncThrottleStorm(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 60, Groups: 10})
	picked := []string{h.group(t, "Sales Team 1"), h.group(t, "Legal Team 5")}
	h.SetFaults(sim.Faults{ThrottleEvery: 2, RetryAfter: 10 * time.Millisecond})
	h.mustSync(t, picked, nil)
	must(t, h.RenameUser(genUser(h, 0), "Storm"))
	h.mustSync(t, picked, nil)
	throttled := 0
	for _, r := range h.Requests() {
		if r.Status == 429 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("no request was throttled")
	}
	h.SetFaults(sim.Faults{})
	h.assertTruth(t, picked)
}

// snapshot is everything a refused or dry run must leave as it was.
func (h *syncTenant) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	must(t, h.db.EachUser(context.Background(), func(u store.DirUser) error {
		b.WriteString(u.ID + u.DisplayName + u.State + u.UpdatedAt.String() + "\n")
		return nil
	}))
	ms, err := h.db.Memberships(context.Background())
	must(t, err)
	for _, m := range ms {
		b.WriteString(m.GroupID + m.MemberID + "\n")
	}
	cur, err := h.db.Cursor(context.Background())
	must(t, err)
	b.WriteString(cur.GroupSet + cur.UsersDelta + cur.GroupsDelta)
	return b.String()
}

func TestSyncSafetyStopsMassDisable(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 200, Groups: 10})
	sales, legal := h.group(t, "Sales Team 1"), h.group(t, "Legal Team 5")
	h.mustSync(t, []string{sales, legal}, nil)
	before := h.snapshot(t)
	// Dropping Sales Team 1 disables its 21 users: a third of them.
	res, err := h.sync([]string{legal}, nil)
	var se *steps.SafetyError
	if !errors.As(err, &se) || se.Plan.Disabled != 21 || len(se.Plan.Changes) != 21 {
		t.Fatalf("want a safety stop with 21 users listed, got %v (%+v)", err, res)
	}
	if h.snapshot(t) != before {
		t.Fatal("a refused run changed the database")
	}
	h.assertTruth(t, []string{sales, legal})
	res = h.mustSync(t, []string{legal}, func(o *steps.SyncOptions) { o.AllowMassDisable = true })
	if res.Plan.Disabled != 21 {
		t.Fatalf("allowed run: %+v", res.Plan)
	}
	h.assertTruth(t, []string{legal})
}

func TestSyncDryRunWritesNothing(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 60, Groups: 10})
	picked := []string{h.group(t, "Sales Team 1")}
	dry := func(o *steps.SyncOptions) { o.DryRun = true }
	res := h.mustSync(t, picked, dry)
	if res.Plan.Created != 7 || len(res.Plan.Changes) != 7 {
		t.Fatalf("first dry run: %+v", res.Plan)
	}
	h.assertEmpty(t)
	h.mustSync(t, picked, nil)
	must(t, h.RemoveMember(picked[0], genUser(h, 0)))
	must(t, h.RenameUser(genUser(h, 10), "Dry Rename"))
	before := h.snapshot(t)
	res = h.mustSync(t, picked, dry)
	if res.Plan.Disabled != 1 || res.Plan.Updated != 1 {
		t.Fatalf("dry run: %+v (stopped %q)", res.Plan, res.Stopped)
	}
	if h.snapshot(t) != before {
		t.Fatal("a dry run changed the database")
	}
	h.mustSync(t, picked, func(o *steps.SyncOptions) { o.AllowMassDisable = true })
	h.assertTruth(t, picked)
}

// A full run reports its plan page by page: the counters only grow, the
// bar's total is the group's member count, and the last event is the
// applied plan. A throttled request shows in the retried count.
func TestSyncReportsLiveCounters(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 2500, Groups: 4})
	all := h.group(t, "All Users")
	h.SetFaults(sim.Faults{ThrottleEvery: 5, RetryAfter: 10 * time.Millisecond})
	var events []steps.SyncProgress
	res := h.mustSync(t, []string{all}, func(o *steps.SyncOptions) {
		o.Report = func(ev steps.Event) {
			if ev.Sync != nil {
				events = append(events, *ev.Sync)
			}
		}
	})
	h.SetFaults(sim.Faults{})
	var prev steps.SyncProgress
	pages := 0
	for _, e := range events {
		if e.Created < prev.Created || e.Users < prev.Users || e.Retried < prev.Retried {
			t.Fatalf("counters went back: %+v after %+v", e, prev)
		}
		if e.Phase == "read-groups" && e.Users > 0 {
			pages++
			if e.Total != 2502 || e.Created != e.Users {
				t.Errorf("mid-run: %+v, want 2502 in all, every user read planned as a create", e)
			}
		}
		prev = e
	}
	last := events[len(events)-1]
	p := res.Plan
	if pages < 3 || last.Phase != "done" || last.Created != p.Created || last.Disabled != p.Disabled || last.Unchanged != p.Unchanged {
		t.Fatalf("%d pages; last event %+v, plan %+v", pages, last, p)
	}
	if throttled := countStatus(h.Server, 429); last.Retried == 0 || last.Retried != throttled {
		t.Errorf("retried %d, the tenant throttled %d", last.Retried, throttled)
	}
}

func countStatus(srv *sim.Server, status int) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Status == status {
			n++
		}
	}
	return n
}

// A full run over a synced database plans what the incremental run plans
// for the same changes, and leaves the same rows: the two planners are
// two ways to the same answer, with the default removal rule and with a
// profile that deletes removed users at once.
func TestFullRunAgreesWithIncrementalRun(t *testing.T) {
	for _, spec := range []*steps.SyncSpec{nil, {Groups: "pick", OnRemoval: "delete"}} {
		name := "disable"
		if spec != nil {
			name = "delete"
		}
		t.Run(name, func(t *testing.T) { fullAgreesWithIncremental(t, spec) })
	}
}

func fullAgreesWithIncremental(t *testing.T, spec *steps.SyncSpec) {
	h := newSyncTenant(t, sim.Options{Users: 200, Groups: 10})
	sales, legal, finance := h.group(t, "Sales Team 1"), h.group(t, "Legal Team 5"), h.group(t, "Finance Team 4")
	picked := []string{sales, legal}
	both := genUser(h, 10)
	must(t, h.AddMember(legal, both))
	fullDB, err := store.OpenDirectory(t.TempDir())
	must(t, err)
	defer fullDB.Close()
	at := time.Now()
	common := func(o *steps.SyncOptions) { o.Spec, o.Now = spec, func() time.Time { return at } }
	onFullDB := func(o *steps.SyncOptions) { common(o); o.DB, o.Full = fullDB, true }
	h.mustSync(t, picked, common)
	h.mustSync(t, picked, onFullDB)

	newcomer := h.CreateUser("Nia Newcomer")
	must(t, h.AddMember(sales, newcomer))
	must(t, h.AddMember(sales, genUser(h, 1)))
	must(t, h.RemoveMember(sales, genUser(h, 20)))
	must(t, h.AddMember(finance, genUser(h, 11)))
	must(t, h.DisableUser(genUser(h, 14)))
	must(t, h.DeleteUser(genUser(h, 13)))
	must(t, h.RenameUser(genUser(h, 30), "Renamed R"))
	must(t, h.RemoveMember(legal, both))

	at = at.Add(time.Hour)
	inc := h.mustSync(t, picked, common)
	full := h.mustSync(t, picked, onFullDB)
	if inc.Kind != "incremental" || full.Kind != "full" {
		t.Fatalf("kinds: %s and %s", inc.Kind, full.Kind)
	}
	// Unchanged differs by design: an incremental run counts the users
	// the changes concern, a full run every user it reads.
	ip, fp := inc.Plan, full.Plan
	if ip.Created != fp.Created || ip.Updated != fp.Updated || ip.Disabled != fp.Disabled || ip.Deleted != fp.Deleted ||
		ip.ActiveBefore != fp.ActiveBefore || !slices.Equal(ip.Changes, fp.Changes) {
		t.Errorf("plans differ:\nincremental %+v\nfull        %+v", ip, fp)
	}
	if ip.Disabled == 0 || ip.Created == 0 || ip.Updated == 0 {
		t.Errorf("the changes planned nothing to compare: %+v", ip)
	}
	if spec == nil { // the truth helper knows the default rule only
		h.assertTruth(t, picked)
	}
	// Whole rows, but for when they were last written.
	rows := func(db *store.DirDB) []store.DirUser {
		var out []store.DirUser
		must(t, db.EachUser(context.Background(), func(u store.DirUser) error {
			u.UpdatedAt = time.Time{}
			out = append(out, u)
			return nil
		}))
		return out
	}
	a, b := rows(h.db), rows(fullDB)
	if len(a) != len(b) {
		t.Fatalf("%d users after the incremental run, %d after the full run", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if (x.DisabledAt == nil) != (y.DisabledAt == nil) || x.DisabledAt != nil && !x.DisabledAt.Equal(*y.DisabledAt) {
			t.Errorf("user %s: disabled at %v and %v", x.ID, x.DisabledAt, y.DisabledAt)
		}
		x.DisabledAt, y.DisabledAt = nil, nil
		if x != y {
			t.Errorf("user %d differs:\nincremental %+v\nfull        %+v", i, x, y)
		}
	}
	am, _ := h.db.Memberships(context.Background())
	bm, _ := fullDB.Memberships(context.Background())
	if !slices.Equal(am, bm) {
		t.Errorf("memberships differ: %d and %d", len(am), len(bm))
	}
}

// A picked group deleted in Entra is read as empty: its users leave it,
// and a user still in another picked group stays. A picked group that was
// never synced and is not found stops the run instead.
func TestSyncPickedGroupDeleted(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 200, Groups: 10})
	sales, legal := h.group(t, "Sales Team 1"), h.group(t, "Legal Team 5")
	picked := []string{sales, legal}
	both := genUser(h, 10) // in Sales Team 1, and in Legal Team 5 too
	must(t, h.AddMember(legal, both))
	h.mustSync(t, picked, nil)
	before, _ := h.db.Memberships(context.Background())
	salesOnly := 0
	for _, m := range before {
		if m.GroupID == sales && m.MemberID != both {
			salesOnly++
		}
	}

	must(t, h.DeleteGroup(sales))
	// A run stopped right after it found the group gone still says so
	// when it is resumed.
	found := false
	_, err := h.sync(picked, func(o *steps.SyncOptions) {
		o.Report = func(ev steps.Event) { found = found || strings.Contains(ev.Message, "no longer exists") }
		o.AfterPage = func(int) error {
			if found {
				return errors.New("crash")
			}
			return nil
		}
	})
	if !found || err == nil || !strings.Contains(err.Error(), "crash") {
		t.Fatalf("the run did not stop after finding the group gone: found %v, %v", found, err)
	}
	for _, full := range []bool{false, true} {
		res := h.mustSync(t, picked, func(o *steps.SyncOptions) { o.Full, o.AllowMassDisable = full, true })
		if !slices.Equal(res.GoneGroups, []string{sales}) {
			t.Fatalf("full=%v: gone %v, want Sales Team 1", full, res.GoneGroups)
		}
		if want := salesOnly; !full && res.Plan.Disabled != want {
			t.Errorf("disabled %d, want the %d users only Sales Team 1 held", res.Plan.Disabled, want)
		}
		h.assertTruth(t, []string{legal})
	}

	fresh, err := store.OpenDirectory(t.TempDir())
	must(t, err)
	defer fresh.Close()
	_, err = h.sync(picked, func(o *steps.SyncOptions) { o.DB = fresh })
	if err == nil || !strings.Contains(err.Error(), "was not found in Entra") {
		t.Fatalf("a never-synced missing group: %v", err)
	}
}

// A picked group deleted while a run is part way through reading it (here:
// after a crash, before the run is resumed) does not wedge every later run
// on its next page's 404: the run starts again, and finds the group gone.
func TestSyncGroupDeletedPartWayThrough(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 2500, Groups: 4})
	all := h.group(t, "All Users")
	picked := []string{all}
	h.mustSync(t, picked, nil)
	crash := errors.New("crash")
	_, err := h.sync(picked, func(o *steps.SyncOptions) {
		o.Full = true
		o.AfterPage = func(n int) error {
			if n == 2 { // the delta links, then the first page of users
				return crash
			}
			return nil
		}
	})
	if !errors.Is(err, crash) {
		t.Fatalf("want the crash, got %v", err)
	}
	must(t, h.DeleteGroup(all))
	res := h.mustSync(t, picked, func(o *steps.SyncOptions) { o.AllowMassDisable = true })
	if p := res.Plan; !res.Restarted || res.Kind != "full" || !slices.Equal(res.GoneGroups, picked) || p.Disabled == 0 || p.Disabled != p.ActiveBefore {
		t.Fatalf("after the group went: restarted %v, %s run, gone %v, disabled %d of %d active",
			res.Restarted, res.Kind, res.GoneGroups, p.Disabled, p.ActiveBefore)
	}
	h.assertTruth(t, nil)
	if again := h.mustSync(t, picked, nil); again.Plan.Disabled != 0 {
		t.Fatalf("the next run: %+v", again.Plan)
	}
}

// A profile that deletes removed users: after its days of grace a user
// disabled by an earlier run is marked deleted and counted as deleted;
// with no days of grace a removed user is deleted at once and counted
// once, as disabled.
func TestSyncDeletesAfterTheProfilesDays(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 60, Groups: 10})
	sales := h.group(t, "Sales Team 1")
	picked := []string{sales}
	at := time.Now()
	run := func(days int, after time.Duration) *steps.SyncResult {
		return h.mustSync(t, picked, func(o *steps.SyncOptions) {
			o.Spec = &steps.SyncSpec{Groups: "pick", OnRemoval: "delete", DeleteAfterDays: days}
			o.Now = func() time.Time { return at.Add(after) }
		})
	}
	state := func(id string) string {
		t.Helper()
		var got string
		must(t, h.db.EachUser(context.Background(), func(u store.DirUser) error {
			if u.ID == id {
				got = u.State
			}
			return nil
		}))
		return got
	}
	run(7, 0)
	leaver := genUser(h, 0)
	must(t, h.RemoveMember(sales, leaver))
	if p := run(7, 24*time.Hour).Plan; p.Disabled != 1 || p.Deleted != 0 || state(leaver) != "disabled" {
		t.Fatalf("the day after: disabled %d deleted %d, state %s", p.Disabled, p.Deleted, state(leaver))
	}
	if p := run(7, 5*24*time.Hour).Plan; p.Disabled != 0 || p.Deleted != 0 || state(leaver) != "disabled" {
		t.Fatalf("within the 7 days: disabled %d deleted %d, state %s", p.Disabled, p.Deleted, state(leaver))
	}
	if p := run(7, 9*24*time.Hour).Plan; p.Disabled != 0 || p.Deleted != 1 || state(leaver) != "deleted" {
		t.Fatalf("after the 7 days: disabled %d deleted %d, state %s", p.Disabled, p.Deleted, state(leaver))
	}
	other := genUser(h, 10)
	must(t, h.RemoveMember(sales, other))
	if p := run(0, 10*24*time.Hour).Plan; p.Disabled != 1 || p.Deleted != 0 || state(other) != "deleted" {
		t.Fatalf("no days of grace: disabled %d deleted %d, state %s", p.Disabled, p.Deleted, state(other))
	}
}

// A sync process killed (SIGKILL) part way through a full read loses
// nothing and duplicates nothing: the next run resumes at the page after
// the last one committed, and the database ends equal to the tenant.
func TestSyncResumesAfterTheProcessIsKilled(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 6000, Groups: 4})
	all := h.group(t, "All Users")
	h.SetFaults(sim.Faults{Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	job, _ := json.Marshal(childJob{Info: h.Info(), AppID: h.appID, Secret: h.secret, Group: all, Dir: dir, Pages: true})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(job))
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	sc := bufio.NewScanner(out)
	killedAfter := 0
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "PAGE "); ok && n == "4" {
			must(t, cmd.Process.Kill())
			killedAfter = 4
			break
		}
	}
	cmd.Wait()
	if killedAfter == 0 {
		t.Fatal("the child finished before it could be killed")
	}
	h.SetFaults(sim.Faults{})

	db, err := store.OpenDirectory(dir)
	must(t, err)
	defer db.Close()
	st, err := db.Staged(context.Background())
	if err != nil || st == nil || st.Kind != "full" {
		t.Fatalf("no staged full run after the kill: %+v %v", st, err)
	}
	h.db = db
	res := h.mustSync(t, []string{all}, nil)
	// Page 1 took the delta links; pages 2-4 (3 × 999 users) were
	// committed, maybe one more before the kill landed.
	if !res.Resumed || res.Plan.Created != 6002 || (res.Users != 6002-3*999 && res.Users != 6002-4*999) {
		t.Fatalf("resumed %v, read %d users, created %d; want the pages after the last committed, and every user once",
			res.Resumed, res.Users, res.Plan.Created)
	}
	h.assertTruth(t, []string{all})
}
