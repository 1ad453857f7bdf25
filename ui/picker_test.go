package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// toPicker opens the dashboard on a tenant of n groups and presses g.
func toPicker(t *testing.T, f *fakeBackend, w, h int) *driver {
	t.Helper()
	f.conns = testConnections(testNow)
	d := newDriver(t, f, Options{Width: w, Height: h})
	d.press("g")
	p, ok := d.m.screen.(*picker)
	if !ok {
		t.Fatalf("g did not open the picker:\n%s", d.screen())
	}
	p.delay = 5 * time.Millisecond // the driver waits 60ms for quiet
	return d
}

func groupsFakeBackend(t *testing.T, n int) *fakeBackend {
	f := newFake(t)
	f.gf.groups = manyGroups(n)
	return f
}

func TestPickerSearchIsDebouncedAndServerSide(t *testing.T) {
	f := groupsFakeBackend(t, 100000)
	d := toPicker(t, f, 80, 24)
	d.contains("Pick the groups to sync", "100000 group(s) match · 50 loaded", "Team 00000")
	counts := countCalls(f.Calls(), "GroupCounts")
	if counts == 0 || counts > d.m.screen.(*picker).visible() {
		t.Fatalf("%d counts fetched; want only the visible rows", counts)
	}
	d.typeText("sales")
	var searches []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "SearchGroups") {
			searches = append(searches, c)
		}
	}
	if want := []string{`SearchGroups "" 0`, `SearchGroups "sales" 0`}; !slices.Equal(searches, want) {
		t.Fatalf("searches = %q, want %q (one per typed word)", searches, want)
	}
	d.contains("2 group(s) match", "Sales EMEA", "Sales US")
	d.lacks("Team 00000")
}

func TestPickerPagesOnDemand(t *testing.T) {
	f := groupsFakeBackend(t, 100000)
	d := toPicker(t, f, 80, 24)
	d.press("down") // from the search box to the list
	for range 45 {
		d.press("down")
	}
	if n := countCalls(f.Calls(), `SearchGroups "" 50`); n != 1 {
		t.Fatalf("next page asked %d times; calls %v", n, f.Calls())
	}
	d.contains("100 loaded")
	if countCalls(f.Calls(), `SearchGroups "" 100`) != 0 {
		t.Fatal("a page was loaded before it was needed")
	}
}

func TestPickerSelectsWithinTheLimitAndSaves(t *testing.T) {
	f := groupsFakeBackend(t, 30)
	f.gf.nested = map[string]int{"g-00001": 3}
	f.profiles[0].Sync.MaxGroups = 2
	d := toPicker(t, f, 80, 24)
	d.contains("0 selected of at most 2", "3 nested group(s)", "users")
	d.press("down", "space", "down", "space")
	d.contains("2 selected of at most 2")
	d.press("down", "space")
	d.contains("allows at most 2 group(s)", "2 selected")
	d.press("up", "space") // deselect the second
	d.contains("1 selected")
	d.press("down", "space")
	d.press("enter")
	if !slices.Contains(f.Calls(), "PickGroups g-00000,g-00002") {
		t.Fatalf("calls = %v", f.Calls())
	}
	if _, ok := d.m.screen.(*dashboard); !ok {
		t.Fatalf("save did not return to the dashboard:\n%s", d.screen())
	}
}

func TestPickerEscGoesBack(t *testing.T) {
	d := toPicker(t, groupsFakeBackend(t, 10), 80, 24)
	d.press("esc", "esc")
	if _, ok := d.m.screen.(*dashboard); !ok {
		t.Fatalf("esc did not return to the dashboard:\n%s", d.screen())
	}
}

func TestDashboardShowsPickedGroupsAndLastSync(t *testing.T) {
	f := newFake(t)
	conns := testConnections(testNow)
	conns[0].State.Groups = []steps.PickedGroup{{ID: "g1", DisplayName: "Sales EMEA"}, {ID: "g2", DisplayName: "Sales US"}}
	steps.RecordSync(&conns[0], testNow, &steps.SyncResult{Kind: "full", Plan: &store.SyncPlan{Created: 12, Unchanged: 3}}, nil)
	f.conns = conns
	d := newDriver(t, f, Options{Width: 120, Height: 40})
	d.contains("2 picked: Sales EMEA, Sales US", "full: 12 created, 0 updated, 0 disabled, 3 unchanged", "g pick groups", "s sync")
}

func syncFakeBackend(t *testing.T) *fakeBackend {
	f := newFake(t)
	f.conns = testConnections(testNow)
	plan := &store.SyncPlan{Created: 2, Updated: 1, Disabled: 1, Unchanged: 7, Changes: []store.PlannedChange{
		{Action: "create", UserPrincipalName: "ada@contoso.com", DisplayName: "Ada"},
		{Action: "create", UserPrincipalName: "bob@contoso.com", DisplayName: "Bob"},
		{Action: "update", UserPrincipalName: "cy@contoso.com", DisplayName: "Cy"},
		{Action: "disable", UserPrincipalName: "dee@contoso.com", DisplayName: "Dee"}}}
	f.gf.dryRun = &steps.SyncResult{Kind: "full", DryRun: true, Users: 10, Plan: plan}
	f.gf.realRun = &steps.SyncResult{Kind: "full", Users: 10, Pages: 2, Took: 1500 * time.Millisecond, Plan: plan}
	f.gf.progress = []steps.SyncProgress{{Phase: "read-groups", Pages: 1, Users: 5}, {Phase: "read-groups", Pages: 2, Users: 10}}
	f.gf.runs = []store.RunRecord{{ID: 1, Started: testNow.Add(-time.Hour), Kind: "incremental", Created: 4, Unchanged: 6}}
	return f
}

func TestSyncPreviewsBeforeTheRun(t *testing.T) {
	f := syncFakeBackend(t)
	d := newDriver(t, f, Options{Width: 80, Height: 30})
	d.press("s")
	d.contains("Preview", "nothing written yet", "Created      2", "Updated      1", "Disabled     1", "Unchanged    7",
		"create   ada@contoso.com", "disable  dee@contoso.com", "Last runs", "incremental", "enter runs the sync")
	if countCalls(f.Calls(), "Sync dry=false") != 0 {
		t.Fatal("a real run started before the preview was confirmed")
	}
	d.press("enter")
	if countCalls(f.Calls(), "Sync dry=false") != 1 {
		t.Fatalf("calls = %v", f.Calls())
	}
	d.contains("✓ Synced", "2 pages · 10 users", "Created      2")
}

// runningSyncScreen is a 78×22 sync screen whose preview read 2000 users,
// with a run begun at *now.
func runningSyncScreen(now *time.Time) *syncScreen {
	c := &common{styles: newStyles(true), keys: newKeyMap(), now: func() time.Time { return *now }}
	s := newSyncScreen(c, "contoso/directory-sync")
	s.SetSize(78, 22)
	s.done(syncDoneMsg{req: SyncRequest{DryRun: true}, res: &steps.SyncResult{Users: 2000, Plan: &store.SyncPlan{Created: 2000}}})
	s.begin(SyncRequest{}, *now)
	return s
}

func TestSyncProgressUpdatesTheCounters(t *testing.T) {
	now := testNow
	s := runningSyncScreen(&now)
	now = now.Add(2 * time.Second)
	s.event(steps.Event{Step: "sync", Kind: steps.StepProgress, Message: "page 1: 999 users read",
		Sync: &steps.SyncProgress{Phase: "read-groups", Pages: 1, Users: 999}})
	s.event(steps.Event{Step: "sync", Kind: steps.StepWaiting, Message: "throttled: next try in 2s"})
	v := s.View()
	for _, want := range []string{"syncing", "page 1 · 999 of 2000 users read · 500 users/s", "50%", "Errors       1 · 0 requests retried — throttled",
		"expected from the preview: 2000 created"} {
		if !strings.Contains(v, want) {
			t.Fatalf("view lacks %q:\n%s", want, v)
		}
	}
	if hasColour(v) {
		t.Fatalf("the no-colour styles let colour through:\n%q", v)
	}
	s.event(steps.Event{Step: "sync", Kind: steps.StepProgress, Sync: &steps.SyncProgress{Phase: "read-groups", Pages: 2, Users: 1998}})
	if v := s.View(); !strings.Contains(v, "page 2 · 1998 of 2000 users read") {
		t.Fatalf("second page not shown:\n%s", v)
	}
}

func TestSyncShowsTheEnginesLiveCounters(t *testing.T) {
	now := testNow
	s := runningSyncScreen(&now)
	now = now.Add(4 * time.Second)
	stages := []struct {
		name string
		p    steps.SyncProgress
		want []string
	}{
		{"the groups' count sizes the bar, not the preview's",
			steps.SyncProgress{Phase: "read-groups", Pages: 1, Users: 1000, Total: 4000, Created: 600, Updated: 100, Unchanged: 300, Retried: 2},
			[]string{" 25%", "page 1 · 1000 of 4000 users read · 250 users/s", "Created      600", "Updated      100",
				"Disabled     counted after the last page", "Unchanged    300", "Errors       0 · 2 requests retried"}},
		{"the counters grow page by page",
			steps.SyncProgress{Phase: "read-groups", Pages: 2, Users: 2000, Total: 4000, Created: 1300, Updated: 150, Unchanged: 550, Retried: 5},
			[]string{" 50%", "page 2 · 2000 of 4000 users read · 500 users/s", "Created      1300", "Updated      150",
				"Unchanged    550", "Errors       0 · 5 requests retried"}},
		{"users to disable are known once every page is read",
			steps.SyncProgress{Phase: "apply", Pages: 4, Users: 4000, Total: 4000, Created: 2600, Updated: 300, Disabled: 7, Unchanged: 1100, Retried: 5},
			[]string{" 99%", "apply         page 4 · 4000 of 4000 users read", "Disabled     7", "Unchanged    1100"}},
		{"done is the whole bar",
			steps.SyncProgress{Phase: "done", Pages: 4, Users: 4000, Total: 4000, Created: 2600, Updated: 300, Disabled: 7, Unchanged: 1100, Retried: 5},
			[]string{"100%", "Disabled     7"}},
	}
	for _, st := range stages {
		s.event(steps.Event{Step: "sync", Kind: steps.StepProgress, Sync: &st.p})
		v := ansi.Strip(s.View())
		for _, want := range st.want {
			if !strings.Contains(v, want) {
				t.Fatalf("%s: view lacks %q:\n%s", st.name, want, v)
			}
		}
		for i, l := range strings.Split(v, "\n") {
			if lipgloss.Width(l) > 78 {
				t.Fatalf("%s: line %d is %d wide: %q", st.name, i, lipgloss.Width(l), l)
			}
		}
	}
	s.event(steps.Event{Step: "sync", Kind: steps.StepWaiting, Message: "throttled: next try in 2s"})
	if v := ansi.Strip(s.View()); !strings.Contains(v, "Errors       1 · 5 requests retried — throttled: next try in 2s") {
		t.Fatalf("a wait is not counted as an error beside the retries:\n%s", v)
	}
}

func safetyStop() *steps.SafetyError {
	plan := &store.SyncPlan{Disabled: 600, ActiveBefore: 700}
	for _, upn := range []string{"a@contoso.com", "b@contoso.com", "c@contoso.com"} {
		plan.Changes = append(plan.Changes, store.PlannedChange{Action: "disable", UserPrincipalName: upn, DisplayName: upn})
	}
	return &steps.SafetyError{Plan: plan, Limit: "500 users"}
}

func TestSyncSafetyStopIsAFailureState(t *testing.T) {
	f := syncFakeBackend(t)
	f.gf.syncErr = safetyStop()
	d := newDriver(t, f, Options{Width: 80, Height: 30})
	d.press("s", "enter")
	d.contains("Safety stop", "disable 600 users, more than 500 users", "Nothing was changed", "a@contoso.com", "--allow-mass-disable")
	d.press("esc")
	if _, ok := d.m.screen.(*dashboard); !ok {
		t.Fatalf("esc did not return to the dashboard:\n%s", d.screen())
	}
}

func TestSyncMassDisableAsksTwice(t *testing.T) {
	f := syncFakeBackend(t)
	f.gf.syncErr = safetyStop()
	d := newDriver(t, f, Options{Width: 100, Height: 30})
	d.press("s", "enter")
	d.contains("Safety stop", "d disable them anyway")
	lifted := func() int { return countCalls(f.Calls(), "Sync dry=false allow=true") }

	for _, other := range []string{"x", "esc", "enter", "r"} {
		d.press("d")
		d.contains("press d again to disable 600 users", "d yes, disable 600 users", "esc cancel")
		if lifted() != 0 {
			t.Fatalf("the first press started a run: calls %v", f.Calls())
		}
		d.press(other)
		d.lacks("press d again")
		if _, ok := d.m.screen.(*syncScreen); !ok {
			t.Fatalf("%q after the warning left the sync screen:\n%s", other, d.screen())
		}
		d.contains("Safety stop")
		if lifted() != 0 || countCalls(f.Calls(), "Sync dry=") != 2 {
			t.Fatalf("%q after the warning started a run: calls %v", other, f.Calls())
		}
	}

	d.press("d", "d")
	if lifted() != 1 {
		t.Fatalf("the second press did not run with the limits lifted: calls %v", f.Calls())
	}
	d.contains("✓ Synced")
	d.lacks("Safety stop", "press d again")
}

func TestPickerAndSyncFitTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		w, h := size[0], size[1]
		check := func(d *driver, name string) {
			t.Helper()
			lines := strings.Split(d.raw(), "\n")
			if len(lines) > h {
				t.Errorf("%dx%d %s: %d lines", w, h, name, len(lines))
			}
			for i, l := range lines {
				if lipgloss.Width(l) > w {
					t.Errorf("%dx%d %s: line %d is %d wide: %q", w, h, name, i, lipgloss.Width(l), l)
				}
			}
		}
		f := groupsFakeBackend(t, 1000)
		f.gf.groups[0].DisplayName = strings.Repeat("A very long group name ", 12)
		f.gf.nested = map[string]int{"g-00000": 12}
		f.profiles[0].Sync.MaxGroups = 1
		d := toPicker(t, f, w, h)
		check(d, "picker")
		d.press("down", "space", "down", "space")
		check(d, "picker refusal")

		sf := syncFakeBackend(t)
		d = newDriver(t, sf, Options{Width: w, Height: h})
		d.press("s")
		check(d, "sync preview")
		d.press("enter")
		check(d, "sync done")
		sf.gf.syncErr = safetyStop()
		d.press("r", "enter")
		check(d, "sync safety stop")
		d.contains("Safety stop")
		d.press("d")
		check(d, "sync mass-disable warning")
		d.contains("press d again")

		// Mid-run, with every live figure on screen.
		sf = syncFakeBackend(t)
		sf.gf.progress = []steps.SyncProgress{{Phase: "read-groups", Pages: 9999, Users: 1234567, Total: 9876543,
			Created: 1000000, Updated: 200000, Unchanged: 34567, Retried: 4321}}
		hold := make(chan struct{})
		sf.gf.hold = hold
		t.Cleanup(func() { close(hold) })
		d = newDriver(t, sf, Options{Width: w, Height: h})
		d.press("s", "enter")
		d.contains("1234567 of 9876543 users read", "Created      1000000")
		check(d, "sync running")
	}
}
