package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
)

// running shows the procedure's steps as they run — the package-manager
// shape: finished steps with their results, the one in hand with a spinner
// or its replication wait, and a progress bar.
type running struct {
	c      *common
	rail   *rail
	title  string
	manual bool
	bar    progress.Model
	w, h   int
}

func newRunning(c *common, r *rail, title string, manual bool) *running {
	st := c.styles
	bar := progress.New(progress.WithColors(st.ProgressFull), progress.WithFillCharacters('█', '░'), progress.WithoutPercentage())
	bar.EmptyColor = st.ProgressEmpty
	return &running{c: c, rail: r, title: title, manual: manual, bar: bar}
}

func (s *running) Init() tea.Cmd          { return nil }
func (s *running) Update(tea.Msg) tea.Cmd { return nil }
func (s *running) Typing() bool           { return false }
func (s *running) Keys() []key.Binding    { return nil }

func (s *running) SetSize(w, h int) {
	s.w, s.h = w, h
	s.bar.SetWidth(min(max(w-22, 10), 50))
}

func (s *running) View() string {
	st := s.c.styles
	items := s.rail.procedure()
	var b strings.Builder
	// The title names the tenant.
	b.WriteString(st.Heading.Render(ansi.Truncate(steps.Printable(s.title), s.w, "…")) + "\n\n")
	titleW := 0
	for _, it := range items {
		titleW = max(titleW, len(it.title))
	}
	wide := s.w >= titleW+30
	finished, wait := 0, ""
	for _, it := range items {
		switch it.status {
		case statusDone, statusSkipped:
			finished++
		case statusWaiting:
			wait = steps.Printable(it.result)
		}
		line := st.status(it.status, s.c.spin) + " " + fmt.Sprintf("%-*s", titleW, it.title)
		res := steps.Printable(it.result)
		switch it.status {
		case statusRunning:
			if res == "" {
				res = "working…"
			}
		case statusWaiting:
			res = "waiting for Entra to replicate" // the detail is below
		}
		style := st.Subtle
		switch it.status {
		case statusFailed:
			style = st.Err
		case statusWaiting:
			style = st.Warn
		}
		if res != "" {
			if wide {
				line += "  " + style.Render(ansi.Truncate(res, s.w-titleW-4, "…"))
			} else {
				line += "\n    " + style.Render(ansi.Truncate(res, s.w-4, "…"))
			}
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	if wait != "" {
		b.WriteString(st.Warn.Render("⧗ "+ansi.Truncate(wait, s.w-2, "…")) + "\n" +
			st.Subtle.Render(ansi.Wrap("New objects take a moment to reach every Entra server; entrawiz waits it out instead of failing.", s.w, " ")) + "\n\n")
	}
	pct := float64(finished) / float64(max(len(items), 1))
	b.WriteString(s.bar.ViewAs(pct) + st.Subtle.Render(fmt.Sprintf("  %d of %d steps", finished, len(items))))
	return b.String()
}
