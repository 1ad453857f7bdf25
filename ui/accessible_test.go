package ui

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

func runLines(t *testing.T, f *fakeBackend, input ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	in := strings.NewReader(strings.Join(input, "\n") + "\n")
	err := Run(t.Context(), f, Options{Out: &out, In: in, Accessible: true})
	return out.String(), err
}

func TestAccessibleSetup(t *testing.T) {
	f := newFake(t)
	f.silent = true
	out, err := runLines(t, f,
		"2",                       // sso
		"not a tenant",            // refused by the local validator
		"contoso.onmicrosoft.com", // accepted
		"y",                       // apply the plan
		"y",                       // show the secret
	)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{
		bannerText, "1. directory-sync", "Web sign-in (OpenID Connect)", "Which profile?",
		"neither a tenant ID", "Signed in as admin@contoso.com.", "The plan for Contoso",
		"- create: App registration \"Directory Sync\"", "Apply this plan?",
		"Started: Register the app.", "Waiting: waiting for Entra to replicate — attempt 3, next try in 4s",
		"Skipped: Assignment and group: already done: nothing to assign",
		"Client secret (Value): hidden", "Client secret (Value): Xy8Q~s3cr3tV4lu3-abcdefghijklmnop", "All done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("accessible output has escape codes:\n%q", out)
	}
	if !slices.Contains(f.Calls(), "StartSetup contoso.onmicrosoft.com sso") {
		t.Errorf("calls = %v", f.Calls())
	}
}

func TestAccessibleFailureRetryAndManual(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr(), consentErr()}
	out, err := runLines(t, f,
		"1", // directory-sync
		"y", // apply
		"1", // retry: fails again
		"2", // by hand
		"not-a-guid",
		"0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a",
		"Xy8Q~s3cr3tV4lu3-abcdefghij",
		"n", // keep the secret hidden
	)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Grant admin consent failed: consent needed.", "What to do: Sign in as a Global Administrator",
		"1. Retry", "Do it by hand in the Microsoft Entra admin center", "must look like", "entered by hand"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if n := countCalls(f.Calls(), "Execute"); n != 2 {
		t.Errorf("Execute ran %d times", n)
	}
	if f.manualGot[0] != "0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a" {
		t.Errorf("Manual got %q", f.manualGot)
	}
}

func TestAccessibleQuitOnFailureReturnsTheError(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	_, err := runLines(t, f, "1", "y", "3")
	if err == nil || !strings.Contains(err.Error(), "consent needed") {
		t.Fatalf("Run = %v", err)
	}
}

func TestAccessibleEndOfInputStops(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	_, err := runLines(t, f, "1")
	if !errors.Is(err, errNoInput) {
		t.Fatalf("Run = %v", err)
	}
}

func TestAccessibleDashboard(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	out, err := runLines(t, f, "1", "1", "7") // test the first connection, then quit
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Your connections: 2 saved.", "20 days left", "Test passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

func TestAccessibleDashboardRotates(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	out, err := runLines(t, f, "6", "1", "7") // rotate the first connection's secret, then quit
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{"Rotating the client secret of " + f.conns[0].Name, "new secret new… active until", "rotate --finish"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

// The dashboard's menu when a connection syncs: 1 test, 2 pick groups,
// 3 sync, 4 set up another, 5 reset, 6 rotate, 7 quit.
const (
	menuPick = "2"
	menuSync = "3"
	menuQuit = "7"
)

func TestAccessibleDashboardOffersSyncOnlyForSyncingProfiles(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())[1:] // sso: its profile does not sync
	out, err := runLines(t, f, "5")           // quit, the fifth of five
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, unwanted := range []string{"Pick the groups to sync", "Synchronize users"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("an sso-only dashboard offers %q\n%s", unwanted, out)
		}
	}
	if !strings.Contains(out, "5. Quit") {
		t.Errorf("menu is not the five actions\n%s", out)
	}
}

func TestAccessiblePickGroups(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	f.gf.groups = manyGroups(60) // "team" matches 58: Sales EMEA and Sales US are not teams
	f.gf.nested = map[string]int{"g-00001": 3}
	f.profiles[0].Sync.MaxGroups = 2
	out, err := runLines(t, f,
		menuPick,
		"zzz",   // nothing matches: asked again
		"team",  // 58 match: the first 20 listed
		"21",    // not listed yet: asked again
		"more",  // the next 20
		"1 2 3", // over the profile's limit of 2: asked again
		"3, 22", // Team 00002 and, from the second page, Team 00023
		"y",     // confirm the pick
		menuQuit,
	)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"6. Rotate a connection's client secret", "2. Pick the groups to sync", "3. Synchronize users",
		"No groups are picked yet for contoso.onmicrosoft.com/directory-sync.",
		`No group matches "zzz".`,
		`58 groups match "team".`,
		"1. Team 00000, 70 users.\n2. Team 00001, 70 users, 3 nested groups.\n3. Team 00002, 70 users.\n4. Team 00004, 70 users.",
		"at most 2; more lists the next groups",
		"there is no group 21: the groups listed are numbered 1 to 20",
		"Groups 1 to 20 of 58:\n1. Team 00000",
		"20. Team 00021, 70 users.\n",
		"Groups 21 to 40 of 58:\n21. Team 00022, 70 users.\n22. Team 00023, 70 users.",
		"the profile allows at most 2 groups and you entered 3",
		"Sync the users of Team 00002, Team 00023? This replaces the current pick.",
		"Saved: 2 groups picked for contoso.onmicrosoft.com/directory-sync: Team 00002, Team 00023.",
		"Groups: 2 picked: Team 00002, Team 00023.", // the dashboard shows the saved pick
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "41. ") {
		t.Errorf("a third page was listed unasked\n%s", out)
	}
	var searches []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "SearchGroups") || strings.HasPrefix(c, "PickGroups") {
			searches = append(searches, c)
		}
	}
	// The second page comes through the first page's next link.
	want := []string{`SearchGroups "zzz" 0`, `SearchGroups "team" 0`, `SearchGroups "team" 20`, "PickGroups g-00002,g-00023"}
	if !slices.Equal(searches, want) {
		t.Errorf("calls = %q, want %q", searches, want)
	}
	if n := countCalls(f.Calls(), "GroupCounts"); n != 40 {
		t.Errorf("%d counts fetched; want the 40 listed", n)
	}
}

func TestAccessiblePickDeclinedSavesNothing(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	f.gf.groups = manyGroups(10)
	out, err := runLines(t, f, menuPick, "sales", "1 2", "n", menuQuit)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "1. Sales EMEA") || !strings.Contains(out, "The pick was not changed.") {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out, "more lists the next groups") {
		t.Errorf("more offered with every match listed\n%s", out)
	}
	if n := countCalls(f.Calls(), "PickGroups"); n != 0 {
		t.Errorf("PickGroups called %d times", n)
	}
}

// syncFake is a fake whose preview and run change users as the plans say.
func syncFake(t *testing.T) *fakeBackend {
	f := newFake(t)
	f.conns = testConnections(time.Now())
	var changes []store.PlannedChange
	for i := range 12 {
		changes = append(changes, store.PlannedChange{Action: "create", UserPrincipalName: fmt.Sprintf("u%02d@contoso.com", i), DisplayName: fmt.Sprintf("User %02d", i)})
	}
	changes = append(changes,
		store.PlannedChange{Action: "update", UserPrincipalName: "cy@contoso.com", DisplayName: "Cy"},
		store.PlannedChange{Action: "disable", UserPrincipalName: "dee@contoso.com", DisplayName: "Dee"})
	plan := &store.SyncPlan{Created: 70, Updated: 12, Disabled: 3, Unchanged: 38, Changes: changes}
	f.gf.dryRun = &steps.SyncResult{Kind: "full", DryRun: true, Users: 118, Pages: 3, Plan: plan}
	f.gf.realRun = &steps.SyncResult{Kind: "full", Users: 120, Pages: 3, Took: 2 * time.Second, Plan: plan}
	f.gf.progress = []steps.SyncProgress{
		{Phase: "read-groups", Pages: 1, Users: 50, Total: 120, Created: 30, Updated: 5, Unchanged: 15},
		{Phase: "read-groups", Pages: 1, Users: 50, Total: 120, Created: 30, Updated: 5, Unchanged: 15}, // same page: no new line
		{Phase: "read-groups", Pages: 2, Users: 100, Total: 120, Created: 60, Updated: 10, Unchanged: 30},
		{Phase: "apply", Pages: 3, Users: 120, Total: 120, Created: 70, Updated: 12, Disabled: 3, Unchanged: 38},
	}
	return f
}

func TestAccessibleSyncPreviewThenRun(t *testing.T) {
	f := syncFake(t)
	out, err := runLines(t, f, menuSync, "y", menuQuit)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Previewing the sync of contoso.onmicrosoft.com/directory-sync: a dry run, nothing is written.",
		"Preview: a full run, 3 pages, 118 users read; nothing is written yet.",
		"Created: 70.\nUpdated: 12.\nDisabled: 3.\nUnchanged: 38.",
		"To create: u09@contoso.com (User 09).\nAnd 60 more to create.",
		"To update: cy@contoso.com (Cy).\nAnd 11 more to update.",
		"To disable: dee@contoso.com (Dee).\nAnd 2 more to disable.",
		"Run the sync now, making these changes?",
		"Synchronizing the users of contoso.onmicrosoft.com/directory-sync.",
		"Page 1: 50 of 120 users read; so far 30 to create, 5 to update, 15 unchanged.",
		"Page 2: 100 of 120 users read; so far 60 to create, 10 to update, 30 unchanged.",
		"Page 3: 120 of 120 users read",
		"Synced: a full run, 3 pages, 120 users read in 2s.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, "u10@contoso.com") {
		t.Errorf("more than 10 creates listed\n%s", out)
	}
	if n := strings.Count(out, "Page 1:"); n != 1 {
		t.Errorf("page 1 printed %d times\n%s", n, out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("accessible output has escape codes:\n%q", out)
	}
	var syncs []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "Sync ") {
			syncs = append(syncs, c)
		}
	}
	if want := []string{"Sync dry=true allow=false", "Sync dry=false allow=false"}; !slices.Equal(syncs, want) {
		t.Errorf("syncs = %q, want %q", syncs, want)
	}
}

func TestAccessibleSyncPreviewDeclined(t *testing.T) {
	f := syncFake(t)
	out, err := runLines(t, f, menuSync, "n", menuQuit)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Nothing was synced.") {
		t.Errorf("output:\n%s", out)
	}
	if n := countCalls(f.Calls(), "Sync dry=false"); n != 0 {
		t.Errorf("%d real runs after the preview was declined", n)
	}
}

func TestAccessibleSyncPreviewThatWouldStop(t *testing.T) {
	f := syncFake(t)
	f.gf.dryRun.Stopped = "10% of the active users"
	out, err := runLines(t, f, menuSync, menuQuit) // no run is offered: the next answer is the menu's
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "A real run would stop: it would disable more than 10% of the active users.") {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out, "Run the sync now") || countCalls(f.Calls(), "Sync dry=false") != 0 {
		t.Errorf("a run was offered or made; calls %q\n%s", f.Calls(), out)
	}
}

func TestAccessibleSyncSafetyStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string // after the run is confirmed
		allowed bool     // a run with the limits lifted was made
		says    string
		typing  bool // the number of users was asked for
	}{
		{"declined", []string{"n"}, false, "The sync was not run again: nothing was changed.", false},
		{"wrong number typed", []string{"y", "2"}, false, "That is not 3: nothing was changed.", true},
		{"both confirmations", []string{"y", "3"}, true, "Synced: a full run, 3 pages, 120 users read in 2s.", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := syncFake(t)
			f.gf.progress = nil
			f.gf.syncErr = &steps.SafetyError{Limit: "10% of the active users", Plan: &store.SyncPlan{Disabled: 3, Changes: []store.PlannedChange{
				{Action: "disable", UserPrincipalName: "ann@contoso.com", DisplayName: "Ann"},
				{Action: "disable", UserPrincipalName: "bo@contoso.com", DisplayName: "Bo"},
				{Action: "disable", UserPrincipalName: "dee@contoso.com", DisplayName: "Dee"}}}}
			input := append([]string{menuSync, "y"}, tc.answers...)
			out, err := runLines(t, f, append(input, menuQuit)...)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out)
			}
			for _, want := range []string{
				"Safety stop: the run would disable 3 users, more than 10% of the active users. Nothing was changed.",
				"The users it would disable:\nTo disable: ann@contoso.com (Ann).\nTo disable: bo@contoso.com (Bo).\nTo disable: dee@contoso.com (Dee).",
				"Run the sync anyway and disable 3 users?", tc.says,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q\n%s", want, out)
				}
			}
			if asked := strings.Contains(out, "type the number of users the run will disable (3)"); asked != tc.typing {
				t.Errorf("the number of users asked for: %v, want %v\n%s", asked, tc.typing, out)
			}
			allowed := countCalls(f.Calls(), "Sync dry=false allow=true")
			if tc.allowed != (allowed == 1) || allowed > 1 {
				t.Errorf("%d runs with the limits lifted; calls %q", allowed, f.Calls())
			}
		})
	}
}
