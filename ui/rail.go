package ui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
)

// stepStatus is where a step of the procedure is.
type stepStatus int

const (
	statusPending stepStatus = iota
	statusCurrent            // the admin's turn: a choice or a confirmation
	statusRunning
	statusWaiting // waiting for Entra to replicate
	statusDone
	statusFailed
	statusSkipped // already done, or done by hand
)

// Rail step names beyond the procedure's own (steps.Procedure).
const (
	railProfile = "profile"
	railSignIn  = "sign-in"
	railPlan    = "plan"
	railHandoff = "handoff"
)

// railItem is one step on the rail, with its one-line result.
type railItem struct {
	name, title string
	status      stepStatus
	result      string
}

// rail is the whole procedure as the admin sees it: the wizard's own
// phases around the steps package's procedure.
type rail struct {
	items []railItem
}

func newRail() *rail {
	r := &rail{items: []railItem{
		{name: railProfile, title: "Choose a profile"},
		{name: railSignIn, title: "Sign in"},
		{name: railPlan, title: "Review the plan"},
	}}
	for _, s := range steps.Procedure() {
		r.items = append(r.items, railItem{name: s.Name, title: s.Title})
	}
	r.items = append(r.items, railItem{name: railHandoff, title: "Copy the values"})
	return r
}

func (r *rail) item(name string) *railItem {
	for i := range r.items {
		if r.items[i].name == name {
			return &r.items[i]
		}
	}
	return nil
}

func (r *rail) set(name string, st stepStatus, result string) {
	if it := r.item(name); it != nil {
		it.status, it.result = st, result
	}
}

// procedure returns the items the steps package runs, in order.
func (r *rail) procedure() []railItem {
	var out []railItem
	for _, it := range r.items {
		switch it.name {
		case railProfile, railSignIn, railPlan, railHandoff:
		default:
			out = append(out, it)
		}
	}
	return out
}

// apply records a run's event.
func (r *rail) apply(ev steps.Event) {
	step := ev.Step
	if step == "preflight" {
		step = railPlan // reading the tenant is the plan's row
	}
	it := r.item(step)
	if it == nil {
		return
	}
	switch ev.Kind {
	case steps.StepStarted:
		it.status, it.result = statusRunning, ""
	case steps.StepProgress:
		it.status, it.result = statusRunning, ev.Message
	case steps.StepWaiting:
		it.status, it.result = statusWaiting, ev.Message
	case steps.StepDone:
		it.status, it.result = statusDone, ev.Message
	case steps.StepSkipped:
		it.status, it.result = statusSkipped, "already done: "+ev.Message
		if ev.NotNeeded {
			it.result = "not needed: " + ev.Message
		}
	case steps.StepFailed:
		it.status = statusFailed
		it.result = ev.Message
		if ev.Err != nil {
			it.result = ev.Err.Kind.String()
		}
	}
}

// resetFailed makes failed steps pending again, for a retry.
func (r *rail) resetFailed() {
	for i := range r.items {
		if r.items[i].status == statusFailed {
			r.items[i].status, r.items[i].result = statusPending, ""
		}
	}
}

// current is the index of the step in hand: the first one running,
// waiting, failed or the admin's turn; else the first pending one.
func (r *rail) current() int {
	for i, it := range r.items {
		switch it.status {
		case statusRunning, statusWaiting, statusFailed, statusCurrent:
			return i
		}
	}
	for i, it := range r.items {
		if it.status == statusPending {
			return i
		}
	}
	return len(r.items) - 1
}

// view renders the rail as a column of width w: each step with its result
// beneath, as long as there is room for results.
func (r *rail) view(s *styles, spin string, w, h int) string {
	var b strings.Builder
	b.WriteString(s.Title.Render("entrawiz"))
	b.WriteString("\n\n")
	withResults := h >= 2+2*len(r.items)
	cur := r.current()
	for i, it := range r.items {
		title := ansi.Truncate(it.title, w-2, "…")
		if i == cur {
			title = s.RailNow.Render(title)
		}
		b.WriteString(s.status(it.status, spin) + " " + title + "\n")
		if withResults {
			res := steps.Printable(it.result)
			if res == "" {
				b.WriteString("\n")
				continue
			}
			st := s.Subtle
			switch it.status {
			case statusFailed:
				st = s.Err
			case statusWaiting:
				st = s.Warn
			}
			b.WriteString("  " + st.Render(ansi.Truncate(res, w-2, "…")) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// line renders the rail collapsed to one line, for narrow terminals:
// every step's glyph, then the step in hand and its result.
func (r *rail) line(s *styles, spin string, w int) string {
	var glyphs []string
	for _, it := range r.items {
		glyphs = append(glyphs, s.status(it.status, spin))
	}
	cur := r.current()
	it := r.items[cur]
	head := strings.Join(glyphs, "") + "  " + s.Subtle.Render(fmt.Sprintf("%d/%d", cur+1, len(r.items))) + " " + s.RailNow.Render(it.title)
	if it.result != "" {
		st := s.Subtle
		switch it.status {
		case statusFailed:
			st = s.Err
		case statusWaiting:
			st = s.Warn
		}
		room := w - lipgloss.Width(head) - 3
		if room > 8 {
			head += s.Subtle.Render(" · ") + st.Render(ansi.Truncate(steps.Printable(it.result), room, "…"))
		}
	}
	return head
}
