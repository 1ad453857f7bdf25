package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// stagedState is what a real run has staged: its position and its rows.
func stagedState(t *testing.T, db *DirDB) string {
	t.Helper()
	st, err := db.Staged(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("%+v", st)
	for _, table := range []string{"main.next_users", "main.stage_members", "main.stage_users", "main.stage_changes"} {
		var n int
		if err := db.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf(" %s=%d", table, n)
	}
	return out
}

func users(t *testing.T, db *DirDB) map[string]DirUser {
	t.Helper()
	out := map[string]DirUser{}
	if err := db.EachUser(context.Background(), func(u DirUser) error { out[u.ID] = u; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// fullPage stages one page of a full run of group g and moves st on.
func fullPage(t *testing.T, db *DirDB, st *Stage, link string, us ...StagedUser) {
	t.Helper()
	p := &StagePage{Stage: *st, Now: time.UnixMilli(1000)}
	p.Stage.Link = link
	if link == "" {
		p.Stage.Step = "ready"
	}
	for _, u := range us {
		p.Users = append(p.Users, u)
		p.Members = append(p.Members, Membership{GroupID: "g", MemberID: u.ID})
	}
	if err := db.StagePage(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	*st = p.Stage
}

func user(id, name string) StagedUser {
	return StagedUser{ID: id, UserPrincipalName: id + "@x", DisplayName: name, AccountEnabled: true}
}

// A preview stages in a handle of its own: a real run's stage (a run
// stopped part way, which the next real run resumes) stays as it was, the
// preview never sees it, and the preview plans against the applied state
// it opened on even when a real run is applied meanwhile.
func TestPreviewStagesApart(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDirectory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	full := Stage{Kind: "full", GroupSet: "x", Groups: []string{"g"}, Dirty: []string{"g"}, Step: "read-groups"}
	st := full
	if err := db.BeginStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	fullPage(t, db, &st, "", user("a", "A"), user("b", "B"))
	if _, err := db.Reconcile(ctx, ReconcileOptions{Now: time.UnixMilli(1000)}); err != nil {
		t.Fatal(err)
	}
	applied := users(t, db)

	// A real run stopped after its first page: a renamed, c new.
	st = full
	if err := db.BeginStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	fullPage(t, db, &st, "page-2", user("a", "A renamed"), user("c", "C"))
	stopped := stagedState(t, db)

	p, err := db.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Staged(ctx); err != nil || got != nil {
		t.Fatalf("the preview sees a stage: %+v %v", got, err)
	}
	pst := full
	pst.DryRun = true
	if err := p.BeginStage(ctx, pst); err != nil {
		t.Fatal(err)
	}
	fullPage(t, p, &pst, "", user("a", "A renamed"))
	// Not dry in its options: a preview's handle never applies.
	plan, err := p.Reconcile(ctx, ReconcileOptions{Now: time.UnixMilli(2000)})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Created != 0 || plan.Updated != 1 || plan.Disabled != 1 {
		t.Errorf("preview plan %+v, want a updated and b disabled", plan)
	}
	if err := p.DiscardStage(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stagedState(t, db); got != stopped {
		t.Fatalf("the preview changed the real run's stage:\n%s\nwas\n%s", got, stopped)
	}
	if !reflect.DeepEqual(users(t, db), applied) {
		t.Fatal("the preview changed the users")
	}

	// A second preview opens, the real run resumes and is applied, and
	// then the preview reads: it plans against the state it opened on.
	p2, err := db.Preview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	got, err := db.Staged(ctx)
	if err != nil || got == nil || got.Link != "page-2" {
		t.Fatalf("the stopped run is not there to resume: %+v %v", got, err)
	}
	st = *got
	fullPage(t, db, &st, "", user("d", "D"))
	plan, err = db.Reconcile(ctx, ReconcileOptions{Now: time.UnixMilli(3000)})
	if err != nil || plan.Created != 2 || plan.Updated != 1 || plan.Disabled != 1 {
		t.Fatalf("resumed run: %+v %v, want c and d created, a updated, b disabled", plan, err)
	}
	pst = full
	pst.DryRun = true
	if err := p2.BeginStage(ctx, pst); err != nil {
		t.Fatal(err)
	}
	fullPage(t, p2, &pst, "", user("a", "A"), user("b", "B"))
	plan, err = p2.Reconcile(ctx, ReconcileOptions{Now: time.UnixMilli(4000)})
	if err != nil || plan.Created+plan.Updated+plan.Disabled != 0 || plan.Unchanged != 2 {
		t.Fatalf("preview opened before the apply: %+v %v, want a and b unchanged", plan, err)
	}
	if u := users(t, db); len(u) != 4 || u["a"].DisplayName != "A renamed" || u["b"].State != "disabled" {
		t.Fatalf("after the real run: %+v", u)
	}
	p.Close()
}

// A real run and previews on two handles of one file (two processes) at
// the same time: neither fails with SQLITE_BUSY. The real run's
// transactions read before they write; a preview records its runs.
func TestPreviewBesideARealRunIsNeverBusy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page := func(n, size int) []StagedUser {
		us := make([]StagedUser, size)
		for i := range us {
			us[i] = user(fmt.Sprintf("u%06d", n*size+i), fmt.Sprintf("User %d", n*size+i))
		}
		return us
	}
	const pages, size = 20, 200
	full := Stage{Kind: "full", GroupSet: "x", Groups: []string{"g"}, Dirty: []string{"g"}, Step: "read-groups"}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	stop := make(chan struct{})
	wg.Add(2)
	go func() { // the real runs
		defer wg.Done()
		defer close(stop)
		for run := 0; run < 3; run++ {
			st := full
			if err := a.BeginStage(ctx, st); err != nil {
				errs <- err
				return
			}
			for n := 0; n < pages; n++ {
				p := &StagePage{Stage: st, Users: page(n, size), Now: time.Now()}
				if n == pages-1 {
					p.Stage.Step = "ready"
				}
				if err := a.StagePage(ctx, p); err != nil {
					errs <- fmt.Errorf("real run %d page %d: %w", run, n, err)
					return
				}
				st = p.Stage
			}
			if _, err := a.Reconcile(ctx, ReconcileOptions{Now: time.Now()}); err != nil {
				errs <- fmt.Errorf("real run %d: %w", run, err)
				return
			}
		}
	}()
	go func() { // previews until the real runs are done
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, err := b.StartRun(ctx, "dry-run", time.Now())
			if err != nil {
				errs <- fmt.Errorf("preview %d: %w", i, err)
				return
			}
			p, err := b.Preview(ctx)
			if err != nil {
				errs <- fmt.Errorf("preview %d: %w", i, err)
				return
			}
			st := full
			err = p.BeginStage(ctx, st)
			for n := 0; n < 3 && err == nil; n++ {
				pg := &StagePage{Stage: st, Users: page(n, size), Now: time.Now()}
				err = p.StagePage(ctx, pg)
				st = pg.Stage
			}
			if err == nil {
				_, err = p.Reconcile(ctx, ReconcileOptions{Now: time.Now()})
			}
			p.Close()
			if err == nil {
				err = b.FinishRun(ctx, RunRecord{ID: id, Kind: "dry-run"})
			}
			if err != nil {
				errs <- fmt.Errorf("preview %d: %w", i, err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(users(t, a)); n != pages*size {
		t.Errorf("%d users, want %d", n, pages*size)
	}
}
