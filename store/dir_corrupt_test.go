package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"
)

// assertCorrupt fails unless err is a *CorruptDirectoryError for the
// database in dir whose message names the file, says it was left as it
// was, and gives the remedy.
func assertCorrupt(t *testing.T, err error, dir string) {
	t.Helper()
	var ce *CorruptDirectoryError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *CorruptDirectoryError, got %T: %v", err, err)
	}
	path := DirectoryPath(dir)
	if ce.Path != path {
		t.Errorf("path %q, want %q", ce.Path, path)
	}
	for _, want := range []string{path, "left untouched", "move it aside", "directory.db-wal", "next sync rebuilds it with a full run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err.Error(), want)
		}
	}
}

// A file that is not an SQLite database, whatever its size, is reported
// as damaged when it is opened, and left as it was.
func TestOpenDirectoryReportsAFileThatIsNoDatabase(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, size := range []int{1, 15, 100, 4096, 64 << 10} {
		for _, header := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d-header-%v", size, header), func(t *testing.T) {
				dir := t.TempDir()
				b := make([]byte, size)
				r.Read(b)
				if header && size > len(sqliteMagic) {
					copy(b, sqliteMagic)
				}
				if err := os.WriteFile(DirectoryPath(dir), b, 0o644); err != nil {
					t.Fatal(err)
				}
				db, err := OpenDirectory(dir)
				if err == nil {
					db.Close()
				}
				assertCorrupt(t, err, dir)
				after, _ := os.ReadFile(DirectoryPath(dir))
				if !bytes.Equal(after, b) {
					t.Fatal("the file was changed")
				}
			})
		}
	}
}

// damageTable overwrites the root page of a table of the (closed)
// database in dir with random bytes, and returns the file's content.
func damageTable(t *testing.T, dir, table string) []byte {
	t.Helper()
	db, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	var root int
	if err := db.db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = ?`, table).Scan(&root); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(DirectoryPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	rand.New(rand.NewSource(2)).Read(b[(root-1)*pageSize : root*pageSize])
	if err := os.WriteFile(DirectoryPath(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// A database damaged where the users are opens, but reading the users
// (export) fails with the typed error rather than list fewer users, and
// so do a preview (which leaves the file as it was) and a run.
func TestDamagedUsersAreReportedNotSkipped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, st := openStaged(t, dir)
	var us []StagedUser
	for i := range 3000 {
		us = append(us, user(fmt.Sprintf("u%05d", i), strings.Repeat("n", 40)))
	}
	fullPage(t, db, &st, "", us...)
	if _, err := db.Reconcile(ctx, ReconcileOptions{Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	damaged := damageTable(t, dir, "users")

	db, err := OpenDirectory(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	n := 0
	err = db.EachUser(ctx, func(DirUser) error { n++; return nil })
	assertCorrupt(t, err, dir)
	_, err = db.Preview(ctx)
	assertCorrupt(t, err, dir)
	db.Close()
	after, _ := os.ReadFile(DirectoryPath(dir))
	if !bytes.Equal(after, damaged) {
		t.Fatal("the damaged file was changed")
	}

	// A run stages its first page, where it compares with the users.
	if db, err = OpenDirectory(dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st.Link, st.Step = "", "read-groups"
	if err := db.BeginStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	err = db.StagePage(ctx, &StagePage{Stage: st, Users: us[:10], Now: time.Now()})
	assertCorrupt(t, err, dir)
}

// EachUser returns the callback's error, and stops there.
func TestEachUserReturnsTheCallbacksError(t *testing.T) {
	ctx := context.Background()
	db, st := openStaged(t, t.TempDir())
	defer db.Close()
	fullPage(t, db, &st, "", user("a", "A"), user("b", "B"))
	if _, err := db.Reconcile(ctx, ReconcileOptions{Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	full := errors.New("disk full")
	n := 0
	err := db.EachUser(ctx, func(DirUser) error { n++; return full })
	if !errors.Is(err, full) || n != 1 {
		t.Fatalf("got %v after %d users, want the callback's error after 1", err, n)
	}
}
