package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// evil is a name from a hostile tenant: it would set the terminal's title
// and clear the screen if printed as it is.
const evil = "Evil\x1b]0;pwned\x07\x1b[2J"

// evilShown is evil as the screens show it: every control as text.
const evilShown = `Evil\x1b]0;pwned\x07\x1b[2J`

// styling is the one escape sequence a frame may hold: the styles' own SGR.
var styling = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// checkFrame fails when frame holds a control, C1 or bidi character
// beyond its styling, or does not show the hostile text escaped at least
// want times (so a test cannot pass by not drawing the text at all).
func checkFrame(t *testing.T, name, frame string, want int) {
	t.Helper()
	rest := styling.ReplaceAllString(frame, "")
	if !utf8.ValidString(rest) {
		t.Errorf("%s: the frame is not valid UTF-8: %q", name, rest)
	}
	for i, r := range rest {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			t.Errorf("%s: raw %U at %d in the frame:\n%q", name, r, i, frame)
			return
		}
	}
	if got := strings.Count(ansi.Strip(frame), evilShown); got < want {
		t.Errorf("%s: the hostile text is shown escaped %d times, want at least %d:\n%s", name, got, want, ansi.Strip(frame))
	}
}

func TestPickerShowsHostileGroupNamesEscaped(t *testing.T) {
	f := groupsFakeBackend(t, 30)
	f.gf.groups[0].DisplayName = evil
	f.gf.groups[1].DisplayName = "Payroll\u202eslx.exe"
	d := toPicker(t, f, 120, 30)
	checkFrame(t, "picker, search box focused", d.raw(), 1)
	d.press("down") // the hostile group under the cursor, in the selected style
	checkFrame(t, "picker, cursor on the group", d.raw(), 1)
	d.contains(`Payroll\u202eslx.exe`)
	f.gf.pickErr = &graphapi.Error{Kind: graphapi.KindForbidden, Message: evil}
	d.press("space", "enter")
	checkFrame(t, "picker, saving failed", d.raw(), 2)
}

func TestPlanShowsHostileTenantTextEscaped(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.plan = testPlan()
	f.plan.Tenant.DisplayName, f.plan.Tenant.PrimaryDomain = evil, evil+".com"
	f.plan.Items = append(f.plan.Items, steps.PlanItem{Action: "update", Object: `Group "` + evil + `"`, Detail: evil})
	f.plan.Warnings = append(f.plan.Warnings, evil)
	f.plan.Blocker = &graphapi.Error{Kind: graphapi.KindForbidden, Message: evil, Remedy: evil}
	d := toPlan(t, f, Options{Width: 120, Height: 60})
	if _, ok := d.m.screen.(*planScreen); !ok {
		t.Fatalf("not on the plan:\n%s", d.screen())
	}
	checkFrame(t, "plan", d.raw(), 7)
}

func TestDashboardShowsHostileTenantTextEscaped(t *testing.T) {
	f := newFake(t)
	conns := testConnections(testNow)
	conns[0].Tenant.DisplayName, conns[0].Tenant.PrimaryDomain = evil, evil
	conns[0].App.DisplayName = evil
	conns[0].State.Groups = []steps.PickedGroup{{ID: "g1", DisplayName: evil}}
	steps.RecordSync(&conns[0], testNow, nil, &graphapi.Error{Kind: graphapi.KindForbidden, Message: evil})
	f.conns = conns
	d := newDriver(t, f, Options{Width: 160, Height: 40})
	if _, ok := d.m.screen.(*dashboard); !ok {
		t.Fatalf("not on the dashboard:\n%s", d.screen())
	}
	checkFrame(t, "dashboard", d.raw(), 5)
	// A test in hand shows its latest event, which may quote the tenant.
	dash := d.m.screen.(*dashboard)
	dash.testing(conns[0].Name)
	dash.event(steps.Event{Step: "test", Kind: steps.StepProgress, Message: evil})
	checkFrame(t, "dashboard, testing", d.raw(), 6)
}

func TestSyncScreenShowsHostileUsersEscaped(t *testing.T) {
	f := syncFakeBackend(t)
	f.gf.dryRun.Plan.Changes = append(f.gf.dryRun.Plan.Changes,
		store.PlannedChange{Action: "create", UserPrincipalName: "mallory@contoso.com", DisplayName: evil})
	d := newDriver(t, f, Options{Width: 120, Height: 40})
	d.press("s")
	checkFrame(t, "sync preview", d.raw(), 1)

	stop := safetyStop()
	stop.Plan.Changes[0].DisplayName = evil
	f.gf.syncErr = stop
	d.press("enter")
	if !strings.Contains(d.screen(), "Safety stop") {
		t.Fatalf("no safety stop:\n%s", d.screen())
	}
	checkFrame(t, "safety stop", d.raw(), 1)

	now := testNow
	s := runningSyncScreen(&now)
	s.event(steps.Event{Step: "sync", Kind: steps.StepWaiting, Message: evil})
	s.event(steps.Event{Step: "sync", Kind: steps.StepProgress, Message: evil + " page 1"})
	s.runs = []store.RunRecord{{ID: 1, Started: testNow, Kind: "full", Error: evil}}
	s.SetSize(160, 40)
	checkFrame(t, "sync running", s.View(), 3)
	s.done(syncDoneMsg{err: &graphapi.Error{Kind: graphapi.KindForbidden, Message: evil, Remedy: evil}})
	checkFrame(t, "sync failed", s.View(), 3)
}

func TestStepScreensShowHostileTextEscaped(t *testing.T) {
	c := &common{styles: newStyles(false), keys: newKeyMap(), now: func() time.Time { return testNow }}
	ge := &graphapi.Error{Kind: graphapi.KindForbidden, Op: "read " + evil, Code: evil, RequestID: evil, Message: evil, Remedy: evil}

	r := newRail()
	r.apply(evt("register-app", steps.StepDone, evil))
	r.apply(evt("grant-consent", steps.StepWaiting, evil))
	run := newRunning(c, r, "Setting up Directory Sync in "+evil, false)
	run.SetSize(160, 40)
	checkFrame(t, "running", run.View(), 3)
	checkFrame(t, "rail", r.view(c.styles, "", 100, 60), 2)
	checkFrame(t, "collapsed rail", r.line(c.styles, "", 200), 1)

	fl := newFailure(c, opExecute, "Granting consent in "+evil+" failed", ge, true, true)
	fl.SetSize(160, 40)
	checkFrame(t, "failure", fl.View(), 6)

	h := newHandoff(c)
	h.SetSize(160, 40)
	h.setValues([]steps.HandoffValue{{Name: "primaryDomain", Label: "Primary domain", Value: evil}}, false, -1)
	checkFrame(t, "hand-off", h.View(), 1)

	fin := newFinish(c, nil, &steps.Plan{Tenant: store.Tenant{DisplayName: evil}}, false)
	fin.SetSize(160, 40)
	checkFrame(t, "finish", fin.View(), 1)

	si := newSignIn(c, nil, "contoso.com")
	si.SetSize(160, 40)
	si.setPrompt(&SignInPrompt{Code: "AB\x1bC", URL: "https://login.example/" + evil, Expires: testNow.Add(time.Minute)})
	checkFrame(t, "sign-in code", si.View(), 1)
	si.blocked(ge)
	checkFrame(t, "sign-in blocked", si.View(), 3)
}

func TestAccessibleModeShowsHostileTextEscaped(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.plan = testPlan()
	f.plan.Tenant.DisplayName = evil
	f.plan.Items = append(f.plan.Items, steps.PlanItem{Action: "update", Object: evil, Detail: evil})
	f.plan.Warnings = append(f.plan.Warnings, evil)
	f.execErrs = []error{&graphapi.Error{Kind: graphapi.KindForbidden, Code: evil, Message: evil, Remedy: evil}}
	out, err := runLines(t, f, "1", "y", "3") // directory-sync, apply, quit on the failure
	if err == nil {
		t.Fatalf("the run did not fail:\n%s", out)
	}
	// The plan (tenant, item, detail, warning), the step's failure event,
	// and the failure (message, code, remedy).
	checkFrame(t, "accessible setup", out, 8)

	f = newFake(t)
	f.conns = testConnections(testNow)
	f.conns[0].Name = "contoso/" + evil
	f.conns[0].Tenant.DisplayName = evil
	f.conns[0].State.Groups = []steps.PickedGroup{{ID: "g1", DisplayName: evil}}
	out, err = runLines(t, f, "1", "1", "7") // test the first connection, then quit
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	// The name on the dashboard, in the menu and in "Testing"; the tenant;
	// the picked group.
	checkFrame(t, "accessible dashboard", out, 5)
}

// TestPlanBlockedByAMissingApp: the plan of a connection whose app is gone
// says so, and does not send the admin looking for a role.
func TestPlanBlockedByAMissingApp(t *testing.T) {
	c := &common{styles: newStyles(true), keys: newKeyMap(), now: func() time.Time { return testNow }}
	p := newPlanScreen(c, &steps.Profile{Name: "directory-sync", AppName: "Directory Sync"})
	p.SetSize(100, 40)
	p.setPlan(&steps.Plan{Blocker: &graphapi.Error{Kind: graphapi.KindNotFound, Code: "SavedAppNotFound",
		Message: "the app registration is not in the tenant", Remedy: "run `entrawiz reset`"}}, "admin@contoso.com")
	out := ansi.Strip(p.View())
	if !strings.Contains(out, "The app this connection was set up with is missing") || strings.Contains(out, "holds the role") {
		t.Fatalf("plan:\n%s", out)
	}
}
