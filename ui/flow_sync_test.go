package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// TestFlowPickGroupsThenSync runs a saved connection's groups and sync
// screens as the admin would: a server-side search, a second page loaded
// on demand, two groups picked and saved, the preview, then the run with
// its counters live until the result.
func TestFlowPickGroupsThenSync(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(testNow)
	f.gf.groups = manyGroups(200) // "team" matches 198 of them: four pages
	plan := &store.SyncPlan{Created: 70, Updated: 12, Disabled: 3, Unchanged: 38, Changes: []store.PlannedChange{
		{Action: "create", UserPrincipalName: "ada@contoso.com", DisplayName: "Ada"},
		{Action: "update", UserPrincipalName: "cy@contoso.com", DisplayName: "Cy"},
		{Action: "disable", UserPrincipalName: "dee@contoso.com", DisplayName: "Dee"}}}
	f.gf.dryRun = &steps.SyncResult{Kind: "full", DryRun: true, Users: 118, Pages: 3, Plan: plan}
	f.gf.realRun = &steps.SyncResult{Kind: "full", Users: 120, Pages: 3, Took: 2 * time.Second, Plan: plan}
	f.gf.progress = []steps.SyncProgress{
		{Phase: "read-groups", Pages: 1, Users: 50, Total: 120, Created: 30, Updated: 5, Unchanged: 15},
		{Phase: "read-groups", Pages: 2, Users: 100, Total: 120, Created: 60, Updated: 10, Unchanged: 30, Retried: 1},
		{Phase: "apply", Pages: 3, Users: 120, Total: 120, Created: 70, Updated: 12, Disabled: 3, Unchanged: 38, Retried: 1},
	}
	f.gf.step, f.gf.hold = make(chan struct{}), make(chan struct{})

	tm := startProgram(t, f, 100, 30)
	waitFor(t, tm, "Your connections")
	tm.Type("g")
	waitFor(t, tm, "200 group(s) match · 50 loaded")

	tm.Type("team") // the search box has the keyboard
	waitFor(t, tm, "198 group(s) match · 50 loaded")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown}) // to the list
	for range 3 {
		tm.Send(tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	waitFor(t, tm, "198 group(s) match · 100 loaded")
	var searches []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "SearchGroups") {
			searches = append(searches, c)
		}
	}
	// The search is the server's, one request for the typed word; the
	// second page is asked for with the first page's next link.
	if want := []string{`SearchGroups "" 0`, `SearchGroups "team" 0`, `SearchGroups "team" 50`}; !slices.Equal(searches, want) {
		t.Fatalf("searches = %q, want %q", searches, want)
	}

	space := tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	tm.Send(space) // the last of the first page
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
	tm.Send(space) // the first of the second
	waitFor(t, tm, "2 selected")
	enter(tm)
	waitFor(t, tm, "2 picked: Team 00051, Team 00052")
	if !slices.Contains(f.Calls(), "PickGroups g-00051,g-00052") {
		t.Fatalf("calls = %q", f.Calls())
	}

	tm.Type("s")
	waitFor(t, tm, "118 users read · nothing written yet")
	waitFor(t, tm, "enter runs the sync")
	if n := countCalls(f.Calls(), "Sync dry=false"); n != 0 {
		t.Fatalf("a real run started before the preview was confirmed")
	}
	enter(tm)
	waitFor(t, tm, "page 1 · 50 of 120 users read")
	waitFor(t, tm, "Created      30")
	waitFor(t, tm, "Disabled     counted after the last page")
	f.gf.step <- struct{}{}
	waitFor(t, tm, "page 2 · 100 of 120 users read")
	waitFor(t, tm, "Created      60")
	waitFor(t, tm, "Errors       0 · 1 requests retried")
	f.gf.step <- struct{}{}
	waitFor(t, tm, "apply         page 3 · 120 of 120 users read")
	waitFor(t, tm, "Disabled     3")
	close(f.gf.hold)
	waitFor(t, tm, "✓ Synced · full run · 3 pages · 120 users in 2s")

	tm.Type("q")
	fm, frame := finalFrame(t, tm)
	if fm.result != nil {
		t.Fatalf("Run would return %v", fm.result)
	}
	if n := countCalls(f.Calls(), "Sync dry=false allow=false"); n != 1 {
		t.Fatalf("%d real runs; calls %q", n, f.Calls())
	}
	golden.RequireEqual(t, frame)
}
