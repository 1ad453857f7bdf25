package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

func consentErr() error {
	return &graphapi.Error{Kind: graphapi.KindConsentNeeded, Code: "Authorization_RequestDenied", Status: 403,
		Op: "grant admin consent", RequestID: "7f0c2a9e-1b2c-4d5e-8f90-123456789abc",
		Message: "Insufficient privileges to complete the operation.",
		Remedy:  "Sign in as a Global Administrator or Privileged Role Administrator, or have one grant consent."}
}

func caErr() error {
	return &graphapi.Error{Kind: graphapi.KindConditionalAccess, Code: "AADSTS53003",
		Message: "Access has been blocked by Conditional Access policies.",
		Remedy:  "Sign in with the browser on a compliant device, or ask for an exception."}
}

// toPlan starts the wizard and chooses the first profile, which with a
// tenant given and a saved sign-in lands on the plan.
func toPlan(t *testing.T, f *fakeBackend, opts Options) *driver {
	t.Helper()
	d := newDriver(t, f, opts)
	d.press("enter")
	return d
}

func countCalls(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestFirstFrameShowsBannerBeforeAnythingLoads(t *testing.T) {
	m := NewModel(newFake(t), Options{Width: 80, Height: 24})
	got := strings.Join(strings.Fields(plainView(m)), " ")
	for _, want := range []string{"SIMULATED TENANT — nothing here touches Azure or your keyring", "reading your saved connections"} {
		if !strings.Contains(got, want) {
			t.Fatalf("first frame lacks %q:\n%s", want, plainView(m))
		}
	}
}

func TestWelcomeShowsWhatEachProfileDoes(t *testing.T) {
	d := newDriver(t, newFake(t), Options{Width: 80, Height: 24})
	d.contains("What are you connecting?", "directory-sync", "sso-sync", "built-in profile",
		"User.Read.All", "365 days, kept in memory only", "Your tenant")
	d.press("down")
	d.contains("Web sign-in (OpenID Connect)", "https://app.example.com/auth/")
	d.lacks("App perms")
}

func TestWelcomeValidatesTheTenantLocally(t *testing.T) {
	f := newFake(t)
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.press("enter") // directory-sync; on to the tenant
	d.typeText("not a tenant")
	d.press("enter")
	d.contains("neither a tenant ID")
	if n := countCalls(f.Calls(), "StartSetup"); n != 0 {
		t.Fatalf("StartSetup called %d times with a bad tenant", n)
	}
	// q is text while typing, not quit.
	d.typeText("q")
	if d.quit {
		t.Fatal("q in the tenant field quit the wizard")
	}
	for range len("not a tenantq") {
		d.press("backspace")
	}
	d.typeText("contoso.onmicrosoft.com")
	d.press("enter")
	if !slices.Contains(f.Calls(), "StartSetup contoso.onmicrosoft.com directory-sync") {
		t.Fatalf("calls = %v", f.Calls())
	}
	d.contains("K Q 7 R D F 3 Z X")
}

func TestWelcomeWithTenantFromTheCommandLine(t *testing.T) {
	f := newFake(t)
	f.tenant = "fabrikam.com"
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.contains("Tenant: fabrikam.com")
	d.lacks("Your tenant")
	d.press("down", "down", "enter")
	if !slices.Contains(f.Calls(), "StartSetup fabrikam.com sso-sync") {
		t.Fatalf("calls = %v", f.Calls())
	}
}

func TestSignInShowsCodeCountdownAndCopies(t *testing.T) {
	f := newFake(t)
	f.tenant = "contoso.com"
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.contains("K Q 7 R D F 3 Z X", "https://microsoft.com/devicelogin", "expires in 15:00", "c copy code")

	now := testNow.Add(90 * time.Second)
	d.m.c.now = func() time.Time { return now }
	d.contains("expires in 13:30")

	d.press("c")
	if len(d.clipboard) != 1 || d.clipboard[0] != "KQ7RDF3ZX" {
		t.Fatalf("clipboard = %q", d.clipboard)
	}
	d.contains("✓ copied")

	now = testNow.Add(16 * time.Minute)
	d.contains("The code has expired", "r new code")
	d.press("r")
	if n := countCalls(f.Calls(), "StartSetup"); n != 2 {
		t.Fatalf("StartSetup called %d times, want a new code", n)
	}

	d.press("esc")
	d.contains("What are you connecting?")
}

func TestConditionalAccessOffersBrowserSignIn(t *testing.T) {
	f := newFake(t)
	f.tenant = "contoso.com"
	f.waitErr = caErr()
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.contains("Conditional Access blocked the device-code sign-in", "AADSTS53003", "o sign in with the browser")
	f.waitErr = nil
	d.press("o")
	if !slices.Contains(f.Calls(), "SignInBrowser") {
		t.Fatalf("calls = %v", f.Calls())
	}
	d.contains("The plan for Contoso", "Signed in as admin@contoso.com")
}

func TestPlanListsEveryItemAndConfirms(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 100, Height: 40})
	d.contains("The plan for Contoso", "Global Administrator", `App registration "Directory Sync"`,
		"Enterprise app (service principal)", "GroupMember.Read.All", "Client secret", "! The tenant's secret-lifetime",
		"Nothing is written until you press enter")
	if n := countCalls(f.Calls(), "Execute"); n != 0 {
		t.Fatal("Execute ran before the plan was confirmed")
	}
	d.press("esc")
	d.contains("What are you connecting?")
	d.press("enter")
	d.contains("The plan for Contoso")
	d.press("enter")
	if n := countCalls(f.Calls(), "Execute"); n != 1 {
		t.Fatalf("Execute ran %d times", n)
	}
	d.contains("Give the product these values")
}

func TestBlockedPlanCannotBeConfirmed(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.plan = testPlan()
	f.plan.Blocker = &graphapi.Error{Kind: graphapi.KindForbidden, Message: "admin@contoso.com holds neither Global Administrator nor Privileged Role Administrator.",
		Remedy: "Ask a Global Administrator to run entrawiz."}
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.contains("This plan cannot be applied", "holds neither", "Blocked.")
	d.lacks("enter apply the plan")
	d.press("enter")
	if n := countCalls(f.Calls(), "Execute"); n != 0 {
		t.Fatal("a blocked plan ran")
	}
	d.press("m")
	d.contains("Do it by hand in the Microsoft Entra admin center", "App registrations › New registration")
}

func TestRunShowsStepsAndReplicationWaits(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 100, Height: 30})
	m := d.m
	m.startExecute()
	m.stop() // the events below stand in for the run
	m.busy = true
	g := m.gen
	for _, ev := range []eventMsg{
		{g, evt("register-app", 0, "")}, {g, evt("register-app", 3, "created the app")},
		{g, evt("grant-consent", 0, "")}, {g, evt("grant-consent", 2, "waiting for Entra to replicate — attempt 3, next try in 4s")},
	} {
		m.Update(ev)
	}
	d.contains("Setting up Directory Sync in Contoso", "✓ Register the app", "created the app",
		"⧗ Grant admin consent", "waiting for Entra to replicate — attempt 3, next try in 4s", "1 of 6 steps")
}

func TestFailureThenRetrySucceeds(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.contains("✗ Grant admin consent failed", "consent needed", "Insufficient privileges",
		"Authorization_RequestDenied", "What to do", "Sign in as a Global Administrator", "r retry", "m do this step by hand")
	d.press("r")
	if n := countCalls(f.Calls(), "Execute"); n != 2 {
		t.Fatalf("Execute ran %d times", n)
	}
	d.contains("Give the product these values")
	if it := d.m.rail.item("grant-consent"); it.status != statusDone {
		t.Fatalf("grant-consent is %v after the retry", it.status)
	}
}

func TestManualPathValidatesAndRecords(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.press("m")
	d.contains("Do it by hand", "1. Register the app", "✓ done by entrawiz already", "Name: Directory Sync")
	d.press("enter")
	d.contains("Application (client) ID", "Client secret Value")
	d.typeText("not-a-guid")
	d.press("enter")
	d.contains("must look like 00000000-0000-0000-0000-")
	for range len("not-a-guid") {
		d.press("backspace")
	}
	d.typeText("0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a")
	d.press("enter")
	d.typeText("9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4") // the secret's ID, not its Value
	d.press("enter")
	d.contains("that is the secret's ID, not its Value")
	d.lacks("9f8e7d6c") // the secret field never echoes
	if n := countCalls(f.Calls(), "Manual"); n != 0 {
		t.Fatal("Manual called with a refused secret")
	}
	for range 36 {
		d.press("backspace")
	}
	d.typeText("Xy8Q~s3cr3tV4lu3-abcdefghij")
	d.press("enter")
	if f.manualGot != [2]string{"0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a", "Xy8Q~s3cr3tV4lu3-abcdefghij"} {
		t.Fatalf("Manual got %q", f.manualGot)
	}
	d.contains("Give the product these values")
	if it := d.m.rail.item("create-secret"); it.status != statusSkipped || !strings.Contains(it.result, "by hand") {
		t.Fatalf("create-secret: %+v", it)
	}
}

func TestManualFailureGoesBackToTheForm(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.manualErr = &graphapi.Error{Kind: graphapi.KindInvalidSecret, Code: "AADSTS7000215", Message: "Invalid client secret provided.",
		Remedy: "Copy the secret's Value (not its ID) again."}
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.press("m", "enter")
	d.typeText("0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a")
	d.press("enter")
	d.typeText("Xy8Q~s3cr3tV4lu3-abcdefghij")
	d.press("enter")
	d.contains("The values you entered did not work", "invalid client secret", "AADSTS7000215")
	d.press("r")
	d.contains("Application (client) ID")
}

func TestHandoffCopiesAndRevealsTheSecretOnlyOnRequest(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.contains("Directory (tenant) ID", "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f", "•••••••• hidden")
	d.lacks("Xy8Q")
	if slices.Contains(f.Calls(), "Handoff true") {
		t.Fatal("the secret was read before it was asked for")
	}
	d.press("2")
	if got := d.clipboard; len(got) != 1 || got[0] != "0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a" {
		t.Fatalf("clipboard = %q", got)
	}
	d.press("3") // copy the secret without showing it
	if got := d.clipboard; len(got) != 2 || got[1] != "Xy8Q~s3cr3tV4lu3-abcdefghijklmnop" {
		t.Fatalf("clipboard = %q", got)
	}
	d.lacks("Xy8Q")
	d.press("s")
	d.contains("The secret will be shown on screen")
	d.lacks("Xy8Q")
	d.press("s")
	d.contains("Xy8Q~s3cr3tV4lu3-abcdefghijklmnop", "The secret is on screen")
	d.press("enter")
	d.contains("All done", "entrawiz status")
	d.press("enter")
	if !d.quit || d.m.result != nil {
		t.Fatalf("quit=%v result=%v", d.quit, d.m.result)
	}
}

func TestDashboardShowsExpiryAndActions(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(testNow)
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.contains("Your connections · 2 saved", "contoso.onmicrosoft.com/directory-sync", "Directory Sync",
		"expires 2026-03-22 — 20 days left", "! the client secret expires in 20 days", "300 days left")
	d.lacks("Choose a profile") // no rail on the dashboard

	raw := d.raw()
	red := "\x1b[1;31m"
	at := strings.Index(raw, "20 days left")
	if at < 0 || !strings.Contains(raw[max(at-80, 0):at], "31m") {
		t.Fatalf("20 days left is not red: %q", raw[max(at-80, 0):at+12])
	}
	at = strings.Index(raw, "300 days left")
	if strings.Contains(raw[max(at-60, 0):at], red) {
		t.Fatal("300 days left is red")
	}

	d.press("t")
	if !slices.Contains(f.Calls(), "Test contoso.onmicrosoft.com/directory-sync") {
		t.Fatalf("calls = %v", f.Calls())
	}
	d.contains("✓ app-only sign-in works")

	d.press("down", "x")
	d.contains("Reset contoso.onmicrosoft.com/sso?")
	d.press("n")
	d.lacks("Reset contoso.onmicrosoft.com/sso?")
	d.press("x", "y")
	if !slices.Contains(f.Calls(), "Reset contoso.onmicrosoft.com/sso") {
		t.Fatalf("calls = %v", f.Calls())
	}
	d.contains("Your connections · 1 saved")

	d.press("n")
	d.contains("What are you connecting?", "Choose a profile")
}

func TestDashboardTestFailureIsAState(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(testNow)
	f.testErr = &graphapi.Error{Kind: graphapi.KindSecretExpired, Code: "AADSTS7000222", Message: "The provided client secret keys are expired.",
		Remedy: "Create a new secret: entrawiz rotate."}
	d := newDriver(t, f, Options{Width: 80, Height: 24})
	d.press("t")
	d.contains("The connection test failed", "client secret expired", "entrawiz rotate")
	f.testErr = nil
	d.press("r")
	d.contains("Your connections", "✓ app-only sign-in works")
	f.testErr = errors.New("boom")
	d.press("t")
	d.press("esc")
	d.contains("Your connections", "✗ test failed")
}

func TestQuitReturnsWhatHappened(t *testing.T) {
	t.Run("welcome", func(t *testing.T) {
		d := newDriver(t, newFake(t), Options{})
		d.press("q")
		if !d.quit || d.m.result != nil {
			t.Fatalf("quit=%v result=%v", d.quit, d.m.result)
		}
	})
	t.Run("plan", func(t *testing.T) {
		f := newFake(t)
		f.tenant, f.silent = "contoso.com", true
		d := toPlan(t, f, Options{})
		d.press("q")
		if !d.quit || !errors.Is(d.m.result, ErrQuit) {
			t.Fatalf("quit=%v result=%v", d.quit, d.m.result)
		}
	})
	t.Run("failure", func(t *testing.T) {
		f := newFake(t)
		f.tenant, f.silent = "contoso.com", true
		f.execErrs = []error{consentErr()}
		d := toPlan(t, f, Options{})
		d.press("enter", "q")
		if !d.quit || !graphapi.IsKind(d.m.result, graphapi.KindConsentNeeded) {
			t.Fatalf("quit=%v result=%v", d.quit, d.m.result)
		}
	})
	t.Run("running asks first", func(t *testing.T) {
		f := newFake(t)
		f.tenant, f.silent = "contoso.com", true
		d := toPlan(t, f, Options{})
		d.m.startExecute() // left running: its events are never delivered
		d.press("q")
		if d.quit {
			t.Fatal("q quit a running setup without asking")
		}
		d.contains("Stop now?")
		d.press("n")
		d.lacks("Stop now?")
		d.press("q", "y")
		if !d.quit || !errors.Is(d.m.result, ErrQuit) {
			t.Fatalf("quit=%v result=%v", d.quit, d.m.result)
		}
	})
}

func TestHelpBarShowsOnlyWhatWorks(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 120, Height: 30})
	d.contains("enter apply the plan", "m do it by hand", "esc back")
	d.lacks("r retry", "c copy code")
	d.press("?")
	d.contains("ctrl+c", "quit now")
}

// A profile that syncs ends on "pick the groups": g opens the dashboard
// with the newest connection's picker, not another connection's.
func TestFinishLeadsToTheNewConnectionsPicker(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 80, Height: 24})
	d.press("enter")
	d.press("enter")
	d.contains("All done", "Next: pick the groups", "g pick the groups to sync")
	conns := testConnections(testNow)
	made := store.Connection{Name: "fabrikam.onmicrosoft.com/directory-sync", Profile: "directory-sync", Enabled: true, Created: testNow.Add(time.Minute)}
	f.mu.Lock()
	f.conns = append(conns, made)
	f.mu.Unlock()
	d.press("g")
	d.contains("Pick the groups to sync", "fabrikam.onmicrosoft.com/directory-sync")
}

// A plan taller than the terminal scrolls with the wizard's keys: down a
// line, a page, and back up.
func TestPlanScrollsWhenTallerThanTheTerminal(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	d := toPlan(t, f, Options{Width: 80, Height: 16})
	d.contains("↓ more", `App registration "Directory Sync"`)
	d.lacks("app-only sign-in with the secret")
	d.press("pgdown", "pgdown", "pgdown")
	d.contains("app-only sign-in with the secret")
	d.lacks("↓ more")
	d.press("pgup", "pgup", "pgup", "up")
	d.contains(`App registration "Directory Sync"`, "↓ more")
}

// TestHandoffNeverWrapsAValueToCopy: a mouse copy of a wrapped value takes
// the line break (or loses the part after a hyphen), so the secret and the
// URLs are each on one line whole, or cut with their copy key said.
func TestHandoffNeverWrapsAValueToCopy(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 30}} {
		f := newFake(t)
		f.tenant, f.silent = "contoso.com", true
		d := toPlan(t, f, Options{Width: size[0], Height: size[1]})
		d.press("enter", "s", "s")
		view := d.screen()
		for _, v := range []string{"Xy8Q~s3cr3tV4lu3-abcdefghijklmnop", "https://login.microsoftonline.com/4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f/v2.0"} {
			if !slices.ContainsFunc(strings.Split(view, "\n"), func(l string) bool { return strings.Contains(l, v) }) {
				t.Errorf("%dx%d: %q is not on one line:\n%s", size[0], size[1], v, view)
			}
		}
		if size[0] == 80 {
			d.contains("(6 copies it whole)")
		}
		d.press("6")
		if got := d.clipboard; len(got) != 1 || !strings.HasSuffix(got[0], "/v2.0/.well-known/openid-configuration") {
			t.Fatalf("clipboard = %q", got)
		}
		d.contains("✓ copied OpenID Connect metadata URL", "(108 characters sent)", "some terminals drop")
	}
}

// TestStepNotNeededIsNotAlreadyDone: a step the profile does not ask for
// (assignment, for a profile with none) is not shown as done.
func TestStepNotNeededIsNotAlreadyDone(t *testing.T) {
	ev := steps.Event{Step: "assign", Title: "Assignment and group", Kind: steps.StepSkipped, NotNeeded: true, Message: "the profile needs no assignment or group"}
	var b strings.Builder
	NewLines(&b).Report(ev)
	if !strings.Contains(b.String(), "not needed: the profile needs no assignment or group") || strings.Contains(b.String(), "already done") {
		t.Errorf("headless line = %q", b.String())
	}
	r := newRail()
	r.apply(steps.Event{Step: "assign", Kind: steps.StepStarted})
	r.apply(ev)
	if got := ansi.Strip(r.view(newStyles(false), "", 40, 30)); !strings.Contains(got, "not needed") || strings.Contains(got, "already done: the profile") {
		t.Errorf("rail = %q", got)
	}
}
