package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
)

type signInState int

const (
	signInStarting signInState = iota
	signInSilent
	signInCode
	signInBrowser
	signInBlocked
)

// signIn is the admin's sign-in: the device code, large, with the URL, a
// countdown and a copy key; or, when Conditional Access blocks device
// codes, the offer of a browser sign-in.
type signIn struct {
	c       *common
	profile *steps.Profile
	tenant  string
	state   signInState
	prompt  *SignInPrompt
	err     *graphapi.Error
	copied  bool
	url     string // the browser sign-in address, when no browser was opened
	w, h    int
}

func newSignIn(c *common, p *steps.Profile, tenant string) *signIn {
	return &signIn{c: c, profile: p, tenant: tenant}
}

func (s *signIn) Init() tea.Cmd       { return nil }
func (s *signIn) SetSize(w, h int)    { s.w, s.h = w, h }
func (s *signIn) Typing() bool        { return false }
func (s *signIn) browser()            { s.state = signInBrowser }
func (s *signIn) browserURL(u string) { s.url = u }
func (s *signIn) blocked(err error)   { s.state, s.err = signInBlocked, graphapi.Classify(err) }
func (s *signIn) counting() bool      { return s.state == signInCode && !s.expired() }
func (s *signIn) remaining() time.Duration {
	if s.prompt == nil || s.prompt.Expires.IsZero() {
		return time.Hour
	}
	return s.prompt.Expires.Sub(s.c.now())
}
func (s *signIn) expired() bool { return s.remaining() <= 0 }

func (s *signIn) setPrompt(p *SignInPrompt) {
	s.prompt = p
	s.state = signInCode
	if p.Code == "" {
		s.state = signInSilent
	}
}

func (s *signIn) Keys() []key.Binding {
	k := s.c.keys
	code := s.state == signInCode
	return []key.Binding{
		on(k.Copy, code && !s.expired()),
		on(k.NewCode, code && s.expired()),
		on(k.Browser, s.state == signInBlocked),
		on(k.Manual, s.state == signInBlocked),
		withHelp(k.Back, "cancel"),
	}
}

func (s *signIn) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case copiedMsg:
		s.copied = true
	case tea.KeyPressMsg:
		k := s.c.keys
		switch {
		case key.Matches(msg, k.Back):
			return emit(cancelSignInMsg{})
		case s.state == signInCode && !s.expired() && key.Matches(msg, k.Copy):
			return tea.Batch(tea.SetClipboard(s.prompt.Code), emit(copiedMsg{label: "code"}))
		case s.state == signInCode && s.expired() && key.Matches(msg, k.NewCode):
			return emit(newCodeMsg{})
		case s.state == signInBlocked && key.Matches(msg, k.Browser):
			return emit(browserSignInMsg{})
		case s.state == signInBlocked && key.Matches(msg, k.Manual):
			return emit(manualRequested{})
		}
	}
	return nil
}

func (s *signIn) View() string {
	st := s.c.styles
	var b strings.Builder
	who := "the tenant"
	if s.tenant != "" {
		who = s.tenant
	}
	b.WriteString(st.Heading.Render("Sign in as an administrator of "+steps.Printable(who)) + "\n\n")
	switch s.state {
	case signInStarting:
		b.WriteString(st.Accent.Render(s.c.spin) + " starting the sign-in…")
	case signInSilent:
		b.WriteString(st.Accent.Render(s.c.spin) + " signing in with your saved sign-in…")
	case signInBrowser:
		if s.url != "" {
			// Never wrapped: the address is copied whole.
			b.WriteString("Open this address in a browser and sign in:\n\n" + steps.Printable(s.url) + "\n\n")
		}
		b.WriteString(st.Accent.Render(s.c.spin) + " finish signing in in your browser; this screen moves on by itself.")
	case signInBlocked:
		b.WriteString(st.Err.Render("✗ Conditional Access blocked the device-code sign-in") + "\n")
		b.WriteString(ansi.Wrap(steps.Printable(s.err.Message), s.w, " ") + codeSuffix(st, s.err) + "\n\n")
		if s.err.Remedy != "" {
			b.WriteString(ansi.Wrap(steps.Printable(s.err.Remedy), s.w, " ") + "\n\n")
		}
		b.WriteString(ansi.Wrap("Your organisation may allow a sign-in in the browser on this computer instead.", s.w, " ") + "\n")
		b.WriteString(st.Key.Render("o") + " sign in with the browser   " + st.Key.Render("m") + " do the setup by hand in the portal")
	case signInCode:
		// The URL and the code are the identity service's words.
		b.WriteString("1. Open  " + st.Accent.Render(steps.Printable(s.prompt.URL)) + "\n")
		b.WriteString("2. Enter this code:\n\n")
		b.WriteString(indent(st.Code.Render(spaced(steps.Printable(s.prompt.Code))), 3) + "\n\n")
		if s.expired() {
			b.WriteString(st.Err.Render("The code has expired.") + " Press " + st.Key.Render("r") + " for a new one.")
			break
		}
		left := s.remaining().Round(time.Second)
		exp := fmt.Sprintf("expires in %d:%02d", int(left.Minutes()), int(left.Seconds())%60)
		if left < time.Minute {
			exp = st.Warn.Render(exp)
		}
		b.WriteString(st.Accent.Render(s.c.spin) + " waiting for you to approve · the code " + exp)
		if s.copied {
			b.WriteString(st.OK.Render("  ✓ copied"))
		}
		b.WriteString("\n\n" + st.Subtle.Render(ansi.Wrap("Use an account that may register apps and grant admin consent (Global Administrator, or Privileged Role Administrator).", s.w, " ")))
	}
	return b.String()
}

// spaced spreads a device code out so each character reads on its own.
func spaced(code string) string {
	return strings.Join(strings.Split(code, ""), " ")
}

func codeSuffix(st *styles, e *graphapi.Error) string {
	if e.Code == "" {
		return ""
	}
	return st.Subtle.Render(" (" + steps.Printable(e.Code) + ")")
}
