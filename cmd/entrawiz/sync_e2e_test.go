package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/store"
)

type groupsListOut struct {
	Groups []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Users       int64  `json:"users"`
		Picked      bool   `json:"picked"`
	} `json:"groups"`
	NextLink string `json:"nextLink"`
}

type syncOut struct {
	Result struct {
		Kind string `json:"kind"`
		Plan struct {
			Created, Updated, Disabled int
			Changes                    []struct{ Action, ID, UserPrincipalName string }
		} `json:"plan"`
	} `json:"result"`
	Error *struct{ Message string } `json:"error"`
}

// In startTenant's sim (20 users, 5 groups) generated user k is in group
// k%5: "Sales Team 1" holds users 0, 5, 10, 15 and Joni; "Legal Team 5"
// holds users 4, 9, 14, 19 and the group "Finance Team 4" (3, 8, 13, 18).
func TestSyncCommandsEndToEnd(t *testing.T) {
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	ids := tn.UserIDs()
	gen := func(k int) string { return ids[2+k] }

	r := c.run("groups", "list", "--search", "Team", "--top", "2", "--json")
	r.mustSucceed(t)
	var page groupsListOut
	r.decode(t, &page)
	if len(page.Groups) != 2 || page.NextLink == "" {
		t.Fatalf("first page: %+v", page)
	}
	r = c.run("groups", "list", "--search", "Legal", "--json")
	r.mustSucceed(t)
	r.decode(t, &page)
	if len(page.Groups) != 1 || page.Groups[0].DisplayName != "Legal Team 5" || page.Groups[0].Users != 8 {
		t.Fatalf("search Legal: %+v", page)
	}
	legal := page.Groups[0].ID
	sales, _ := tn.GroupID("Sales Team 1")

	c.run("groups", "pick", "00000000-0000-0000-0000-000000000001").mustFail(t, exitUsage)
	c.run("groups", "pick", sales, legal, "--json").mustSucceed(t)

	var out syncOut
	r = c.run("sync", "--dry-run", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Plan.Created != 13 || len(out.Result.Plan.Changes) != 13 {
		t.Fatalf("dry run: %+v", out.Result)
	}
	if r := c.run("export", "--format", "json"); strings.Contains(r.stdout, "@") {
		t.Fatalf("a dry run wrote users:\n%s", r.stdout)
	}
	if r := c.run("status", "--json"); strings.Contains(r.stdout, "lastSync") {
		t.Fatalf("a dry run was recorded as the last sync:\n%s", r.stdout)
	}

	r = c.run("sync", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Kind != "full" || out.Result.Plan.Created != 13 {
		t.Fatalf("first sync: %+v", out.Result)
	}

	if err := tn.RenameUser(gen(5), "Renamed Person"); err != nil {
		t.Fatal(err)
	}
	if err := tn.AddMember(legal, gen(1)); err != nil { // joins
		t.Fatal(err)
	}
	r = c.run("sync", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Kind != "incremental" || out.Result.Plan.Created != 1 || out.Result.Plan.Updated != 1 {
		t.Fatalf("second sync: %+v", out.Result)
	}
	r = c.run("export", "--format", "csv")
	r.mustSucceed(t)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 15 || !strings.Contains(r.stdout, "Renamed Person") {
		t.Fatalf("export:\n%s", r.stdout)
	}
	r = c.run("export", "--format", "json")
	r.mustSucceed(t)
	var users []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) != 14 {
		t.Fatalf("export json: %v\n%s", err, r.stdout)
	}

	// Dropping Sales Team 1 would disable 5 of 14 users: stopped.
	c.run("groups", "pick", legal).mustSucceed(t)
	r = c.run("sync")
	msg := r.mustFail(t, exitSyncSafety)
	mustContain(t, r.stdout+msg, "disable", "--allow-mass-disable")
	if n := strings.Count(r.stdout, "disable "); n != 5 {
		t.Errorf("want the 5 users listed, got:\n%s", r.stdout)
	}
	r = c.run("sync", "--allow-mass-disable", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Plan.Disabled != 5 {
		t.Fatalf("allowed sync: %+v", out.Result)
	}
	r = c.run("status")
	r.mustSucceed(t)
	mustContain(t, r.stdout, "synced", "5 disabled")
}

// TestSyncEvery runs sync on a short schedule until interrupted: every run
// is recorded, and the interruption exits 130.
func TestSyncEvery(t *testing.T) {
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	sales, _ := tn.GroupID("Sales Team 1")
	c.run("groups", "pick", sales).mustSucceed(t)

	// As main does on SIGINT, once three runs have reported (or after a
	// time no machine should need).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(time.Minute, cancel)
	out := &cancelAfter{word: "synced", n: 3, cancel: cancel}
	var errOut bytes.Buffer
	f := &factory{Global: &globalOptions{}, In: strings.NewReader(""), Out: out, ErrOut: &errOut,
		Secrets: func() store.Secrets { return c.keys }, Now: time.Now, Backoff: c.backoff, ShortSyncIntervals: true}
	root := newRootCmd(ctx, f)
	root.SetArgs([]string{"sync", "--every", "200ms", "--login-url", tn.info.LoginURL, "--graph-url", tn.info.GraphURL,
		"--ca-file", tn.info.CAFile, "--config-dir", c.dir})
	err := root.ExecuteContext(ctx)
	if code := exitCode(err); code != exitInterrupted {
		t.Fatalf("exit %d (%v), want %d\n%s", code, err, exitInterrupted, errOut.String())
	}
	db, err := store.OpenDirectory(store.ConnectionDirectory(c.dir, "contoso.onmicrosoft.com/directory-sync"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 3 || runs[len(runs)-1].Kind != "full" || runs[0].Kind != "incremental" && runs[0].Error == "" {
		t.Fatalf("runs: %+v\n%s", runs, errOut.String())
	}
	if n := strings.Count(out.String(), "synced"); n < 3 {
		t.Fatalf("want a summary a run, got:\n%s", out.String())
	}
}

// Two connections sync their own groups into their own databases: one's
// run never disables the other's users.
func TestSyncConnectionsKeepTheirOwnUsers(t *testing.T) {
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	sales, _ := tn.GroupID("Sales Team 1")
	legal, _ := tn.GroupID("Legal Team 5")
	first := "contoso.onmicrosoft.com/directory-sync"
	c.run("groups", "pick", sales, "--connection", first).mustSucceed(t)
	c.run("sync", "--connection", first).mustSucceed(t)

	c.mustSetup("sso-sync")
	second := "contoso.onmicrosoft.com/sso-sync"
	c.run("groups", "pick", legal, "--connection", second).mustSucceed(t)
	var out syncOut
	r := c.run("sync", "--connection", second, "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Kind != "full" || out.Result.Plan.Created != 8 || out.Result.Plan.Disabled != 0 {
		t.Fatalf("the second connection's first sync (it must not take the first's database): %+v", out.Result)
	}
	r = c.run("sync", "--connection", first, "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Kind != "incremental" || out.Result.Plan.Disabled != 0 || out.Result.Plan.Created != 0 {
		t.Fatalf("the first connection, after the second's sync: %+v", out.Result)
	}
	for conn, want := range map[string]int{first: 5, second: 8} {
		r := c.run("export", "--format", "csv", "--connection", conn)
		r.mustSucceed(t)
		if n := strings.Count(strings.TrimSpace(r.stdout), "\n"); n != want {
			t.Errorf("%s exports %d users, want %d", conn, n, want)
		}
	}
	c.run("export").mustFail(t, exitUsage) // which connection?
}

// A profile that syncs the group it creates has that group picked by
// setup: the first sync needs no pick, and other groups are extra groups.
func TestSyncOfTheProfilesOwnGroup(t *testing.T) {
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup(filepath.Join("..", "..", "docs", "profiles", "password-manager.json"))
	own, err := tn.GroupID("Password Manager Users")
	if err != nil {
		t.Fatal(err)
	}
	ids := tn.UserIDs()
	for _, u := range ids[2:5] {
		if err := tn.AddMember(own, u); err != nil {
			t.Fatal(err)
		}
	}
	var out syncOut
	r := c.run("sync", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Plan.Created != 3 {
		t.Fatalf("first sync of the profile's group: %+v", out.Result)
	}
	// The password manager allows extra groups beside its sync group:
	// they bring no users of their own.
	sales, _ := tn.GroupID("Sales Team 1")
	r = c.run("groups", "pick", sales)
	r.mustSucceed(t)
	mustContain(t, r.stdout, "Password Manager Users", "extra group")
	r = c.run("sync", "--full", "--json")
	r.mustSucceed(t)
	r.decode(t, &out)
	if out.Result.Plan.Created != 0 || out.Result.Plan.Disabled != 0 {
		t.Fatalf("a sync with an extra group changed users: %+v", out.Result.Plan)
	}
	c.run("groups", "pick", own).mustSucceed(t)
}

// cancelAfter is an output that cancels once word was written n times.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	word   string
	n      int
	cancel func()
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Count(w.buf.String(), w.word) >= w.n {
		w.cancel()
	}
	return len(p), nil
}

func (w *cancelAfter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
