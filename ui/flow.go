package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// intent acts on what a screen asked for.
func (m *model) intent(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case profileChosenMsg:
		m.profile, m.tenant = msg.profile, msg.tenant
		for i, p := range m.profiles {
			if p == msg.profile {
				m.choice = i
			}
		}
		m.rail.set(railProfile, statusDone, fmt.Sprintf("%s · %s", msg.profile.Name, msg.tenant))
		return m.startSignIn(), true

	case cancelSignInMsg, backMsg:
		return m.back(), true

	case newCodeMsg:
		return m.startSignIn(), true

	case browserSignInMsg:
		return m.startBrowserSignIn(), true

	case browserURLMsg:
		if s, ok := m.screen.(*signIn); ok && msg.gen == m.gen {
			s.browserURL(msg.url)
		}
		return nil, true

	case planConfirmedMsg:
		return m.startExecute(), true

	case manualRequested:
		m.beforeManual = m.screen
		m.stop()
		return m.show(newManual(m.c, m.profile, m.rail, false)), true

	case manualSubmitted:
		return m.startManual(msg.clientID, msg.secret), true

	case retryMsg:
		return m.retry(), true

	case revealRequested:
		return handoffCmd(m.gen, m.b, m.handoffName, true, msg.copy), true

	case finishMsg:
		if m.handingOffRotation {
			// A rotation from the dashboard: back to it, where the old
			// secret's removal is the next thing to decide.
			m.handingOffRotation = false
			return tea.Batch(m.dashboard(m.conns), connectionsCmd(m.b)), true
		}
		m.finished = true
		m.rail.set(railHandoff, statusDone, "values handed to the product")
		fin := newFinish(m.c, m.profile, m.plan, m.manual)
		if m.setup != nil {
			fin.record, fin.reminder = m.setup.Written()
		}
		return m.show(fin), true

	case testConnMsg:
		return m.startTest(msg.name), true

	case rotateConnMsg:
		return m.startRotate(msg.name), true

	case rotateDoneMsg:
		if !m.ended(msg.gen) {
			return nil, true
		}
		return m.rotated(msg), true

	case setupAnotherMsg:
		return m.welcome(), true

	case resetConnMsg:
		ctx, gen := m.begin(opReset)
		return tea.Batch(resetCmd(ctx, gen, m.b, msg.name), m.spinner.Tick), true

	case openPickerMsg:
		return m.openPicker(msg.name), true

	case searchGroupsMsg:
		return searchGroupsCmd(m.ctx, m.b, msg), true

	case countGroupsMsg:
		var cmds []tea.Cmd
		for _, id := range msg.ids {
			cmds = append(cmds, groupCountsCmd(m.ctx, m.b, msg.name, id))
		}
		return tea.Batch(cmds...), true

	case saveGroupsMsg:
		return saveGroupsCmd(m.ctx, m.b, msg.name, msg.ids), true

	case openSyncMsg:
		m.onDashboard = false
		return tea.Batch(m.show(newSyncScreen(m.c, msg.name)), m.startSync(msg.name, SyncRequest{DryRun: true})), true

	case startSyncMsg:
		return m.startSync(msg.name, msg.req), true

	case clockMsg:
		if s, ok := m.screen.(*signIn); ok && msg.gen == m.gen && s.counting() {
			return clockCmd(m.gen), true
		}
		return nil, true
	}
	return nil, false
}

// result acts on what a Backend call returned.
func (m *model) outcome(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case loadedMsg:
		m.busy = false
		m.profiles = msg.profiles
		if msg.err != nil {
			return m.show(newFailure(m.c, opLoad, "Reading the saved connections failed", msg.err, false, false)), true
		}
		if len(msg.conns) > 0 {
			return m.dashboard(msg.conns), true
		}
		return m.welcome(), true

	case afterSetupMsg:
		m.afterSetup = msg.open
		return connectionsCmd(m.b), true

	case tenantCheckedMsg:
		if m.dash != nil {
			m.dash.checked(msg.name, msg.view)
		}
		return nil, true

	case connectionsLoaded:
		if msg.err != nil {
			return m.show(newFailure(m.c, opLoad, "Reading the saved connections failed", msg.err, false, false)), true
		}
		if len(msg.conns) == 0 {
			return m.welcome(), true
		}
		if open := m.afterSetup; open != "" {
			m.afterSetup = ""
			cmd := m.dashboard(msg.conns)
			newest := slices.MaxFunc(msg.conns, func(a, b store.Connection) int { return a.Created.Compare(b.Created) })
			if open == "sync" {
				return tea.Batch(cmd, emit(openSyncMsg{name: newest.Name})), true
			}
			return tea.Batch(cmd, emit(openPickerMsg{name: newest.Name})), true
		}
		if d, ok := m.screen.(*dashboard); ok {
			m.conns = msg.conns
			d.setConnections(msg.conns)
			return nil, true
		}
		return m.dashboard(msg.conns), true

	case signInPromptMsg:
		if msg.gen != m.gen {
			return nil, true
		}
		s, ok := m.screen.(*signIn)
		if !ok {
			return nil, true
		}
		s.setPrompt(msg.prompt)
		m.prompt = msg.prompt
		if msg.prompt.ByBrowser {
			s.browser()
			m.rail.set(railSignIn, statusRunning, "signing in with the browser")
			return tea.Batch(waitSignInCmd(m.opCtx, m.gen, opSignIn, msg.prompt.Wait), browserURLCmd(m.gen, msg.prompt.BrowserURL)), true
		}
		if msg.prompt.Code == "" {
			m.rail.set(railSignIn, statusRunning, "using your saved sign-in")
			return waitSignInCmd(m.opCtx, m.gen, opSignIn, msg.prompt.Wait), true
		}
		m.rail.set(railSignIn, statusCurrent, "enter the code in the browser")
		return tea.Batch(waitSignInCmd(m.opCtx, m.gen, opSignIn, msg.prompt.Wait), clockCmd(m.gen)), true

	case signedInMsg:
		if !m.ended(msg.gen) {
			return nil, true
		}
		m.setup = msg.setup
		m.rail.set(railSignIn, statusDone, "signed in as "+m.setup.UPN())
		return m.startPreflight(), true

	case planMsg:
		if !m.ended(msg.gen) {
			return nil, true
		}
		m.plan = msg.plan
		summary := fmt.Sprintf("%d change(s) to confirm", changes(msg.plan))
		if msg.plan.Blocker != nil {
			summary = "blocked: " + msg.plan.Blocker.Kind.String()
		}
		m.rail.set(railPlan, statusCurrent, summary)
		if s, ok := m.screen.(*planScreen); ok {
			s.setPlan(msg.plan, m.setup.UPN())
		}
		return nil, true

	case groupsSavedMsg:
		if _, ok := m.screen.(*picker); ok && msg.err == nil {
			return tea.Batch(m.dashboard(m.conns), connectionsCmd(m.b)), true
		}
		return m.screen.Update(msg), true

	case syncDoneMsg:
		if !m.ended(msg.gen) {
			return nil, true
		}
		if s, ok := m.screen.(*syncScreen); ok {
			s.done(msg)
			return syncRunsCmd(m.ctx, m.b, s.name), true
		}
		return nil, true

	case eventMsg:
		if msg.gen != m.gen {
			return nil, true
		}
		if s, ok := m.screen.(*syncScreen); ok {
			s.event(msg.ev)
		} else if m.onDashboard {
			if d, ok := m.screen.(*dashboard); ok {
				d.event(msg.ev)
			}
		} else {
			m.rail.apply(msg.ev)
		}
		return listenCmd(m.events), true

	case streamClosedMsg:
		return nil, true

	case handoffMsg:
		if msg.err != nil {
			return m.show(newFailure(m.c, opHandoff, "Reading the values to hand off failed", msg.err, false, false)), true
		}
		if s, ok := m.screen.(*handoff); ok {
			return s.setValues(msg.values, msg.reveal, msg.copy), true
		}
		return nil, true

	case doneMsg:
		if !m.ended(msg.gen) {
			return nil, true
		}
		return m.done(msg), true
	}
	return nil, false
}

// done acts on the end of an operation.
func (m *model) done(msg doneMsg) tea.Cmd {
	if msg.err != nil {
		return m.failed(msg)
	}
	switch msg.op {
	case opExecute, opManual:
		if msg.op == opManual {
			m.rail.set("test", statusDone, "app-only sign-in works with the values you entered")
			m.rail.set("enable", statusDone, "connection enabled")
		}
		m.rail.set(railHandoff, statusCurrent, "")
		m.handoffName = msg.name
		return tea.Batch(m.show(newHandoff(m.c)), handoffCmd(m.gen, m.b, m.handoffName, false, -1))
	case opTest:
		if d, ok := m.screen.(*dashboard); ok {
			d.tested(msg.name, msg.test, nil)
		}
		return connectionsCmd(m.b)
	case opReset:
		return connectionsCmd(m.b)
	}
	return nil
}

// failed shows an operation's failure as a state with its remedy and the
// ways on: retry, by hand, back, quit.
func (m *model) failed(msg doneMsg) tea.Cmd {
	err := msg.err
	switch msg.op {
	case opSignIn, opBrowser:
		m.rail.set(railSignIn, statusFailed, graphapi.Classify(err).Kind.String())
		if graphapi.IsKind(err, graphapi.KindConditionalAccess) && msg.op == opSignIn {
			if s, ok := m.screen.(*signIn); ok {
				if m.prompt != nil && m.prompt.Auto && graphapi.IsDeviceCodeBlocked(err) {
					// --sign-in auto: on with the browser, unasked.
					return m.startBrowserSignIn()
				}
				s.blocked(err)
				return nil
			}
		}
		return m.show(newFailure(m.c, msg.op, "Sign-in failed", err, m.profile != nil, true))
	case opPreflight:
		m.rail.set(railPlan, statusFailed, graphapi.Classify(err).Kind.String())
		return m.show(newFailure(m.c, opPreflight, "Reading the tenant failed", err, true, true))
	case opExecute:
		title := "The setup stopped"
		var se *steps.StepError
		if errors.As(err, &se) {
			title = se.Title + " failed"
			m.rail.set(se.Step, statusFailed, graphapi.Classify(err).Kind.String())
		}
		return m.show(newFailure(m.c, opExecute, title, err, true, false))
	case opManual:
		m.rail.set("test", statusFailed, graphapi.Classify(err).Kind.String())
		return m.show(newFailure(m.c, opManual, "The values you entered did not work", err, true, false))
	case opTest:
		if d, ok := m.screen.(*dashboard); ok {
			d.tested(msg.name, msg.test, err)
		}
		f := newFailure(m.c, opTest, "The connection test failed", err, false, true)
		f.name = msg.name
		return m.show(f)
	case opReset:
		f := newFailure(m.c, opReset, "Reset failed", err, false, true)
		f.name = msg.name
		return m.show(f)
	}
	return m.show(newFailure(m.c, msg.op, "Something failed", err, false, false))
}

// retry runs the failed operation again.
func (m *model) retry() tea.Cmd {
	f, ok := m.screen.(*failure)
	if !ok {
		return nil
	}
	switch f.op {
	case opLoad:
		m.busy = true
		return tea.Batch(m.show(newLoading(m.c)), loadCmd(m.b), m.spinner.Tick)
	case opSignIn, opBrowser:
		return m.startSignIn()
	case opPreflight:
		return m.startPreflight()
	case opExecute:
		m.rail.resetFailed()
		return m.startExecute()
	case opManual:
		m.rail.resetFailed()
		return m.show(newManual(m.c, m.profile, m.rail, true))
	case opHandoff:
		return tea.Batch(m.show(newHandoff(m.c)), handoffCmd(m.gen, m.b, m.handoffName, false, -1))
	case opTest:
		return m.startTest(f.name)
	case opRotate:
		return m.startRotate(f.name)
	case opReset:
		ctx, gen := m.begin(opReset)
		return tea.Batch(resetCmd(ctx, gen, m.b, f.name), m.spinner.Tick)
	}
	return nil
}

// back leaves the screen in hand for the one before it.
func (m *model) back() tea.Cmd {
	switch s := m.screen.(type) {
	case *manual:
		if m.beforeManual != nil {
			prev := m.beforeManual
			m.beforeManual = nil
			return m.show(prev)
		}
	case *failure:
		if s.op == opTest || s.op == opReset || s.op == opRotate {
			return connectionsCmd(m.b)
		}
	case *picker, *syncScreen:
		m.stop()
		return tea.Batch(m.dashboard(m.conns), connectionsCmd(m.b))
	}
	m.stop()
	return m.welcome()
}

func (m *model) welcome() tea.Cmd {
	m.stop()
	m.onDashboard = false
	m.showRail = true
	m.rail = newRail()
	m.rail.set(railProfile, statusCurrent, "")
	m.plan, m.manual, m.prompt, m.setup = nil, false, nil, nil
	return m.show(newWelcome(m.c, m.profiles, m.fixedTenant == "", m.choice, m.tenant))
}

// dashboard shows the saved connections. The one dashboard lives as long
// as the wizard, so its cursor and this session's test results survive a
// detour through a failure.
func (m *model) dashboard(conns []store.Connection) tea.Cmd {
	m.conns = conns
	m.onDashboard = true
	m.showRail = false
	if m.dash == nil {
		m.dash = newDashboard(m.c, conns)
	}
	m.dash.setConnections(conns)
	return tea.Batch(m.show(m.dash), m.checkTenants(conns))
}

// checkTenants asks the tenant about each connection the dashboard has no
// word on yet, so what it shows of a secret is what Entra says.
func (m *model) checkTenants(conns []store.Connection) tea.Cmd {
	var cmds []tea.Cmd
	for _, c := range conns {
		if _, ok := m.dash.live[c.Name]; ok {
			continue
		}
		m.dash.live[c.Name] = nil // asked; the answer fills it
		cmds = append(cmds, checkTenantCmd(m.b, c.Name))
	}
	return tea.Batch(cmds...)
}

// startBrowserSignIn signs in with the browser instead of the device code.
func (m *model) startBrowserSignIn() tea.Cmd {
	if m.prompt == nil {
		return nil
	}
	ctx, gen := m.begin(opBrowser)
	m.rail.set(railSignIn, statusRunning, "signing in with the browser")
	if s, ok := m.screen.(*signIn); ok {
		s.browser()
	}
	return tea.Batch(waitSignInCmd(ctx, gen, opBrowser, m.prompt.Browser), browserURLCmd(gen, m.prompt.BrowserURL), m.spinner.Tick)
}

func (m *model) startSignIn() tea.Cmd {
	ctx, gen := m.begin(opSignIn)
	m.rail.set(railSignIn, statusRunning, "")
	m.rail.set(railPlan, statusPending, "")
	return tea.Batch(m.show(newSignIn(m.c, m.profile, m.tenant)), startSignInCmd(ctx, gen, m.b, m.tenant, m.profile), m.spinner.Tick)
}

func (m *model) startPreflight() tea.Cmd {
	ctx, gen := m.begin(opPreflight)
	m.rail.set(railPlan, statusRunning, "reading the tenant")
	ch := m.newEvents()
	return tea.Batch(m.show(newPlanScreen(m.c, m.profile)), preflightCmd(ctx, ch, gen, m.setup), listenCmd(ch), m.spinner.Tick)
}

func (m *model) startExecute() tea.Cmd {
	if m.plan != nil {
		m.rail.set(railPlan, statusDone, fmt.Sprintf("confirmed: %d change(s)", changes(m.plan)))
	}
	ctx, gen := m.begin(opExecute)
	ch := m.newEvents()
	setup := m.setup
	run := func(ctx context.Context, report func(steps.Event)) tea.Msg {
		err := setup.Execute(ctx, report)
		return doneMsg{gen: gen, op: opExecute, err: err, name: setup.Connection()}
	}
	return tea.Batch(m.show(newRunning(m.c, m.rail, m.title(), false)),
		streamCmd(ctx, ch, gen, run), listenCmd(ch), m.spinner.Tick)
}

func (m *model) startManual(clientID, secret string) tea.Cmd {
	m.manual = true
	for _, name := range []string{railSignIn, railPlan} {
		if it := m.rail.item(name); it.status != statusDone {
			m.rail.set(name, statusSkipped, "the setup is done by hand instead")
		}
	}
	for _, name := range []string{"register-app", "grant-consent", "create-secret", "assign"} {
		m.rail.set(name, statusSkipped, "done by hand in the portal")
	}
	ctx, gen := m.begin(opManual)
	ch := m.newEvents()
	b, tenant, p := m.b, m.tenant, m.profile
	run := func(ctx context.Context, report func(steps.Event)) tea.Msg {
		name, err := b.Manual(ctx, tenant, p, clientID, secret, report)
		return doneMsg{gen: gen, op: opManual, err: err, name: name}
	}
	return tea.Batch(m.show(newRunning(m.c, m.rail, "Checking the values you entered", true)),
		streamCmd(ctx, ch, gen, run), listenCmd(ch), m.spinner.Tick)
}

func (m *model) startTest(name string) tea.Cmd {
	ctx, gen := m.begin(opTest)
	ch := m.newEvents()
	b := m.b
	run := func(ctx context.Context, report func(steps.Event)) tea.Msg {
		res, err := b.Test(ctx, name, report)
		return doneMsg{gen: gen, op: opTest, err: err, test: res, name: name}
	}
	show, d := m.onDashboardScreen()
	d.testing(name)
	return tea.Batch(show, streamCmd(ctx, ch, gen, run), listenCmd(ch), m.spinner.Tick)
}

// title names the setup in hand for the running screen.
func (m *model) title() string {
	if m.plan != nil && m.plan.Tenant.DisplayName != "" {
		return fmt.Sprintf("Setting up %s in %s", m.profile.AppName, m.plan.Tenant.DisplayName)
	}
	return "Setting up " + m.profile.AppName
}

// changes counts the plan's items that write something.
func changes(p *steps.Plan) int {
	n := 0
	for _, it := range p.Items {
		if it.Action != "keep" {
			n++
		}
	}
	return n
}

// newEvents makes the channel the next stream reports on.
func (m *model) newEvents() chan tea.Msg {
	m.events = make(chan tea.Msg, 16)
	return m.events
}

// openPicker shows the group picker for a connection, with its current
// pick and its profile's limit.
func (m *model) openPicker(name string) tea.Cmd {
	var picked []steps.PickedGroup
	limit := 0
	for i := range m.conns {
		if c := &m.conns[i]; c.Name == name {
			picked = steps.PickedGroups(c)
			if p := connectionProfile(c, m.profiles); p != nil && p.Sync != nil {
				limit = p.Sync.MaxGroups
			}
		}
	}
	m.onDashboard = false
	return m.show(newPicker(m.c, name, limit, picked))
}

// startSync runs a sync (or its preview) of a connection on the sync
// screen, streaming its progress.
func (m *model) startSync(name string, req SyncRequest) tea.Cmd {
	s, ok := m.screen.(*syncScreen)
	if !ok {
		return nil
	}
	ctx, gen := m.begin(opSync)
	ch := m.newEvents()
	s.begin(req, m.c.now())
	return tea.Batch(syncCmd(ctx, ch, gen, m.b, name, req), listenCmd(ch), syncRunsCmd(m.ctx, m.b, name), m.spinner.Tick)
}

// onDashboardScreen shows the dashboard unless it is on screen already,
// for an operation that reports on it.
func (m *model) onDashboardScreen() (tea.Cmd, *dashboard) {
	if d, ok := m.screen.(*dashboard); ok {
		return nil, d
	}
	show := m.dashboard(m.conns)
	return show, m.screen.(*dashboard)
}
