package ui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
)

// failure is a failed operation as a state, not an exit: what failed, the
// kind of failure, the service's words, and what the admin can do; with
// keys to retry, do the step by hand, go back or quit.
type failure struct {
	c         *common
	op        op
	title     string
	err       error
	ge        *graphapi.Error
	canManual bool
	canBack   bool
	name      string // the connection, for test and reset
	w, h      int
}

func newFailure(c *common, o op, title string, err error, canManual, canBack bool) *failure {
	return &failure{c: c, op: o, title: title, err: err, ge: graphapi.Classify(err), canManual: canManual, canBack: canBack}
}

func (f *failure) Init() tea.Cmd    { return nil }
func (f *failure) SetSize(w, h int) { f.w, f.h = w, h }
func (f *failure) Typing() bool     { return false }

func (f *failure) Keys() []key.Binding {
	k := f.c.keys
	return []key.Binding{k.Retry, on(k.Manual, f.canManual), on(k.Back, f.canBack)}
}

func (f *failure) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	k := f.c.keys
	switch {
	case key.Matches(km, k.Retry):
		return emit(retryMsg{})
	case f.canManual && key.Matches(km, k.Manual):
		return emit(manualRequested{})
	case f.canBack && key.Matches(km, k.Back):
		return emit(backMsg{})
	}
	return nil
}

func (f *failure) View() string {
	st := f.c.styles
	w := max(f.w-4, 20)
	var b strings.Builder
	b.WriteString(st.Err.Render("✗ "+steps.Printable(f.title)) + "\n\n")
	// Every row may carry the service's or the tenant's words.
	row := func(label, text string) {
		if text != "" {
			b.WriteString(st.labelled(label, steps.Printable(text), w) + "\n")
		}
	}
	row("Kind", f.ge.Kind.String())
	msg := f.ge.Message
	if msg == "" {
		msg = f.err.Error()
	}
	var se *steps.StepError
	if errors.As(f.err, &se) && f.ge.Kind == graphapi.KindUnknown {
		msg = se.Err.Error()
	}
	row("What", msg)
	if f.ge.Op != "" {
		row("While", f.ge.Op)
	}
	var details []string
	if f.ge.Code != "" {
		details = append(details, f.ge.Code)
	}
	if f.ge.RequestID != "" {
		details = append(details, "request-id "+f.ge.RequestID)
	}
	row("Details", strings.Join(details, " · "))
	box := strings.TrimRight(b.String(), "\n")
	out := st.ErrBox.Width(f.w).Render(box) + "\n\n"
	if f.ge.Remedy != "" {
		out += st.Strong.Render("What to do") + "\n" + ansi.Wrap(steps.Printable(f.ge.Remedy), f.w, " ") + "\n\n"
	}
	var ways []string
	ways = append(ways, st.Key.Render("r")+" retry")
	if f.canManual {
		ways = append(ways, st.Key.Render("m")+" do this step by hand in the portal")
	}
	if f.canBack {
		ways = append(ways, st.Key.Render("esc")+" back")
	}
	ways = append(ways, st.Key.Render("q")+" quit")
	out += ansi.Wrap(strings.Join(ways, "   "), f.w, " ")
	if f.op == opExecute {
		out += "\n" + st.Subtle.Render(ansi.Wrap("The steps that finished are saved; a retry picks up where this one stopped.", f.w, " "))
	}
	return out
}
