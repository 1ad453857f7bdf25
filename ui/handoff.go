package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
)

// handoff lists the values the product asks for, each with a copy key.
// The client secret stays hidden until the admin asks twice: once to see
// the warning, once to show it.
type handoff struct {
	c        *common
	values   []steps.HandoffValue
	secret   string // fetched on request only
	revealed bool
	warning  bool
	copied   string
	w, h     int
}

func newHandoff(c *common) *handoff { return &handoff{c: c} }

func (s *handoff) Init() tea.Cmd    { return nil }
func (s *handoff) SetSize(w, h int) { s.w, s.h = w, h }
func (s *handoff) Typing() bool     { return false }

// Wide: the hand-off needs the whole width, so that the IDs, the secret
// and the authority URL each fit on one line to be selected whole.
func (s *handoff) Wide() bool { return true }

func (s *handoff) secretIndex() int {
	for i, v := range s.values {
		if v.Secret {
			return i
		}
	}
	return -1
}

// setValues takes the Backend's values; with reveal, the secret's value is
// among them, and copyIndex says whether it was fetched to be copied.
func (s *handoff) setValues(values []steps.HandoffValue, reveal bool, copyIndex int) tea.Cmd {
	if !reveal {
		s.values = values
		return nil
	}
	for _, v := range values {
		if v.Secret {
			s.secret = v.Value
		}
	}
	if copyIndex >= 0 {
		return s.copy(copyIndex)
	}
	s.revealed = true
	return nil
}

func (s *handoff) copy(i int) tea.Cmd {
	if i < 0 || i >= len(s.values) {
		return nil
	}
	v := s.values[i]
	value := v.Value
	if v.Secret {
		if s.secret == "" {
			return emit(revealRequested{copy: i})
		}
		value = s.secret
	}
	return tea.Batch(tea.SetClipboard(value), emit(copiedMsg{label: v.Label}))
}

func (s *handoff) Keys() []key.Binding {
	k := s.c.keys
	hasSecret := s.secretIndex() >= 0
	reveal := withHelp(k.Reveal, "show secret")
	if s.warning {
		reveal = withHelp(k.Reveal, "yes, show it")
	}
	return []key.Binding{on(k.CopyN, len(s.values) > 0), on(reveal, hasSecret && !s.revealed), withHelp(k.Continue, "finish")}
}

func (s *handoff) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case copiedMsg:
		s.copied = msg.label
	case tea.KeyPressMsg:
		k := s.c.keys
		switch {
		case key.Matches(msg, k.CopyN):
			return s.copy(int(msg.Code - '1'))
		case key.Matches(msg, k.Reveal) && s.secretIndex() >= 0 && !s.revealed:
			if !s.warning {
				s.warning = true
				return nil
			}
			s.warning = false
			if s.secret != "" {
				s.revealed = true
				return nil
			}
			return emit(revealRequested{copy: -1})
		case s.warning && key.Matches(msg, k.Back):
			s.warning = false
		case key.Matches(msg, k.Continue):
			return emit(finishMsg{})
		}
	}
	return nil
}

func (s *handoff) View() string {
	st := s.c.styles
	var b strings.Builder
	b.WriteString(st.OK.Render("✓ Connected.") + " " + st.Heading.Render("Give the product these values") + "\n\n")
	if s.values == nil {
		return b.String() + st.Accent.Render(s.c.spin) + " reading the values…"
	}
	labelW := 0
	for _, v := range s.values {
		labelW = max(labelW, len(v.Label))
	}
	valueW := max(s.w-labelW-6, 12)
	for i, v := range s.values {
		// Values such as the primary domain come from the tenant.
		value := steps.Printable(v.Value)
		switch {
		case v.Secret && s.revealed:
			value = st.Warn.Render(steps.Printable(s.secret))
		case v.Secret:
			value = st.Subtle.Render(fmt.Sprintf("•••••••• hidden · s shows it, %d copies it unseen", i+1))
		case value == "":
			value = st.Subtle.Render("(none)")
		}
		head := st.Key.Render(fmt.Sprintf("%d", i+1)) + "  " + fmt.Sprintf("%-*s", labelW, v.Label)
		copyable := v.Value != "" || (v.Secret && s.revealed)
		switch {
		case ansi.StringWidth(value) <= valueW:
			b.WriteString(head + "  " + value + "\n")
		case !copyable:
			lines := strings.Split(ansi.Wrap(value, valueW, " "), "\n")
			b.WriteString(head + "  " + lines[0] + "\n")
			for _, l := range lines[1:] {
				b.WriteString(strings.Repeat(" ", labelW+5) + l + "\n")
			}
		default:
			// A value to copy is never wrapped (a mouse copy of a wrapped
			// line takes the line break with it): it gets a line of its
			// own, and what does not fit even there is cut in the middle
			// with its copy key said.
			b.WriteString(head + "\n" + "   " + fitValue(value, max(s.w-3, 12), i+1) + "\n")
		}
	}
	b.WriteString("\n")
	switch {
	case s.warning:
		b.WriteString(st.Warn.Render(ansi.Wrap("! The secret will be shown on screen. Anyone who can see it — over your shoulder, on a screen share, in a recording — can act as the app. Press s again to show it, esc to keep it hidden.", s.w, " ")) + "\n")
	case s.revealed:
		b.WriteString(st.Warn.Render(ansi.Wrap("! The secret is on screen. It is also in the OS keyring; entrawiz never writes it to a file.", s.w, " ")) + "\n")
	}
	if s.warning || s.revealed {
		b.WriteString("\n")
	}
	if s.copied != "" {
		b.WriteString(st.OK.Render("✓ copied "+steps.Printable(s.copied)) + " " + st.Subtle.Render(s.sentNote()) + "\n" +
			st.Subtle.Render(ansi.Wrap(s.copyFallback(), s.w, " ")) + "\n")
	} else {
		b.WriteString(st.Subtle.Render(ansi.Wrap("Press a number to copy that value to the clipboard. Press enter when the product has them.", s.w, " ")) + "\n")
	}
	return b.String()
}

// sentNote says what was sent to the clipboard, without showing a hidden
// secret: the terminal may drop it, and the admin should know what to
// expect when pasting.
func (s *handoff) sentNote() string {
	for _, v := range s.values {
		if v.Label != s.copied {
			continue
		}
		if v.Secret {
			return fmt.Sprintf("(%d characters sent, starting %.3s…)", len(s.secret), s.secret)
		}
		return fmt.Sprintf("(%d characters sent)", len(v.Value))
	}
	return ""
}

// copyFallback says what to do when the terminal dropped the clipboard
// text (OSC 52 is off in many terminals and multiplexers).
func (s *handoff) copyFallback() string {
	i := slices.IndexFunc(s.values, func(v steps.HandoffValue) bool { return v.Label == s.copied })
	if i >= 0 && s.values[i].Secret && !s.revealed {
		return "Sent through the terminal (OSC 52), which some terminals drop: if pasting gives nothing, press s to show the secret and select it."
	}
	return "Sent through the terminal (OSC 52), which some terminals drop: if pasting gives nothing, select the value on screen."
}

// fitValue is value whole when it fits in w cells, else its start and end
// around a note saying which key copies it whole.
func fitValue(value string, w, n int) string {
	if ansi.StringWidth(value) <= w {
		return value
	}
	note := fmt.Sprintf(" … (%d copies it whole) … ", n)
	keep := w - len(note)
	if keep < 8 {
		return ansi.Truncate(value, w, "…")
	}
	plain := ansi.Strip(value)
	return plain[:keep/2] + note + plain[len(plain)-(keep-keep/2):]
}

// finish is the last screen: what was set up and what to run later.
type finish struct {
	c       *common
	profile *steps.Profile
	plan    *steps.Plan
	manual  bool
	// record and reminder are the files the setup wrote: its change
	// record and the calendar reminder of the secret's expiry.
	record, reminder string
	w, h             int
}

func newFinish(c *common, p *steps.Profile, plan *steps.Plan, manual bool) *finish {
	return &finish{c: c, profile: p, plan: plan, manual: manual}
}

func (s *finish) Init() tea.Cmd    { return nil }
func (s *finish) SetSize(w, h int) { s.w, s.h = w, h }
func (s *finish) Typing() bool     { return false }
func (s *finish) Keys() []key.Binding {
	k := s.c.keys
	keys := []key.Binding{withHelp(k.Continue, "quit")}
	switch s.next() {
	case "groups":
		keys = append(keys, withHelp(k.Groups, "pick the groups to sync"))
	case "sync":
		keys = append(keys, withHelp(k.Sync, "sync its group now"))
	}
	return keys
}

func (s *finish) next() string { return syncNext(s.profile) }

func (s *finish) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	switch {
	case !ok:
	case key.Matches(km, s.c.keys.Continue):
		return emit(quitMsg{})
	case s.next() == "groups" && key.Matches(km, s.c.keys.Groups), s.next() == "sync" && key.Matches(km, s.c.keys.Sync):
		return emit(afterSetupMsg{open: s.next()})
	}
	return nil
}

// afterSetupMsg asks for the dashboard, with the new connection's picker
// or sync screen open.
type afterSetupMsg struct{ open string }

func (s *finish) View() string {
	st := s.c.styles
	var b strings.Builder
	b.WriteString(st.OK.Render("✓ All done") + "\n\n")
	what := "The connection"
	if s.profile != nil {
		what = fmt.Sprintf("%q (%s)", s.profile.AppName, s.profile.Name)
	}
	where := "your tenant"
	if s.plan != nil && s.plan.Tenant.DisplayName != "" {
		where = steps.Printable(s.plan.Tenant.DisplayName)
	}
	how := "is set up, tested with an app-only sign-in, and enabled."
	if s.manual {
		how = "was entered by hand, tested with an app-only sign-in, and enabled."
	}
	b.WriteString(ansi.Wrap(fmt.Sprintf("%s in %s %s", what, where, how), s.w, " ") + "\n")
	if s.profile != nil && s.profile.Secret != nil {
		b.WriteString(ansi.Wrap(fmt.Sprintf("The client secret is in %s and expires in %d days; entrawiz status warns a month before.", s.c.secretsPlace(), s.profile.Secret.LifetimeDays), s.w, " ") + "\n")
	}
	if s.reminder != "" {
		b.WriteString(ansi.Wrap("A calendar reminder of that date (alarms 30 and 7 days before) is in "+s.reminder+": add it to your calendar.", s.w, " ") + "\n")
	}
	if s.record != "" {
		b.WriteString(ansi.Wrap("What was changed, for your change ticket: "+s.record, s.w, " ") + "\n")
	}
	switch s.next() {
	case "groups":
		b.WriteString("\n" + ansi.Wrap("Next: pick the groups whose users the product gets — press "+st.Key.Render("g")+"; then the first sync shows what it will do before it writes anything.", s.w, " ") + "\n")
	case "sync":
		b.WriteString("\n" + ansi.Wrap("Next: the users of the profile's group are synced — press "+st.Key.Render("s")+" to preview the first sync.", s.w, " ") + "\n")
	}
	b.WriteString("\n" + st.Strong.Render("Later") + "\n")
	for _, c := range [][2]string{
		{"entrawiz", "this wizard opens on the dashboard: status and actions"},
		{"entrawiz status", "secret expiry, consent and the last test"},
		{"entrawiz test", "test the connection again"},
	} {
		b.WriteString("  " + st.Accent.Render(fmt.Sprintf("%-16s", c[0])) + " " + ansi.Truncate(c[1], max(s.w-20, 10), "…") + "\n")
	}
	return b.String()
}

// kindOf is the failure kind of err, for one-line results.
func kindOf(err error) string { return graphapi.Classify(err).Kind.String() }
