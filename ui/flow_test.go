package ui

import (
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/entrawiz/entrawiz/graphapi"
)

// These flows run the wizard as a real Bubble Tea program (teatest) with a
// pinned size and colour profile, and compare the last frame, without
// escape codes, with a golden file (go test ./ui -run Flow -update).

// observed wraps the root model to keep its latest frame as text: the
// renderer writes only what changed, so the output stream is no place to
// look for a sentence.
type observed struct {
	m     *model
	frame atomic.Pointer[string]
}

func (o *observed) Init() tea.Cmd { return o.m.Init() }
func (o *observed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := o.m.Update(msg)
	return o, cmd
}
func (o *observed) View() tea.View {
	v := o.m.View()
	s := ansi.Strip(v.Content)
	o.frame.Store(&s)
	return v
}

type flow struct {
	*teatest.TestModel
	o *observed
}

func startProgram(t *testing.T, f *fakeBackend, w, h int) *flow {
	t.Helper()
	m := newModel(t.Context(), f, Options{Width: w, Height: h})
	m.c.now = func() time.Time { return testNow }
	o := &observed{m: m}
	tm := teatest.NewTestModel(t, o, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return &flow{TestModel: tm, o: o}
}

func waitFor(t *testing.T, fl *flow, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if p := fl.o.frame.Load(); p != nil && strings.Contains(*p, text) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	last := ""
	if p := fl.o.frame.Load(); p != nil {
		last = *p
	}
	t.Fatalf("no frame showed %q; the last:\n%s", text, last)
}

func enter(fl *flow) { fl.Send(tea.KeyPressMsg{Code: tea.KeyEnter}) }

// finalFrame waits for the program to end and returns the last frame.
func finalFrame(t *testing.T, fl *flow) (*model, string) {
	t.Helper()
	fm := fl.FinalModel(t, teatest.WithFinalTimeout(20*time.Second)).(*observed).m
	return fm, ansi.Strip(fm.View().Content)
}

func TestFlowSetupWithDeviceCode(t *testing.T) {
	f := newFake(t)
	f.approve = make(chan struct{})
	tm := startProgram(t, f, 80, 24)
	waitFor(t, tm, "What are you connecting?")
	enter(tm)                       // directory-sync
	waitFor(t, tm, "enter sign in") // the tenant field has the keyboard
	tm.Type("contoso.onmicrosoft.com")
	enter(tm)
	waitFor(t, tm, "K Q 7 R D F 3 Z X")
	close(f.approve)
	waitFor(t, tm, "Nothing is written")
	enter(tm)
	waitFor(t, tm, "Give the product")
	enter(tm)
	waitFor(t, tm, "All done")
	enter(tm)
	fm, frame := finalFrame(t, tm)
	if fm.result != nil {
		t.Fatalf("Run would return %v", fm.result)
	}
	want := []string{"StartSetup contoso.onmicrosoft.com directory-sync", "Preflight", "Execute", "Handoff false"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	golden.RequireEqual(t, frame)
	if out, err := io.ReadAll(tm.FinalOutput(t)); err != nil || hasColour(string(out)) {
		t.Fatal("the Ascii profile let colour through")
	}
}

func TestFlowFailureThenRetry(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	tm := startProgram(t, f, 100, 30)
	waitFor(t, tm, "What are you connecting?")
	enter(tm)
	waitFor(t, tm, "Nothing is written")
	enter(tm)
	waitFor(t, tm, "Grant admin consent failed")
	tm.Type("r")
	waitFor(t, tm, "Give the product")
	tm.Type("q")
	fm, frame := finalFrame(t, tm)
	if fm.result != nil {
		t.Fatalf("quitting on the hand-off would return %v", fm.result)
	}
	if n := countCalls(f.Calls(), "Execute"); n != 2 {
		t.Fatalf("Execute ran %d times", n)
	}
	golden.RequireEqual(t, frame)
}

func TestFlowQuitOnFailure(t *testing.T) {
	f := newFake(t)
	f.tenant, f.silent = "contoso.com", true
	f.execErrs = []error{consentErr()}
	tm := startProgram(t, f, 80, 24)
	waitFor(t, tm, "What are you connecting?")
	enter(tm)
	waitFor(t, tm, "Nothing is written")
	enter(tm)
	waitFor(t, tm, "Grant admin consent failed")
	tm.Type("q")
	fm, frame := finalFrame(t, tm)
	if !graphapi.IsKind(fm.result, graphapi.KindConsentNeeded) {
		t.Fatalf("Run would return %v", fm.result)
	}
	golden.RequireEqual(t, frame)
}

func TestFlowDashboardTest(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(testNow)
	tm := startProgram(t, f, 200, 50)
	waitFor(t, tm, "Your connections")
	tm.Type("t")
	waitFor(t, tm, "app-only sign-in works")
	tm.Type("q")
	fm, frame := finalFrame(t, tm)
	if fm.result != nil {
		t.Fatalf("Run would return %v", fm.result)
	}
	golden.RequireEqual(t, frame)
}
