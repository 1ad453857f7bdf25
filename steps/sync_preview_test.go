package steps_test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// A real run stopped part way leaves its pages staged for the next real
// run. A preview in between (incremental or full) plans against the
// stored directory and leaves that stage as it was; the real run then
// resumes where it stopped and ends equal to the tenant.
func TestSyncPreviewLeavesAStoppedRunToResume(t *testing.T) {
	ctx := context.Background()
	h := newSyncTenant(t, sim.Options{Users: 2500, Groups: 4})
	picked := []string{h.group(t, "All Users")}
	h.mustSync(t, picked, nil)
	must(t, h.AddMember(picked[0], h.CreateUser("Nia Newcomer")))
	must(t, h.RenameUser(genUser(h, 5), "Renamed Meanwhile"))
	must(t, h.RemoveMember(picked[0], genUser(h, 6)))

	stopped := errors.New("stopped")
	_, err := h.sync(picked, func(o *steps.SyncOptions) {
		o.Full = true
		o.AfterPage = func(n int) error {
			if n == 3 { // the delta links, then two pages of users
				return stopped
			}
			return nil
		}
	})
	if !errors.Is(err, stopped) {
		t.Fatalf("want the stop, got %v", err)
	}
	staged, err := h.db.Staged(ctx)
	if err != nil || staged == nil || staged.Kind != "full" || len(staged.Walks) != 1 || staged.Walks[0].Link == "" {
		t.Fatalf("no full run staged part way: %+v %v", staged, err)
	}
	for _, full := range []bool{false, true} {
		res := h.mustSync(t, picked, func(o *steps.SyncOptions) { o.DryRun, o.Full = true, full })
		if p := res.Plan; res.Resumed || !res.DryRun || p.Created != 1 || p.Updated != 1 || p.Disabled != 1 {
			t.Errorf("preview (full %v): resumed %v, plan %+v; want 1 created, 1 updated, 1 disabled", full, res.Resumed, p)
		}
		if full && res.Kind != "full" || !full && res.Kind != "incremental" {
			t.Errorf("preview (full %v) was %s", full, res.Kind)
		}
		got, err := h.db.Staged(ctx)
		if err != nil || !reflect.DeepEqual(got, staged) {
			t.Fatalf("the preview changed the staged run:\n%+v (%v)\nwas\n%+v", got, err, staged)
		}
	}

	res := h.mustSync(t, picked, nil)
	const left = 2502 - 2*999
	if p := res.Plan; !res.Resumed || res.Kind != "full" || res.Users != left || p.Created != 1 || p.Updated != 1 || p.Disabled != 1 {
		t.Fatalf("resumed %v, %s run, read %d users (want %d), plan %+v", res.Resumed, res.Kind, res.Users, left, p)
	}
	h.assertTruth(t, picked)
	runs, err := h.db.Runs(ctx, 10)
	must(t, err)
	if len(runs) < 4 || runs[1].Kind != "dry-run" || runs[2].Kind != "dry-run" || runs[1].Updated != 1 {
		t.Errorf("the previews were not recorded as such: %+v", runs)
	}
}

// once closes a channel the first time it is called.
func once(ch chan struct{}) func() {
	var o sync.Once
	return func() { o.Do(func() { close(ch) }) }
}

// waitFor waits for ch, for a minute at most.
func waitFor(ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(time.Minute):
		return errors.New("timed out waiting for the other run")
	}
}

// A preview and a real full run at the same time, each with its own handle
// on the database as two processes have: the real run is applied while
// the preview is part way through its pages. Neither fails (no
// SQLITE_BUSY), the real run ends equal to the tenant, and the preview
// plans against the directory it started on, not half of each.
func TestSyncPreviewBesideARealFullRun(t *testing.T) {
	ctx := context.Background()
	h := newSyncTenant(t, sim.Options{Users: 6000, Groups: 4})
	picked := []string{h.group(t, "All Users")}
	h.mustSync(t, picked, nil)
	other, err := store.OpenDirectory(h.dir)
	must(t, err)
	defer other.Close()
	for k := range 3 {
		must(t, h.RenameUser(genUser(h, 100+k*2000), "Renamed Meanwhile"))
	}
	must(t, h.RemoveMember(picked[0], genUser(h, 10)))
	must(t, h.RemoveMember(picked[0], genUser(h, 5000)))
	must(t, h.AddMember(picked[0], h.CreateUser("Nia Newcomer")))

	run := func(afterPage func(int) error) (*steps.SyncResult, error) {
		return steps.SyncUsers(ctx, steps.SyncOptions{Graph: h.graph, DB: h.db, Groups: picked, Full: true, AfterPage: afterPage})
	}
	preview := func(afterPage func(int) error) (*steps.SyncResult, error) {
		return steps.SyncUsers(ctx, steps.SyncOptions{Graph: h.graph, DB: other, Groups: picked, Full: true, DryRun: true, AfterPage: afterPage})
	}
	previewRead, realDone := make(chan struct{}), make(chan struct{})
	previewReadNow, realDoneNow := once(previewRead), once(realDone)
	var wg sync.WaitGroup
	var realRes, prevRes *steps.SyncResult
	var realErr, prevErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer realDoneNow()
		realRes, realErr = run(func(n int) error {
			if n == 2 {
				return waitFor(previewRead)
			}
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		defer previewReadNow()
		prevRes, prevErr = preview(func(n int) error {
			if n == 3 { // the delta links, then two pages of users
				previewReadNow()
				return waitFor(realDone)
			}
			return nil
		})
	}()
	wg.Wait()
	if realErr != nil || prevErr != nil {
		t.Fatalf("real run: %v; preview: %v", realErr, prevErr)
	}
	if p := realRes.Plan; p.Created != 1 || p.Updated != 3 || p.Disabled != 2 {
		t.Errorf("real run: %+v, want 1 created, 3 updated, 2 disabled", p)
	}
	if p := prevRes.Plan; !prevRes.DryRun || p.Created != 1 || p.Updated != 3 || p.Disabled != 2 {
		t.Errorf("preview: %+v, want the plan against the directory it started on: 1 created, 3 updated, 2 disabled", p)
	}
	h.assertTruth(t, picked)
	if st, err := h.db.Staged(ctx); err != nil || st != nil {
		t.Fatalf("a stage is left: %+v %v", st, err)
	}

	// The same, left to run as they may: the preview's plan is the one
	// against the directory before the real run, or after it.
	for k := range 2 {
		must(t, h.RenameUser(genUser(h, 300+k*2000), "Renamed Again"))
	}
	h.SetFaults(sim.Faults{Latency: 2 * time.Millisecond})
	wg.Add(2)
	go func() { defer wg.Done(); realRes, realErr = run(nil) }()
	go func() { defer wg.Done(); prevRes, prevErr = preview(nil) }()
	wg.Wait()
	h.SetFaults(sim.Faults{})
	if realErr != nil || prevErr != nil {
		t.Fatalf("real run: %v; preview: %v", realErr, prevErr)
	}
	if p := realRes.Plan; p.Created+p.Disabled != 0 || p.Updated != 2 {
		t.Errorf("real run: %+v, want 2 updated", p)
	}
	if p := prevRes.Plan; p.Created+p.Disabled != 0 || p.Updated != 2 && p.Updated != 0 {
		t.Errorf("preview: %+v, want 2 updated (before the real run) or none (after it)", p)
	}
	h.assertTruth(t, picked)
}

// A directory database that is not one, or is damaged, stops a sync and a
// preview with the typed error that names it and says what to do.
func TestSyncReportsADamagedDirectory(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 200, Groups: 10})
	picked := []string{h.group(t, "Sales Team 1")}
	h.mustSync(t, picked, nil)
	h.db.Close()
	path := store.DirectoryPath(h.dir)

	// The users table's root page overwritten.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	must(t, err)
	var root, size int
	must(t, raw.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'users'`).Scan(&root))
	must(t, raw.QueryRow(`PRAGMA page_size`).Scan(&size))
	raw.Close()
	b, err := os.ReadFile(path)
	must(t, err)
	rand.New(rand.NewSource(1)).Read(b[(root-1)*size : root*size])
	must(t, os.WriteFile(path, b, 0o600))
	db, err := store.OpenDirectory(h.dir)
	must(t, err)
	defer db.Close()
	h.db = db
	var ce *store.CorruptDirectoryError
	for _, dry := range []bool{true, false} {
		_, err = h.sync(picked, func(o *steps.SyncOptions) { o.DryRun, o.Full = dry, true })
		if !errors.As(err, &ce) || ce.Path != path {
			t.Fatalf("dry %v: want a *store.CorruptDirectoryError for %s, got %T %v", dry, path, err, err)
		}
	}
	db.Close()

	// Random bytes.
	rand.New(rand.NewSource(2)).Read(b)
	must(t, os.WriteFile(path, b, 0o600))
	if _, err := store.OpenDirectory(h.dir); !errors.As(err, &ce) || ce.Path != path {
		t.Fatalf("want a *store.CorruptDirectoryError for %s, got %T %v", path, err, err)
	}
}
