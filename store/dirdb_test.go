package store

import (
	"context"
	"os"
	"testing"
)

func TestOpenDirectoryIsPrivateAndWAL(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(DirectoryPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	checkPerm(t, fi, 0o600)
	var mode string
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	var size int
	if err := db.db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil || size != pageSize {
		t.Errorf("page size %d (%v), want %d", size, err, pageSize)
	}
	// Opened again, it keeps both.
	db.Close()
	if db, err = OpenDirectory(dir); err != nil {
		t.Fatal(err)
	}
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("reopened: journal mode %q (%v), want wal", mode, err)
	}
	if st, err := db.Staged(context.Background()); err != nil || st != nil {
		t.Errorf("a new database has a staged run: %+v %v", st, err)
	}
	if cur, err := db.Cursor(context.Background()); err != nil || cur != (SyncCursor{}) {
		t.Errorf("a new database has a cursor: %+v %v", cur, err)
	}
}

func TestStagePageIsResumable(t *testing.T) {
	ctx := context.Background()
	db, st := openStaged(t, t.TempDir())
	defer db.Close()
	users := make([]StagedUser, 250)
	members := make([]Membership, 250)
	for i := range users {
		users[i] = StagedUser{ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), AccountEnabled: true}
		members[i] = Membership{GroupID: "g", MemberID: users[i].ID}
	}
	st.Link = "next-page"
	// The same page twice (a resumed run fetching it again) stays one copy,
	// planned and counted once.
	for range 2 {
		p := &StagePage{Users: users, Members: members, Stage: st}
		if err := db.StagePage(ctx, p); err != nil {
			t.Fatal(err)
		}
		if st = p.Stage; st.Planned.Created != 250 {
			t.Fatalf("planned %+v, want 250 creates", st.Planned)
		}
	}
	got, err := db.Staged(ctx)
	if err != nil || got.Link != "next-page" {
		t.Fatalf("staged: %+v %v", got, err)
	}
	got.Step = "ready"
	if err := db.StagePage(ctx, &StagePage{Stage: *got}); err != nil {
		t.Fatal(err)
	}
	plan, err := db.Reconcile(ctx, ReconcileOptions{})
	if err != nil || plan.Created != 250 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	ms, _ := db.Memberships(ctx)
	if len(ms) != 250 {
		t.Fatalf("%d memberships, want 250", len(ms))
	}
}

// openStaged opens the directory database in dir with a full run of one
// group staged, as a sync has it when its first page arrives.
func openStaged(t *testing.T, dir string) (*DirDB, Stage) {
	t.Helper()
	db, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := Stage{Kind: "full", GroupSet: "x", Groups: []string{"g"}, Dirty: []string{"g"}, Step: "read-groups"}
	if err := db.BeginStage(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return db, st
}
