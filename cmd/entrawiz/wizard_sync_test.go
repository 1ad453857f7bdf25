package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

// TestWizardBackendGroupsAndSync drives the wizard's picker and sync calls
// against the simulated tenant, the same calls the picker and sync screens
// make (those screens are tested with a fake backend).
func TestWizardBackendGroupsAndSync(t *testing.T) {
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	_, res := c.mustSetup("directory-sync")
	var errOut bytes.Buffer
	f := &factory{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut,
		Secrets: func() store.Secrets { return c.keys }, Now: time.Now, Backoff: c.backoff,
		Global: &globalOptions{LoginURL: tn.info.LoginURL, GraphURL: tn.info.GraphURL, CAFile: tn.info.CAFile, ConfigDir: c.dir}}
	w := wizardBackend(t, f)
	ctx := context.Background()
	conn := res.Connection

	page, err := w.SearchGroups(ctx, conn, graphapi.GroupQuery{Search: "Legal"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Groups) != 1 || page.Groups[0].DisplayName != "Legal Team 5" {
		t.Fatalf("search Legal: %+v", page.Groups)
	}
	legal := page.Groups[0].ID
	counts, err := w.GroupCounts(ctx, conn, legal)
	if err != nil {
		t.Fatal(err)
	}
	// The same group as TestSyncCommandsEndToEnd: 8 users at any depth,
	// 4 of them through the one nested group.
	if counts.Users != 8 || counts.Nested != 1 {
		t.Fatalf("counts: %+v, want 8 users and 1 nested group", counts)
	}
	users := int(counts.Users)
	if _, err := w.PickGroups(ctx, conn, []string{legal}); err != nil {
		t.Fatal(err)
	}

	preview, err := w.Sync(ctx, conn, ui.SyncRequest{DryRun: true}, func(steps.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if preview.Plan == nil || preview.Plan.Created != users {
		t.Fatalf("preview: %+v, want %d creates", preview.Plan, users)
	}
	run, err := w.Sync(ctx, conn, ui.SyncRequest{}, func(steps.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if run.Plan.Created != users || run.DryRun {
		t.Fatalf("run: %+v", run.Plan)
	}
	again, err := w.Sync(ctx, conn, ui.SyncRequest{}, func(steps.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if again.Plan.Created+again.Plan.Updated+again.Plan.Disabled != 0 {
		t.Fatalf("a second sync with no change in the tenant changed something: %+v", again.Plan)
	}
	runs, err := w.SyncRuns(ctx, conn, 10)
	if err != nil {
		t.Fatal(err)
	}
	var real int
	for _, r := range runs {
		if r.Kind != "dry-run" {
			real++
		}
	}
	if real != 2 {
		t.Fatalf("runs: %+v, want 2 real runs recorded", runs)
	}
}
