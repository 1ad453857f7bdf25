package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
)

// planScreen is preflight and the plan: every object the setup will create
// or change, the warnings and any blocker. Nothing is written until the
// admin confirms.
type planScreen struct {
	c       *common
	profile *steps.Profile
	plan    *steps.Plan
	upn     string
	vp      viewport.Model
	w, h    int
}

func newPlanScreen(c *common, p *steps.Profile) *planScreen {
	return &planScreen{c: c, profile: p, vp: newScroller(c.keys)}
}

func (s *planScreen) Init() tea.Cmd { return nil }
func (s *planScreen) Typing() bool  { return false }

func (s *planScreen) setPlan(p *steps.Plan, upn string) {
	s.plan, s.upn = p, upn
	s.SetSize(s.w, s.h)
}

func (s *planScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	if s.plan == nil {
		return
	}
	body := s.body()
	s.vp.SetWidth(w)
	s.vp.SetHeight(min(max(h-lipgloss.Height(s.header())-3, 2), lipgloss.Height(body)))
	s.vp.SetContent(body)
}

func (s *planScreen) Keys() []key.Binding {
	k := s.c.keys
	ready := s.plan != nil
	blocked := ready && s.plan.Blocker != nil
	scroll := ready && s.vp.TotalLineCount() > s.vp.Height()
	return []key.Binding{
		on(k.Confirm, ready && !blocked),
		on(withHelp(k.Down, "scroll"), scroll),
		on(k.Manual, ready),
		withHelp(k.Back, "back"),
	}
}

func (s *planScreen) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	k := s.c.keys
	switch {
	case key.Matches(km, k.Back):
		return emit(backMsg{})
	case s.plan == nil:
		return nil
	case key.Matches(km, k.Confirm) && s.plan.Blocker == nil:
		return emit(planConfirmedMsg{})
	case key.Matches(km, k.Manual):
		return emit(manualRequested{})
	}
	var cmd tea.Cmd
	s.vp, cmd = s.vp.Update(km)
	return cmd
}

func (s *planScreen) header() string {
	st := s.c.styles
	t := s.plan.Tenant
	name := t.DisplayName
	if name == "" {
		name = t.ID
	}
	domain := t.PrimaryDomain
	if domain == "" {
		domain = t.InitialDomain
	}
	h := st.Heading.Render("The plan for "+steps.Printable(name)) + st.Subtle.Render(" · "+steps.Printable(domain)) + "\n"
	who := "Signed in as " + s.upn
	if len(s.plan.Roles) > 0 {
		who += " — " + strings.Join(s.plan.Roles, ", ")
	}
	return h + st.Subtle.Render(ansi.Truncate(steps.Printable(who), s.w, "…"))
}

// body is the scrollable part: items, warnings and the blocker.
func (s *planScreen) body() string {
	st := s.c.styles
	var b strings.Builder
	if bl := s.plan.Blocker; bl != nil {
		// The blocker first: it is what the admin must act on.
		title, hint := "This plan cannot be applied with this sign-in",
			"Sign in as an admin who holds the role (esc, then choose again), or press m to do the setup by hand in the portal."
		if bl.Code == "SavedAppNotFound" {
			// Not a matter of roles: another admin's sign-in meets the same.
			title, hint = "The app this connection was set up with is missing", ""
		}
		inner := st.Err.Render(title) + "\n" + ansi.Wrap(steps.Printable(bl.Message), s.w-4, " ")
		if bl.Remedy != "" {
			inner += "\n" + ansi.Wrap(steps.Printable(bl.Remedy), s.w-4, " ")
		}
		if hint != "" {
			inner += "\n" + ansi.Wrap(hint, s.w-4, " ")
		}
		b.WriteString(st.ErrBox.Width(s.w).Render(inner) + "\n\n")
	}
	actionW := 7
	detailW := max(s.w-actionW-4, 20)
	for _, it := range s.plan.Items {
		glyph, style := "+", st.OK
		switch it.Action {
		case "update", "set":
			glyph, style = "~", st.Warn
		case "grant":
			glyph, style = "+", st.Accent
		case "keep":
			glyph, style = "=", st.Subtle
		case "pending":
			// Consent this admin cannot grant: left, with its URL, for one who can.
			glyph, style = "…", st.Warn
		case "check":
			glyph, style = "?", st.Subtle
		}
		b.WriteString(style.Render(fmt.Sprintf("%s %-*s", glyph, actionW, it.Action)) + " " + ansi.Wrap(steps.Printable(it.Object), detailW, " ") + "\n")
		if it.Detail != "" {
			for _, l := range strings.Split(ansi.Wrap(steps.Printable(it.Detail), detailW, " ,"), "\n") {
				b.WriteString(strings.Repeat(" ", actionW+3) + st.Subtle.Render(l) + "\n")
			}
		}
	}
	for _, w := range s.plan.Warnings {
		b.WriteString("\n" + st.Warn.Render(ansi.Wrap("! "+steps.Printable(w), s.w, " ")))
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *planScreen) View() string {
	st := s.c.styles
	if s.plan == nil {
		return st.Heading.Render("Reading the tenant") + "\n\n" + st.Accent.Render(s.c.spin) + " " +
			ansi.Wrap("the organisation, your directory roles, Microsoft Graph's permissions and any app already registered for this profile — nothing is written", s.w-2, " ")
	}
	foot := st.Subtle.Render("Nothing is written until you press ") + st.Key.Render("enter") + st.Subtle.Render(".")
	switch {
	case s.plan.Blocker != nil:
		foot = st.Err.Render("Blocked.") + st.Subtle.Render(" Press ") + st.Key.Render("m") + st.Subtle.Render(" to do it by hand, or ") + st.Key.Render("esc") + st.Subtle.Render(" to go back.")
	case !s.plan.Changes():
		foot = st.OK.Render("Everything is in place already.") + st.Subtle.Render(" Press ") + st.Key.Render("enter") + st.Subtle.Render(" to check it and hand off the values.")
	}
	if s.vp.TotalLineCount() > s.vp.Height() && !s.vp.AtBottom() {
		foot = st.Subtle.Render("↓ more · ") + foot
	}
	return s.header() + "\n\n" + s.vp.View() + "\n\n" + foot
}
