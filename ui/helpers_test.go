package ui

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// fakeBackend returns canned profiles, plans and events; it records calls.
type fakeBackend struct {
	mu        sync.Mutex
	profiles  []*steps.Profile
	conns     []store.Connection
	tenant    string
	simulated bool

	startErr  error         // StartSetup
	waitErr   error         // the device code's Wait
	silent    bool          // signed in already: no code
	auto      bool          // --sign-in auto: a blocked code goes on with the browser
	urls      chan string   // the browser sign-in address, when no browser opens
	approve   chan struct{} // closed to approve the device code
	browserOK bool
	plan      *steps.Plan
	preflight error
	// execErrs are returned by successive Execute calls; a nil entry (or
	// none left) is a run that succeeds.
	execErrs  []error
	manualErr error
	testErr   error
	calls     []string
	manualGot [2]string
	gf        groupsFake
}

func (f *fakeBackend) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Profiles() []*steps.Profile { return f.profiles }
func (f *fakeBackend) Connections() ([]store.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Connection(nil), f.conns...), nil
}
func (f *fakeBackend) Tenant() string  { return f.tenant }
func (f *fakeBackend) Simulated() bool { return f.simulated }

func (f *fakeBackend) StartSetup(ctx context.Context, tenant string, p *steps.Profile) (*SignInPrompt, error) {
	f.record("StartSetup " + tenant + " " + p.Name)
	if f.startErr != nil {
		return nil, f.startErr
	}
	setup := &fakeSetup{f: f, name: tenant + "/" + p.Name}
	browser := func(ctx context.Context) (Setup, error) {
		f.record("SignInBrowser")
		return setup, nil
	}
	wait := func(ctx context.Context) (Setup, error) {
		if f.waitErr != nil {
			return nil, f.waitErr
		}
		return setup, nil
	}
	if f.silent {
		return &SignInPrompt{Wait: wait, Browser: browser}, nil
	}
	return &SignInPrompt{Code: "KQ7RDF3ZX", URL: "https://microsoft.com/devicelogin", Auto: f.auto, BrowserURL: f.urls,
		Expires: testNow.Add(15 * time.Minute), Browser: browser, Wait: func(ctx context.Context) (Setup, error) {
			if f.waitErr != nil {
				return nil, f.waitErr
			}
			select {
			case <-f.approve: // nil: the test approves by sending signedInMsg
				return setup, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}, nil
}

// fakeSetup is the fake backend's setup session.
type fakeSetup struct {
	f    *fakeBackend
	name string
}

func (s *fakeSetup) UPN() string        { return "admin@contoso.com" }
func (s *fakeSetup) Connection() string { return s.name }

func (s *fakeSetup) Preflight(ctx context.Context, report func(steps.Event)) (*steps.Plan, error) {
	f := s.f
	f.record("Preflight")
	if f.preflight != nil {
		return nil, f.preflight
	}
	return f.plan, nil
}

func (s *fakeSetup) Written() (string, string) { return "", "" }

func (s *fakeSetup) Execute(ctx context.Context, report func(steps.Event)) error {
	f := s.f
	f.record("Execute")
	f.mu.Lock()
	var fail error
	if len(f.execErrs) > 0 {
		fail, f.execErrs = f.execErrs[0], f.execErrs[1:]
	}
	f.mu.Unlock()
	for _, s := range steps.Procedure() {
		report(steps.Event{Step: s.Name, Title: s.Title, Kind: steps.StepStarted})
		if s.Name == "grant-consent" && fail != nil {
			ge := graphapi.Classify(fail)
			report(steps.Event{Step: s.Name, Title: s.Title, Kind: steps.StepFailed, Message: fail.Error(), Err: ge})
			return &steps.StepError{Step: s.Name, Title: s.Title, Err: fail}
		}
		if s.Name == "test" {
			report(steps.Event{Step: s.Name, Kind: steps.StepWaiting, Attempt: 3, Delay: 4 * time.Second,
				Message: "waiting for Entra to replicate — attempt 3, next try in 4s"})
		}
		if s.Name == "assign" {
			report(steps.Event{Step: s.Name, Title: s.Title, Kind: steps.StepSkipped, Message: "nothing to assign"})
			continue
		}
		report(steps.Event{Step: s.Name, Title: s.Title, Kind: steps.StepDone, Message: "done: " + s.Name})
	}
	return nil
}

func (f *fakeBackend) Manual(ctx context.Context, tenant string, p *steps.Profile, clientID, secret string, report func(steps.Event)) (string, error) {
	f.record("Manual")
	f.mu.Lock()
	f.manualGot = [2]string{clientID, secret}
	f.mu.Unlock()
	report(steps.Event{Step: "test", Kind: steps.StepProgress, Message: "signing in as the app with the stored secret"})
	return tenant + "/" + p.Name, f.manualErr
}

func (f *fakeBackend) Handoff(connection string, reveal bool) ([]steps.HandoffValue, error) {
	f.record(fmt.Sprintf("Handoff %v", reveal))
	secret := ""
	if reveal {
		secret = "Xy8Q~s3cr3tV4lu3-abcdefghijklmnop"
	}
	return []steps.HandoffValue{
		{Name: "tenantId", Label: "Directory (tenant) ID", Value: "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f"},
		{Name: "clientId", Label: "Application (client) ID", Value: "0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a"},
		{Name: "clientSecret", Label: "Client secret (Value)", Value: secret, Secret: true},
		{Name: "primaryDomain", Label: "Primary domain", Value: "contoso.com"},
		{Name: "authority", Label: "Authority (issuer) URL", Value: "https://login.microsoftonline.com/4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f/v2.0"},
		{Name: "openidConfig", Label: "OpenID Connect metadata URL",
			Value: "https://login.microsoftonline.com/4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f/v2.0/.well-known/openid-configuration"},
	}, nil
}

func (f *fakeBackend) Test(ctx context.Context, connection string, report func(steps.Event)) (*steps.TestResult, error) {
	f.record("Test " + connection)
	report(steps.Event{Step: "test", Kind: steps.StepProgress, Message: "signing in as the app with the stored secret"})
	if f.testErr != nil {
		return nil, f.testErr
	}
	return &steps.TestResult{At: testNow, Passed: true, Roles: []string{"User.Read.All", "Group.Read.All"},
		Reads: []steps.ReadReport{{Permission: "User.Read.All", Result: "ok"}}}, nil
}

func (f *fakeBackend) Reset(ctx context.Context, connection string) error {
	f.record("Reset " + connection)
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []store.Connection
	for _, c := range f.conns {
		if c.Name != connection {
			keep = append(keep, c)
		}
	}
	f.conns = keep
	return nil
}

func builtins(t testing.TB) []*steps.Profile {
	t.Helper()
	ps, err := steps.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func testPlan() *steps.Plan {
	return &steps.Plan{
		Tenant:   store.Tenant{ID: "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f", DisplayName: "Contoso", PrimaryDomain: "contoso.com", InitialDomain: "contoso.onmicrosoft.com"},
		AdminUPN: "admin@contoso.com",
		Roles:    []string{"Global Administrator"},
		Items: []steps.PlanItem{
			{Action: "create", Object: `App registration "Directory Sync"`, Detail: "single tenant, no redirect URIs"},
			{Action: "create", Object: "Enterprise app (service principal)"},
			{Action: "grant", Object: "Admin consent: application permissions", Detail: "User.Read.All, Group.Read.All, GroupMember.Read.All"},
			{Action: "create", Object: "Client secret", Detail: "valid 365 days, until 2027-03-02; kept in the OS keyring"},
			{Action: "keep", Object: "Test", Detail: "app-only sign-in with the secret, roles and a Graph read per permission (no writes)"},
		},
		Warnings: []string{"The tenant's secret-lifetime policy could not be read; the secret is created for 365 days."},
	}
}

func newFake(t testing.TB) *fakeBackend {
	return &fakeBackend{profiles: builtins(t), simulated: true, plan: testPlan()}
}

func testConnections(now time.Time) []store.Connection {
	return []store.Connection{
		{Name: "contoso.onmicrosoft.com/directory-sync", Profile: "directory-sync", Enabled: true,
			Tenant: store.Tenant{ID: "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f", DisplayName: "Contoso", PrimaryDomain: "contoso.com"},
			App:    store.App{AppID: "0b9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a", DisplayName: "Directory Sync"},
			Secrets: []store.Secret{{KeyID: "k1", Status: "active", Start: now.AddDate(0, 0, -345),
				End: now.AddDate(0, 0, 20)}}},
		{Name: "contoso.onmicrosoft.com/sso", Profile: "sso", Enabled: true,
			Tenant:  store.Tenant{ID: "4a1c3f2e-8d7b-4e6a-9c5d-1b2a3c4d5e6f", DisplayName: "Contoso", PrimaryDomain: "contoso.com"},
			App:     store.App{AppID: "1c9e8d7c-6f5e-4d3c-2b1a-0f9e8d7c6b5a", DisplayName: "Single Sign-On"},
			Secrets: []store.Secret{{KeyID: "k2", Status: "active", End: now.AddDate(0, 0, 300)}}},
	}
}

// driver runs the root model the way the program does: it delivers the
// messages of the commands Update returns until nothing more arrives in a
// short while. Timers (spinner frames, the countdown, cursor blinks) are
// dropped, so a busy screen does not keep it going.
type driver struct {
	t         testing.TB
	m         *model
	quit      bool
	clipboard []string
}

func newDriver(t testing.TB, b Backend, opts Options) *driver {
	t.Helper()
	m := newModel(context.Background(), b, opts)
	m.c.now = func() time.Time { return testNow }
	d := &driver{t: t, m: m}
	w, h := 80, 24
	if opts.Width > 0 {
		w, h = opts.Width, opts.Height
	}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	d.run(m.Init())
	return d
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

// press sends keys by name: "enter", "esc", "up", "ctrl+c", or one rune.
func (d *driver) press(keys ...string) {
	d.t.Helper()
	for _, k := range keys {
		d.send(keyPress(k))
	}
}

// typeText types s one key at a time, then lets the commands settle.
func (d *driver) typeText(s string) {
	var cmds []tea.Cmd
	for _, r := range s {
		_, cmd := d.m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		cmds = append(cmds, cmd)
	}
	d.run(tea.Batch(cmds...))
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

var cmdType = reflect.TypeOf((tea.Cmd)(nil))

// quiet is how long the driver waits for another message before it takes
// the model as settled; the fake Backend answers at once (raceQuiet under
// the race detector, which makes the fake's scans many times slower).
var quiet = 60 * time.Millisecond

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msgs := make(chan tea.Msg, 1024)
	pending := 0
	start := func(c tea.Cmd) {
		if c == nil {
			return
		}
		pending++
		go func() { msgs <- c() }()
	}
	start(cmd)
	for pending > 0 {
		select {
		case msg := <-msgs:
			pending--
			d.deliver(msg, start)
		case <-time.After(quiet):
			return
		}
	}
}

func (d *driver) deliver(msg tea.Msg, start func(tea.Cmd)) {
	if msg == nil {
		return
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			start(c)
		}
		return
	case spinner.TickMsg, clockMsg:
		return
	case tea.QuitMsg:
		d.quit = true
		return
	}
	v := reflect.ValueOf(msg)
	switch {
	case v.Kind() == reflect.Slice && v.Type().Elem() == cmdType: // tea.Sequence
		for i := 0; i < v.Len(); i++ {
			start(v.Index(i).Interface().(tea.Cmd))
		}
		return
	case strings.HasSuffix(v.Type().String(), "setClipboardMsg"):
		d.clipboard = append(d.clipboard, v.String())
		return
	case strings.Contains(v.Type().String(), "blink") || strings.Contains(v.Type().String(), "Blink"):
		return
	}
	_, cmd := d.m.Update(msg)
	if cmd != nil {
		start(cmd)
	}
}

// screen is the frame as text, without escape codes.
func (d *driver) screen() string {
	return ansi.Strip(d.m.View().Content)
}

func (d *driver) raw() string { return d.m.View().Content }

func (d *driver) contains(want ...string) {
	d.t.Helper()
	s := d.screen()
	for _, w := range want {
		if !strings.Contains(s, w) {
			d.t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

func (d *driver) lacks(unwanted ...string) {
	d.t.Helper()
	s := d.screen()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			d.t.Fatalf("screen shows %q:\n%s", w, s)
		}
	}
}

// plainView is a model's frame without escape codes.
func plainView(m tea.Model) string { return ansi.Strip(m.View().Content) }

// evt makes a run event of a procedure step.
func evt(step string, kind steps.EventKind, msg string) steps.Event {
	title := step
	for _, s := range steps.Procedure() {
		if s.Name == step {
			title = s.Title
		}
	}
	return steps.Event{Step: step, Title: title, Kind: kind, Message: msg}
}
