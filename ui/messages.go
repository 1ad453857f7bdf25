package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// op is an operation the root runs against the Backend, always in a
// command. Results carry the generation they were started in, so a result
// of an operation the admin has since cancelled or left is dropped.
type op int

const (
	opLoad op = iota
	opSignIn
	opBrowser
	opPreflight
	opExecute
	opManual
	opHandoff
	opTest
	opReset
	opRotate
	opSync
)

// Intents: what a screen asks the root to do. Screens never call the
// Backend; they emit one of these and the root starts the command.
type (
	profileChosenMsg struct {
		profile *steps.Profile
		tenant  string
	}
	cancelSignInMsg  struct{}
	newCodeMsg       struct{}
	browserSignInMsg struct{}
	// browserURLMsg is the browser sign-in address to show, when no
	// browser could be opened.
	browserURLMsg struct {
		gen int
		url string
	}
	planConfirmedMsg  struct{}
	backMsg           struct{}
	manualRequested   struct{}
	retryMsg          struct{}
	manualSubmitted   struct{ clientID, secret string }
	revealRequested   struct{ copy int } // copy: index to copy once fetched, or -1
	finishMsg         struct{}
	quitMsg           struct{}
	testConnMsg       struct{ name string }
	setupAnotherMsg   struct{}
	resetConnMsg      struct{ name string }
	copiedMsg         struct{ label string }
	clockMsg          struct{ gen int }
	streamClosedMsg   struct{}
	connectionsLoaded struct {
		conns []store.Connection
		err   error
	}
)

// Results of Backend calls.
type (
	loadedMsg struct {
		profiles []*steps.Profile
		conns    []store.Connection
		err      error
	}
	signInPromptMsg struct {
		gen    int
		prompt *SignInPrompt
	}
	signedInMsg struct {
		gen   int
		setup Setup
	}
	planMsg struct {
		gen  int
		plan *steps.Plan
	}
	eventMsg struct {
		gen int
		ev  steps.Event
	}
	handoffMsg struct {
		gen    int
		values []steps.HandoffValue
		reveal bool
		copy   int
		err    error
	}
	// doneMsg ends every operation; err is nil on success.
	doneMsg struct {
		gen  int
		op   op
		err  error
		test *steps.TestResult
		name string // the connection, for test, reset, manual and setup
	}
)

// emit turns an intent into a command.
func emit(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// tenantCheckedMsg is what the tenant said about a connection.
type tenantCheckedMsg struct {
	name string
	view *app.LiveView
}

func checkTenantCmd(b Backend, name string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		v, _ := b.CheckTenant(ctx, name) // no answer: the local record stands
		return tenantCheckedMsg{name: name, view: v}
	}
}

func loadCmd(b Backend) tea.Cmd {
	return func() tea.Msg {
		profiles := b.Profiles()
		conns, err := b.Connections()
		return loadedMsg{profiles: profiles, conns: conns, err: err}
	}
}

func connectionsCmd(b Backend) tea.Cmd {
	return func() tea.Msg {
		conns, err := b.Connections()
		return connectionsLoaded{conns: conns, err: err}
	}
}

func startSignInCmd(ctx context.Context, gen int, b Backend, tenant string, p *steps.Profile) tea.Cmd {
	return func() tea.Msg {
		prompt, err := b.StartSetup(ctx, tenant, p)
		if err != nil {
			return doneMsg{gen: gen, op: opSignIn, err: err}
		}
		return signInPromptMsg{gen: gen, prompt: prompt}
	}
}

// browserURLCmd waits for the browser sign-in address, if one will come.
func browserURLCmd(gen int, urls <-chan string) tea.Cmd {
	if urls == nil {
		return nil
	}
	return func() tea.Msg {
		url, ok := <-urls
		if !ok {
			return nil
		}
		return browserURLMsg{gen: gen, url: url}
	}
}

// waitSignInCmd waits for a sign-in (device code, saved, or browser: o
// says which) and delivers the setup session it opens.
func waitSignInCmd(ctx context.Context, gen int, o op, wait func(context.Context) (Setup, error)) tea.Cmd {
	return func() tea.Msg {
		setup, err := wait(ctx)
		if err != nil {
			return doneMsg{gen: gen, op: o, err: err}
		}
		return signedInMsg{gen: gen, setup: setup}
	}
}

// preflightCmd reads the tenant on a stream, so that a wait for Entra's
// replication shows on the rail while the plan is made.
func preflightCmd(ctx context.Context, ch chan<- tea.Msg, gen int, s Setup) tea.Cmd {
	return streamCmd(ctx, ch, gen, func(ctx context.Context, report func(steps.Event)) tea.Msg {
		plan, err := s.Preflight(ctx, report)
		if err != nil {
			return doneMsg{gen: gen, op: opPreflight, err: err}
		}
		return planMsg{gen: gen, plan: plan}
	})
}

func handoffCmd(gen int, b Backend, name string, reveal bool, copyIndex int) tea.Cmd {
	return func() tea.Msg {
		values, err := b.Handoff(name, reveal)
		return handoffMsg{gen: gen, values: values, reveal: reveal, copy: copyIndex, err: err}
	}
}

func resetCmd(ctx context.Context, gen int, b Backend, name string) tea.Cmd {
	return func() tea.Msg {
		return doneMsg{gen: gen, op: opReset, err: b.Reset(ctx, name), name: name}
	}
}

// streamCmd runs a reporting operation (a setup, a test, a rotation, a
// sync): each event goes on ch, then the message run ends with, and ch is
// closed. listenCmd delivers them one at a time, the shape of Bubble Tea's
// realtime example. Sending gives up when ctx ends, so an abandoned run
// never blocks.
func streamCmd(ctx context.Context, ch chan<- tea.Msg, gen int, run func(ctx context.Context, report func(steps.Event)) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		defer close(ch)
		send := func(msg tea.Msg) {
			select {
			case ch <- msg:
			case <-ctx.Done():
			}
		}
		send(run(ctx, func(ev steps.Event) { send(eventMsg{gen: gen, ev: ev}) }))
		return nil
	}
}

// listenCmd waits for the next message of a stream; the root re-arms it
// after every event.
func listenCmd(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return streamClosedMsg{}
		}
		return msg
	}
}

// clockCmd ticks once a second while a countdown is on screen.
func clockCmd(gen int) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{gen: gen} })
}
