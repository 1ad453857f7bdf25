package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// dashboard is where a re-run opens: every saved connection with its app,
// secret expiry, last test and warnings, and the actions on them.
type dashboard struct {
	c       *common
	conns   []store.Connection
	cursor  int
	confirm bool // reset asked, waiting for y/n
	test    string
	doing   string            // what runs on d.test: "testing", "rotating the secret of"
	last    string            // the running test's latest event
	results map[string]string // this session's test results, by connection
	// live is what the tenant said about each connection this session:
	// its word on the secret wins over the config's record.
	live map[string]*app.LiveView
	w, h int
}

func newDashboard(c *common, conns []store.Connection) *dashboard {
	return &dashboard{c: c, conns: conns, results: map[string]string{}, live: map[string]*app.LiveView{}}
}

func (d *dashboard) Init() tea.Cmd    { return nil }
func (d *dashboard) SetSize(w, h int) { d.w, d.h = w, h }
func (d *dashboard) Typing() bool     { return false }

func (d *dashboard) setConnections(conns []store.Connection) {
	d.conns = conns
	d.cursor = min(d.cursor, max(len(conns)-1, 0))
}

// checked keeps what the tenant said about a connection.
func (d *dashboard) checked(name string, v *app.LiveView) {
	if v != nil {
		d.live[name] = v
	}
}

func (d *dashboard) testing(name string) {
	d.test, d.doing, d.last = name, "testing", "starting the test"
	delete(d.results, name)
}

func (d *dashboard) rotating(name string) {
	d.test, d.doing, d.last = name, "rotating the secret of", "signing in"
	delete(d.results, name)
}

func (d *dashboard) rotateResult(name string, res *steps.RotateResult, err error) {
	d.test = ""
	if err != nil {
		d.results[name] = "✗ rotation failed: " + kindOf(err) + " (the old secret still works)"
		return
	}
	d.results[name] = rotateSummary(res)
}

func (d *dashboard) event(ev steps.Event) {
	if ev.Kind == steps.DeviceCode {
		d.last = fmt.Sprintf("sign in: open %s and enter the code %s", ev.URL, ev.Code)
		return
	}
	if ev.Message != "" {
		d.last = ev.Message
	}
}

func (d *dashboard) tested(name string, res *steps.TestResult, err error) {
	d.test = ""
	switch {
	case err != nil:
		d.results[name] = "✗ test failed: " + kindOf(err)
	case res != nil:
		d.results[name] = "✓ " + res.Summary()
	default:
		d.results[name] = "✓ test passed"
	}
}

func (d *dashboard) selected() string {
	if d.cursor < len(d.conns) {
		return d.conns[d.cursor].Name
	}
	return ""
}

func (d *dashboard) Keys() []key.Binding {
	k := d.c.keys
	if d.confirm {
		return []key.Binding{withHelp(k.Yes, "yes, reset"), withHelp(k.No, "no")}
	}
	idle := d.test == ""
	many := len(d.conns) > 1
	return []key.Binding{on(withHelp(k.Up, "up"), many), on(withHelp(k.Down, "down"), many),
		on(k.Test, idle), on(k.Rotate, idle), on(k.Groups, idle), on(k.Sync, idle), on(k.Another, idle), on(k.Reset, idle)}
}

func (d *dashboard) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	k := d.c.keys
	if d.confirm {
		switch {
		case key.Matches(km, k.Yes):
			d.confirm = false
			return emit(resetConnMsg{name: d.selected()})
		case key.Matches(km, k.No):
			d.confirm = false
		}
		return nil
	}
	switch {
	case key.Matches(km, k.Up):
		d.cursor = max(d.cursor-1, 0)
	case key.Matches(km, k.Down):
		d.cursor = min(d.cursor+1, len(d.conns)-1)
	case d.test != "":
	case key.Matches(km, k.Test):
		return emit(testConnMsg{name: d.selected()})
	case key.Matches(km, k.Rotate):
		return emit(rotateConnMsg{name: d.selected()})
	case key.Matches(km, k.Groups):
		return emit(openPickerMsg{name: d.selected()})
	case key.Matches(km, k.Sync):
		return emit(openSyncMsg{name: d.selected()})
	case key.Matches(km, k.Another):
		return emit(setupAnotherMsg{})
	case key.Matches(km, k.Reset):
		d.confirm = true
	}
	return nil
}

func (d *dashboard) View() string {
	st := d.c.styles
	head := st.Heading.Render("Your connections") + st.Subtle.Render(fmt.Sprintf(" · %d saved", len(d.conns))) + "\n\n"
	var foot string
	switch {
	case d.confirm:
		foot = st.Warn.Render(ansi.Wrap(fmt.Sprintf("Reset %s? Its secret leaves the keyring and the connection leaves the config; the app stays in Entra (`entrawiz reset --delete-app` removes it). y/n", steps.Printable(d.selected())), d.w, " "))
	case d.test != "":
		test := steps.Printable(d.test)
		foot = st.Accent.Render(d.c.spin) + " " + d.doing + " " + test + ": " + ansi.Truncate(steps.Printable(d.last), max(d.w-len(test)-len(d.doing)-5, 10), "…")
	}
	room := d.h - lipgloss.Height(head) - lipgloss.Height(foot) - 1
	var cards []string
	for i, c := range d.conns {
		cards = append(cards, d.card(i, c))
	}
	// Show the cards from the first that keeps the cursor's in view.
	start := 0
	for start < d.cursor {
		h := 0
		for _, c := range cards[start : d.cursor+1] {
			h += lipgloss.Height(c) + 1
		}
		if h <= room {
			break
		}
		start++
	}
	body := strings.Join(cards[start:], "\n\n")
	return head + fit(body, d.w, max(room, 1)) + "\n" + foot
}

// fact is one line of a connection's card; alert facts are shown in red.
type fact struct {
	label, value string
	alert, warn  bool
}

// connectionFacts is what the dashboard says about a connection: its app,
// tenant, secret expiry, last test (result: this session's, if any), and
// the warnings that follow from them.
func connectionFacts(c store.Connection, now time.Time, result string, live *app.LiveView) (facts []fact, warnings []string) {
	appName := c.App.DisplayName
	if appName == "" {
		appName = c.Profile
	}
	facts = append(facts, fact{label: "App", value: fmt.Sprintf("%s · %s", appName, orNone(c.App.AppID))})
	tenant := c.Tenant.DisplayName
	if c.Tenant.PrimaryDomain != "" {
		tenant += " · " + c.Tenant.PrimaryDomain
	}
	if tenant = strings.TrimPrefix(tenant, " · "); tenant != "" {
		facts = append(facts, fact{label: "Tenant", value: tenant})
	}
	// Days left are counted where status counts them, so every surface
	// shows the same number.
	switch s := app.DescribeConnection(&c, now, live).Secret; {
	case s == nil:
		facts = append(facts, fact{label: "Secret", value: "none stored", warn: true})
		warnings = append(warnings, "no client secret is stored for this connection")
	case s.State == "unknown":
		facts = append(facts, fact{label: "Secret", value: "entered by hand; expiry unknown"})
	case s.State == "removed":
		facts = append(facts, fact{label: "Secret", value: "REMOVED from the app in Entra", alert: true})
		warnings = append(warnings, "the client secret is no longer on the app: the product cannot sign in")
	default:
		f := fact{label: "Secret", value: fmt.Sprintf("expires %s — %d days left", s.Expires.Format("2006-01-02"), s.DaysLeft)}
		switch s.State {
		case "expired":
			f.value, f.alert = fmt.Sprintf("EXPIRED on %s", s.Expires.Format("2006-01-02")), true
			warnings = append(warnings, "the client secret has expired: the product cannot sign in")
		case "expiring":
			f.alert = true
			warnings = append(warnings, fmt.Sprintf("the client secret expires in %d days", s.DaysLeft))
		}
		facts = append(facts, f)
	}
	switch t := steps.LastTest(&c); {
	case result != "":
		facts = append(facts, fact{label: "Last test", value: result, alert: strings.HasPrefix(result, "✗")})
	case t != nil && t.Passed:
		facts = append(facts, fact{label: "Last test", value: t.At.Local().Format("2006-01-02 15:04") + " — passed"})
	case t != nil:
		facts = append(facts, fact{label: "Last test", value: t.At.Local().Format("2006-01-02 15:04") + " — failed", alert: true})
		warnings = append(warnings, "the last test failed")
	default:
		facts = append(facts, fact{label: "Last test", value: "never"})
	}
	if groups := steps.PickedGroups(&c); len(groups) > 0 {
		names := make([]string, len(groups))
		for i, g := range groups {
			names[i] = g.DisplayName
		}
		facts = append(facts, fact{label: "Groups", value: fmt.Sprintf("%d picked: %s", len(groups), strings.Join(names, ", "))})
	} else if steps.LastSync(&c) != nil {
		facts = append(facts, fact{label: "Groups", value: "none picked (g picks them)"})
	}
	if s := steps.LastSync(&c); s != nil {
		f := fact{label: "Last sync", value: syncLine(s)}
		if s.Error != "" {
			f.alert = true
		}
		facts = append(facts, f)
	}
	if !c.Enabled {
		warnings = append(warnings, "the setup did not finish: run it again to complete it")
	}
	return facts, warnings
}

// card renders one connection.
func (d *dashboard) card(i int, c store.Connection) string {
	st := d.c.styles
	marker, name := "  ", st.Strong.Render(steps.Printable(c.Name))
	if i == d.cursor {
		marker, name = st.Selected.Render("▸ "), st.Selected.Render(steps.Printable(c.Name))
	}
	state := st.OK.Render("enabled")
	if !c.Enabled {
		state = st.Warn.Render("not enabled")
	}
	var b strings.Builder
	b.WriteString(marker + name + "  " + state + "\n")
	facts, warnings := connectionFacts(c, d.c.now(), d.results[c.Name], d.live[c.Name])
	for _, f := range facts {
		v := ansi.Truncate(steps.Printable(f.value), max(d.w-15, 10), "…")
		switch {
		case f.alert:
			v = st.Err.Render(v)
		case f.warn:
			v = st.Warn.Render(v)
		case f.label == "Last test" && strings.HasPrefix(f.value, "✓"):
			v = st.OK.Render(v)
		}
		b.WriteString("  " + st.Label.Render(f.label) + v + "\n")
	}
	for _, w := range warnings {
		b.WriteString("  " + st.Warn.Render(ansi.Truncate("! "+steps.Printable(w), max(d.w-2, 10), "…")) + "\n")
	}
	if s := app.DescribeConnection(&c, d.c.now(), d.live[c.Name]).Secret; s != nil && (s.State == "expiring" || s.State == "expired" || s.State == "removed") {
		// The one action that fixes it.
		b.WriteString("  " + st.Key.Render("r") + ansi.Truncate(" rotates the secret: a new one, the old kept until you finish", max(d.w-3, 10), "…") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// syncLine is the dashboard's line for a connection's last sync.
func syncLine(s *steps.SyncSummary) string {
	at := s.At.Local().Format("2006-01-02 15:04")
	kind := s.Kind
	if s.DryRun {
		kind = "preview"
	}
	if s.Error != "" {
		return fmt.Sprintf("%s — failed: %s", at, s.Error)
	}
	return fmt.Sprintf("%s — %s: %d created, %d updated, %d disabled, %d unchanged", at, kind, s.Created, s.Updated, s.Disabled+s.Deleted, s.Unchanged)
}

// connectionProfile is the profile a saved connection was set up with: the
// copy saved on it, else the one of its name on offer; nil when neither.
func connectionProfile(c *store.Connection, offered []*steps.Profile) *steps.Profile {
	if p := steps.SavedProfile(c); p != nil {
		return p
	}
	for _, p := range offered {
		if p.Name == c.Profile {
			return p
		}
	}
	return nil
}

// syncNext is what a profile that syncs users asks for once set up:
// picking the groups ("groups"), or, with a group of its own, the first
// sync ("sync"); "" for a profile that does not sync.
func syncNext(p *steps.Profile) string {
	switch {
	case p == nil || p.Sync == nil:
		return ""
	case p.Sync.Groups == "created":
		return "sync"
	}
	return "groups"
}
