package ui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// common is what every screen shares with the root: styles, keys, the
// clock and the spinner's current frame.
type common struct {
	styles    *styles
	keys      *keyMap
	now       func() time.Time
	spin      string
	simulated bool // the demo's tenant: secrets live in memory only
}

// secretsPlace is where the wizard keeps client secrets, for the text.
func (c *common) secretsPlace() string { return secretsPlace(c.simulated) }

func secretsPlace(simulated bool) string {
	if simulated {
		return "memory only (this demo)"
	}
	return "the OS keyring"
}

// screen is one child of the root: the active step's screen. Screens turn
// keys into intents (messages the root acts on) and never call the Backend.
type screen interface {
	Init() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	// Keys are the bindings that do something on the screen now.
	Keys() []key.Binding
	// Typing reports whether a text field has the keyboard, so single
	// letters are text, not shortcuts.
	Typing() bool
}

const (
	wideLayout = 100 // from this width the rail stands beside the screen
	bannerText = "SIMULATED TENANT — nothing here touches Azure or your keyring"
)

// model is the root: it owns the procedure's state (the rail, the chosen
// profile, the plan), routes messages to the one active screen, and runs
// every Backend call in a command.
type model struct {
	ctx  context.Context
	b    Backend
	opts Options
	c    *common

	width, height int
	simulated     bool
	fixedTenant   string

	profiles []*steps.Profile
	profile  *steps.Profile
	choice   int
	tenant   string
	prompt   *SignInPrompt // the sign-in in hand
	setup    Setup         // the setup in hand, once signed in
	plan     *steps.Plan
	manual   bool // the connection was entered by hand
	conns    []store.Connection

	rail     *rail
	showRail bool
	spinner  spinner.Model
	help     help.Model
	fullHelp bool

	screen screen
	// beforeManual is the screen the manual path returns to.
	beforeManual screen
	onDashboard  bool
	// afterSetup is the screen to open on the new connection once the
	// dashboard has loaded: "groups" or "sync" (from the finish screen).
	afterSetup string
	dash       *dashboard

	// The operation in flight: its generation, cancel and context.
	gen    int
	op     op
	busy   bool
	opCtx  context.Context
	cancel context.CancelFunc
	events chan tea.Msg // the stream of the operation in flight

	confirmQuit bool
	finished    bool
	result      error
	// handingOffRotation is set while the hand-off screen shows a secret
	// rotated from the dashboard: finishing returns to the dashboard.
	handingOffRotation bool
	// handoffName is the connection whose values the hand-off shows.
	handoffName string
}

func newModel(ctx context.Context, b Backend, opts Options) *model {
	st := newStyles(opts.NoColor)
	c := &common{styles: st, keys: newKeyMap(), now: time.Now, simulated: b.Simulated()}
	m := &model{ctx: ctx, b: b, opts: opts, c: c, width: 80, height: 24,
		// Simulated and Tenant are plain settings, read here so the very
		// first frame carries the banner; everything else is read in
		// commands.
		simulated: b.Simulated(), fixedTenant: b.Tenant(),
		rail: newRail(), showRail: true, help: help.New()}
	if opts.Width > 0 && opts.Height > 0 {
		m.width, m.height = opts.Width, opts.Height
	}
	m.tenant = m.fixedTenant
	m.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(st.Accent))
	m.c.spin = m.spinner.View()
	m.help.Styles = st.Help
	m.rail.set(railProfile, statusCurrent, "")
	m.screen = newLoading(c)
	m.busy = true
	m.layout()
	return m
}

func (m *model) Init() tea.Cmd {
	return tea.Batch(loadCmd(m.b), m.spinner.Tick)
}

// show makes s the active screen, sized to the layout.
func (m *model) show(s screen) tea.Cmd {
	m.screen = s
	m.fullHelp = false
	m.layout()
	return s.Init()
}

// begin starts a new operation, cancelling any in flight.
func (m *model) begin(o op) (context.Context, int) {
	m.stop()
	m.gen++
	m.op = o
	m.busy = true
	m.opCtx, m.cancel = context.WithCancel(m.ctx)
	return m.opCtx, m.gen
}

// stop cancels the operation in flight, if any.
func (m *model) stop() {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	m.busy = false
}

// ended marks the operation of generation gen finished; false when the
// result is stale.
func (m *model) ended(gen int) bool {
	if gen != m.gen {
		return false
	}
	m.busy = false
	return true
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil

	case tea.KeyPressMsg:
		return m, m.key(msg)

	case spinner.TickMsg:
		if !m.busy {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		m.c.spin = m.spinner.View()
		return m, cmd

	case quitMsg:
		return m, m.quit()
	}

	if cmd, handled := m.intent(msg); handled {
		return m, cmd
	}
	if cmd, handled := m.outcome(msg); handled {
		return m, cmd
	}
	return m, m.screen.Update(msg)
}

// key handles the keys that mean the same everywhere, then hands the rest
// to the screen.
func (m *model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.keys
	if key.Matches(msg, k.ForceQ) {
		return m.quit()
	}
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.Yes):
			return m.quit()
		case key.Matches(msg, k.No), key.Matches(msg, k.Quit):
			m.confirmQuit = false
			m.layout()
		}
		return nil
	}
	if !m.screen.Typing() {
		switch {
		case key.Matches(msg, k.Help):
			m.fullHelp = !m.fullHelp
			m.layout()
			return nil
		case key.Matches(msg, k.Quit):
			if m.busy && (m.op == opExecute || m.op == opManual) {
				m.confirmQuit = true
				m.layout()
				return nil
			}
			return m.quit()
		}
	}
	return m.screen.Update(msg)
}

// quit ends the program, returning from Run the failure on screen, nil
// when nothing was left half done, or ErrQuit.
func (m *model) quit() tea.Cmd {
	m.stop()
	switch s := m.screen.(type) {
	case *failure:
		m.result = s.err
	case *loading, *welcome, *dashboard, *handoff, *finish, *picker, *syncScreen:
		// Nothing half done: the hand-off only shows what is already
		// set up, and can be seen again with entrawiz status.
		m.result = nil
	default:
		if !m.finished {
			m.result = ErrQuit
		}
	}
	return tea.Quit
}

// layout sizes the active screen for the terminal.
func (m *model) layout() {
	w, h := m.screenSize()
	m.screen.SetSize(w, h)
	m.help.SetWidth(m.width - 2)
}

func (m *model) chromeHeight() int {
	h := 1 // help bar
	if m.fullHelp && !m.confirmQuit {
		h = lipgloss.Height(m.help.FullHelpView(m.helpKeys().FullHelp()))
	}
	if m.simulated {
		h++
	}
	if m.showRail && !m.railBeside() {
		h += 2 // the collapsed rail and a rule
	}
	return h + 1 // a blank line above the help
}

func (m *model) screenSize() (int, int) {
	w := m.width - 2
	if m.railBeside() {
		w = m.width - m.railWidth() - 4
	}
	return max(w, 10), max(m.height-m.chromeHeight(), 3)
}

func (m *model) helpKeys() helpKeys {
	k := m.c.keys
	sk := m.screen.Keys()
	quit := on(k.Quit, !m.screen.Typing())
	if m.screen.Typing() {
		quit = k.ForceQ
	}
	short := append(append([]key.Binding{}, sk...), on(k.Help, !m.screen.Typing()), quit)
	return helpKeys{short: short, full: [][]key.Binding{sk, {k.Help, k.Quit, k.ForceQ}}}
}

func (m *model) View() tea.View {
	s := m.c.styles
	var parts []string
	if m.simulated {
		parts = append(parts, s.Banner.Width(m.width).Render(ansi.Truncate(bannerText, m.width-2, "…")))
	}
	sw, sh := m.screenSize()
	body := fit(m.screen.View(), sw, sh)
	switch {
	case m.railBeside():
		rw := m.railWidth()
		r := s.Rail.Width(rw).Height(sh).Render(fit(m.rail.view(s, m.c.spin, rw-2, sh), rw-2, sh))
		body = lipgloss.JoinHorizontal(lipgloss.Top, " ", r, "  ", body)
	case m.showRail:
		line := " " + m.rail.line(s, m.c.spin, m.width-2)
		rule := " " + s.Subtle.Render(strings.Repeat("─", max(m.width-2, 0)))
		body = line + "\n" + rule + "\n" + indent(body, 1)
	default:
		body = indent(body, 1)
	}
	parts = append(parts, body, "")
	switch {
	case m.confirmQuit:
		parts = append(parts, " "+s.Warn.Render("Stop now? Finished steps are saved; run entrawiz again to resume.")+" "+
			s.Key.Render("y")+s.Subtle.Render(" stop • ")+s.Key.Render("n")+s.Subtle.Render(" keep going"))
	case m.fullHelp:
		parts = append(parts, indent(m.help.FullHelpView(m.helpKeys().FullHelp()), 1))
	default:
		parts = append(parts, " "+m.help.ShortHelpView(m.helpKeys().ShortHelp()))
	}
	v := tea.NewView(fit(strings.Join(parts, "\n"), m.width, m.height))
	v.AltScreen = true
	v.WindowTitle = "entrawiz"
	return v
}

// wideScreen is a screen that needs the whole width: values to copy whole.
type wideScreen interface{ Wide() bool }

// railBeside reports whether the rail stands beside the screen, rather
// than collapsed to a line above it.
func (m *model) railBeside() bool {
	if w, ok := m.screen.(wideScreen); ok && w.Wide() {
		return false
	}
	return m.showRail && m.width >= wideLayout
}

// railWidth is the rail's width beside the screen, border included.
func (m *model) railWidth() int { return min(max(m.width/4, 30), 44) }

// fit cuts s to w columns and exactly h lines, so no screen can push the
// layout past the terminal.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
