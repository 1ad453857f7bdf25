package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/huh/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// accessible runs the same procedure as the full-screen wizard as plain
// line prompts (huh's accessible forms): no alternate screen, no cursor
// movement, no colour, words rather than glyphs — what a screen reader or
// a dumb terminal can follow.
type accessible struct {
	ctx    context.Context
	b      Backend
	out    io.Writer
	in     io.Reader
	lines  *lineReader
	secret bool // the keyboard is a terminal, so secrets can be typed unseen
	now    func() time.Time
	// conn names the connection set up, once it is (for the hand-off).
	conn string
}

func runAccessible(ctx context.Context, b Backend, opts Options) error {
	lr := &lineReader{r: opts.In}
	a := &accessible{ctx: ctx, b: b, out: opts.Out, in: lr, lines: lr, now: time.Now}
	if f, ok := opts.In.(interface{ Fd() uintptr }); ok && term.IsTerminal(f.Fd()) {
		a.in, a.secret = fdLineReader{lr, f.Fd()}, true
	}
	return a.run()
}

// errNoInput is the keyboard closing (EOF) part way through.
var errNoInput = fmt.Errorf("the input ended before the wizard finished: %w", context.Canceled)

// printf prints a line or part of one. Any of its string, error or
// Stringer arguments may be the tenant's text, so each is shown through
// steps.Printable; a block, the wizard's own text of several lines, is
// printed as it is.
func (a *accessible) printf(format string, args ...any) {
	for i, v := range args {
		switch v := v.(type) {
		case block:
			args[i] = string(v)
		case string:
			args[i] = steps.Printable(v)
		case error:
			args[i] = steps.Printable(v.Error())
		case fmt.Stringer:
			args[i] = steps.Printable(v.String())
		}
	}
	fmt.Fprintf(a.out, format, args...)
}

// block is the wizard's own text of several lines, for printf.
type block string

func (a *accessible) form(fields ...huh.Field) error {
	err := huh.NewForm(huh.NewGroup(fields...)).WithAccessible(true).WithTheme(huh.ThemeFunc(plainTheme)).
		WithInput(a.in).WithOutput(a.out).RunWithContext(a.ctx)
	if err != nil {
		return err
	}
	if a.lines.eof {
		return errNoInput
	}
	return nil
}

func (a *accessible) choose(title string, options ...string) (int, error) {
	choice := 0
	opts := make([]huh.Option[int], len(options))
	for i, o := range options {
		opts[i] = huh.NewOption(steps.Printable(o), i) // a connection's or a profile's name
	}
	err := a.form(huh.NewSelect[int]().Title(steps.Printable(title)).Options(opts...).Value(&choice))
	return choice, err
}

func (a *accessible) confirm(title string) (bool, error) {
	yes := false
	err := a.form(huh.NewConfirm().Title(steps.Printable(title)).Value(&yes))
	return yes, err
}

// The dashboard's actions as the menu words them.
const (
	actTest   = "Test a connection"
	actPick   = "Pick the groups to sync"
	actSync   = "Synchronize users"
	actSetup  = "Set up another connection"
	actReset  = "Reset a connection"
	actRotate = "Rotate a connection's client secret"
	actQuit   = "Quit"
)

func (a *accessible) run() error {
	if a.b.Simulated() {
		a.printf("%s\n\n", bannerText)
	}
	conns, err := a.b.Connections()
	if err != nil {
		return err
	}
	for len(conns) > 0 {
		a.printDashboard(conns)
		// Picking groups and syncing are offered only when a connection
		// syncs, and then only for those that do.
		syncing := a.syncingConnections(conns)
		actions := []string{actTest}
		if len(syncing) > 0 {
			actions = append(actions, actPick, actSync)
		}
		actions = append(actions, actSetup, actReset, actRotate, actQuit)
		i, err := a.choose("What now?", actions...)
		if err != nil {
			return err
		}
		switch act := actions[i]; act {
		case actSetup:
			return a.setup()
		case actQuit:
			return nil
		case actPick, actSync:
			j, err := a.pickConnection(syncing)
			if err != nil {
				return err
			}
			if act == actPick {
				err = a.pickGroups(syncing[j], connectionProfile(&syncing[j], a.b.Profiles()))
			} else {
				err = a.syncUsers(syncing[j].Name)
			}
			if err != nil {
				return err
			}
		default:
			j, err := a.pickConnection(conns)
			if err != nil {
				return err
			}
			if err := a.connectionAction(act, conns[j].Name); err != nil {
				return err
			}
		}
		if conns, err = a.b.Connections(); err != nil {
			return err
		}
	}
	return a.setup()
}

// connectionAction tests, resets or rotates the secret of a connection.
func (a *accessible) connectionAction(act, name string) error {
	switch act {
	case actRotate:
		a.printf("Rotating the client secret of %s; the old secret keeps working until you finish.\n", name)
		res, err := a.b.Rotate(a.ctx, name, a.report)
		if err != nil {
			a.printFailure("Rotating the client secret failed — the old secret still works", err)
		} else {
			a.printf("%s\n\n", rotateSummary(res))
		}
	case actTest:
		a.printf("Testing %s.\n", name)
		res, err := a.b.Test(a.ctx, name, a.report)
		if err != nil {
			a.printFailure("The connection test failed", err)
		} else if res != nil {
			a.printf("Test passed: %s.\n\n", res.Summary())
		}
	case actReset:
		ok, err := a.confirm(fmt.Sprintf("Reset %s? Its secret leaves the keyring and the connection leaves the config; the app stays in Entra.", name))
		if err != nil {
			return err
		}
		if ok {
			if err := a.b.Reset(a.ctx, name); err != nil {
				a.printFailure("Reset failed", err)
			} else {
				a.printf("%s was reset.\n\n", name)
			}
		}
	}
	return nil
}

// pickConnection asks which of conns, when there is a choice.
func (a *accessible) pickConnection(conns []store.Connection) (int, error) {
	if len(conns) == 1 {
		return 0, nil
	}
	names := make([]string, len(conns))
	for i, c := range conns {
		names[i] = c.Name
	}
	return a.choose("Which connection?", names...)
}

func (a *accessible) printDashboard(conns []store.Connection) {
	a.printf("Your connections: %d saved.\n\n", len(conns))
	for _, c := range conns {
		state := "enabled"
		if !c.Enabled {
			state = "not enabled"
		}
		a.printf("%s, %s.\n", c.Name, state)
		facts, warnings := connectionFacts(c, a.now(), "", nil)
		for _, f := range facts {
			a.printf("%s: %s.\n", f.label, f.value)
		}
		for _, w := range warnings {
			a.printf("Warning: %s.\n", w)
		}
		a.printf("\n")
	}
}

// setup is the procedure: profile, sign-in, plan, run (or the manual
// path), hand-off.
func (a *accessible) setup() error {
	profiles := a.b.Profiles()
	if len(profiles) == 0 {
		return errors.New("no profiles to choose from: give one with --profile FILE")
	}
	st := newStyles(true)
	a.printf("Connect a product to Microsoft Entra ID. The profiles:\n\n")
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
		a.printf("%d. %s\n\n", i+1, block(ansi.Strip(profileDetails(st, p, 100, secretsPlace(a.b.Simulated())))))
	}
	choice, err := a.choose("Which profile?", names...)
	if err != nil {
		return err
	}
	p := profiles[choice]
	tenant := a.b.Tenant()
	if tenant == "" {
		if err := a.form(huh.NewInput().Title("Your tenant (its ID, or a domain such as contoso.onmicrosoft.com):").
			Value(&tenant).Validate(steps.ValidateTenant)); err != nil {
			return err
		}
		tenant = strings.TrimSpace(tenant)
	}
	manual, err := a.signInAndRun(p, tenant)
	if err != nil {
		return err
	}
	return a.handoff(p, manual)
}

// signInAndRun signs in, shows the plan and runs it; on failure the admin
// may retry, do it by hand, or quit. It reports whether the manual path
// was taken.
func (a *accessible) signInAndRun(p *steps.Profile, tenant string) (bool, error) {
	var setup Setup
	if manual, err := a.retrying(p, tenant, "Sign-in failed", func() error {
		var err error
		setup, err = a.signIn(p, tenant)
		return err
	}); manual || err != nil {
		return manual, err
	}
	var plan *steps.Plan
	manual, err := a.retrying(p, tenant, "Reading the tenant failed", func() error {
		var err error
		plan, err = setup.Preflight(a.ctx, a.report)
		return err
	})
	if manual || err != nil {
		return manual, err
	}
	a.printPlan(plan)
	if plan.Blocker != nil {
		i, err := a.choose("This plan cannot be applied with this sign-in.", "Do the setup by hand in the portal", "Quit")
		if err != nil {
			return false, err
		}
		if i == 0 {
			return true, a.manual(p, tenant)
		}
		return false, plan.Blocker
	}
	ok, err := a.confirm("Apply this plan?")
	if err != nil {
		return false, err
	}
	if !ok {
		return false, ErrQuit
	}
	a.conn = setup.Connection()
	return a.retrying(p, tenant, "", func() error { return setup.Execute(a.ctx, a.report) })
}

// retrying runs op until it succeeds, asking after each failure whether to
// try again, do the setup by hand, or quit. manual reports that the manual
// path was taken (err is then its outcome). An empty title names the failed
// step from the error.
func (a *accessible) retrying(p *steps.Profile, tenant, title string, op func() error) (manual bool, err error) {
	for {
		err := op()
		if err == nil {
			return false, nil
		}
		t := title
		if t == "" {
			t = "The setup stopped"
			var se *steps.StepError
			if errors.As(err, &se) {
				t = se.Title + " failed"
			}
		}
		next, cerr := a.onFailure(t, err)
		switch {
		case cerr != nil:
			return false, cerr
		case next == "manual":
			return true, a.manual(p, tenant)
		case next == "quit":
			return false, err
		}
	}
}

func (a *accessible) signIn(p *steps.Profile, tenant string) (Setup, error) {
	prompt, err := a.b.StartSetup(a.ctx, tenant, p)
	if err != nil {
		return nil, err
	}
	if prompt.Code != "" {
		a.printf("Sign in as an administrator of %s.\nOpen %s and enter the code %s\n", tenant, prompt.URL, prompt.Code)
		if !prompt.Expires.IsZero() {
			a.printf("The code expires at %s (in %d minutes).\n", prompt.Expires.Local().Format("15:04"), int(prompt.Expires.Sub(a.now()).Round(time.Minute).Minutes()))
		}
		a.printf("Waiting for you to approve. Press Ctrl-C to cancel.\n")
	}
	setup, err := prompt.Wait(a.ctx)
	if graphapi.IsKind(err, graphapi.KindConditionalAccess) {
		a.printFailure("Conditional Access blocked the device-code sign-in", err)
		ok, cerr := a.confirm("Sign in with the browser on this computer instead?")
		if cerr != nil {
			return nil, cerr
		}
		if !ok {
			return nil, err
		}
		setup, err = prompt.Browser(a.ctx)
	}
	if err != nil {
		return nil, err
	}
	a.printf("Signed in as %s.\n\n", setup.UPN())
	return setup, nil
}

func (a *accessible) printPlan(plan *steps.Plan) {
	t := plan.Tenant
	var about []string
	for _, s := range []string{t.PrimaryDomain, t.ID} {
		if s != "" {
			about = append(about, s)
		}
	}
	a.printf("The plan for %s", cmp.Or(t.DisplayName, "your tenant"))
	if len(about) > 0 {
		a.printf(" (%s)", strings.Join(about, ", tenant "))
	}
	a.printf(". Signed in as %s", plan.AdminUPN)
	if len(plan.Roles) > 0 {
		a.printf(", %s", strings.Join(plan.Roles, ", "))
	}
	a.printf(".\nNothing is written until you confirm.\n")
	for _, it := range plan.Items {
		a.printf("- %s: %s", it.Action, it.Object)
		if it.Detail != "" {
			a.printf(" (%s)", it.Detail)
		}
		a.printf("\n")
	}
	for _, w := range plan.Warnings {
		a.printf("Warning: %s\n", w)
	}
	if b := plan.Blocker; b != nil {
		a.printf("Blocked: %s\n", b.Message)
		if b.Remedy != "" {
			a.printf("What to do: %s\n", b.Remedy)
		}
	}
	a.printf("\n")
}

// report prints a run's events as sentences.
func (a *accessible) report(ev steps.Event) {
	switch ev.Kind {
	case steps.StepStarted:
		a.printf("Started: %s.\n", ev.Title)
	case steps.StepProgress:
		a.printf("  %s\n", ev.Message)
	case steps.StepWaiting:
		a.printf("  Waiting: %s\n", ev.Message)
	case steps.StepDone:
		a.printf("Done: %s: %s\n", ev.Title, ev.Message)
	case steps.StepSkipped:
		if ev.NotNeeded {
			a.printf("Skipped: %s: not needed: %s\n", ev.Title, ev.Message)
		} else {
			a.printf("Skipped: %s: already done: %s\n", ev.Title, ev.Message)
		}
	case steps.StepFailed:
		a.printf("Failed: %s: %s\n", ev.Title, ev.Message)
	}
}

func (a *accessible) printFailure(title string, err error) {
	ge := graphapi.Classify(err)
	a.printf("\n%s: %s.\n", title, ge.Kind)
	msg := ge.Message
	if msg == "" {
		msg = err.Error()
	}
	a.printf("What happened: %s", msg)
	if ge.Code != "" {
		a.printf(" (%s)", ge.Code)
	}
	a.printf("\n")
	if ge.Remedy != "" {
		a.printf("What to do: %s\n", ge.Remedy)
	}
}

// onFailure shows a failure and asks what next: retry, manual or quit.
func (a *accessible) onFailure(title string, err error) (string, error) {
	a.printFailure(title, err)
	i, cerr := a.choose("What now?", "Retry", "Do this step by hand in the portal", "Quit")
	return [...]string{"retry", "manual", "quit"}[i], cerr
}

// manual is the manual path: the portal instructions, then the IDs and
// secret, validated locally, then tested by the Backend.
func (a *accessible) manual(p *steps.Profile, tenant string) error {
	m := newManual(&common{styles: newStyles(true), keys: newKeyMap(), now: a.now}, p, newRail(), false)
	m.w = 100
	a.printf("\nDo it by hand in the Microsoft Entra admin center.\n%s\n\n", block(ansi.Strip(m.instructions())))
	for {
		var clientID, secret string
		secretField := huh.NewInput().Title("Client secret Value (not the Secret ID):").Value(&secret).Validate(steps.ValidateSecretValue)
		if a.secret {
			secretField = secretField.EchoMode(huh.EchoModePassword)
		}
		if err := a.form(
			huh.NewInput().Title("Application (client) ID:").Value(&clientID).
				Validate(func(v string) error { return steps.ValidateGUID("Application (client) ID", v) }),
			secretField,
		); err != nil {
			return err
		}
		a.printf("Checking the values: signing in as the app.\n")
		name, err := a.b.Manual(a.ctx, tenant, p, strings.TrimSpace(clientID), strings.TrimSpace(secret), a.report)
		if err == nil {
			a.conn = name
			return nil
		}
		a.printFailure("The values you entered did not work", err)
		again, cerr := a.confirm("Enter them again?")
		if cerr != nil {
			return cerr
		}
		if !again {
			return err
		}
	}
}

func (a *accessible) handoff(p *steps.Profile, manual bool) error {
	values, err := a.b.Handoff(a.conn, false)
	if err != nil {
		return err
	}
	a.printf("\nConnected. Give the product these values:\n")
	hasSecret := false
	for _, v := range values {
		if v.Secret {
			hasSecret = true
			a.printf("%s: hidden\n", v.Label)
			continue
		}
		a.printf("%s: %s\n", v.Label, v.Value)
	}
	if hasSecret {
		ok, err := a.confirm("Show the client secret? It is printed in this terminal and stays in its scroll-back.")
		if err != nil {
			return err
		}
		if ok {
			values, err := a.b.Handoff(a.conn, true)
			if err != nil {
				return err
			}
			for _, v := range values {
				if v.Secret {
					a.printf("%s: %s\n", v.Label, v.Value)
				}
			}
		}
	}
	how := "set up, tested and enabled"
	if manual {
		how = "entered by hand, tested and enabled"
	}
	a.printf("\nAll done: %s is %s. Later: `entrawiz status`, `entrawiz test`, or `entrawiz` for the dashboard.\n", p.AppName, how)
	return nil
}
