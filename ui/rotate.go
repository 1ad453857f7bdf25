package ui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/entrawiz/entrawiz/steps"
)

// rotateConnMsg asks the root to rotate a connection's client secret.
type rotateConnMsg struct{ name string }

// rotateDoneMsg ends a rotation started from the dashboard.
type rotateDoneMsg struct {
	gen  int
	name string
	res  *steps.RotateResult
	err  error
}

// startRotate rotates the named connection's secret from the dashboard.
func (m *model) startRotate(name string) tea.Cmd {
	ctx, gen := m.begin(opRotate)
	ch := m.newEvents()
	show, d := m.onDashboardScreen()
	d.rotating(name)
	b := m.b
	run := func(ctx context.Context, report func(steps.Event)) tea.Msg {
		res, err := b.Rotate(ctx, name, report)
		return rotateDoneMsg{gen: gen, name: name, res: res, err: err}
	}
	return tea.Batch(show, streamCmd(ctx, ch, gen, run), listenCmd(ch), m.spinner.Tick)
}

// rotated shows a rotation's result on the dashboard, or its failure.
func (m *model) rotated(msg rotateDoneMsg) tea.Cmd {
	if msg.err != nil {
		if d, ok := m.screen.(*dashboard); ok {
			d.rotateResult(msg.name, nil, msg.err)
		}
		f := newFailure(m.c, opRotate, "Rotating the client secret failed — the old secret still works", msg.err, false, true)
		f.name = msg.name
		return tea.Batch(m.show(f), connectionsCmd(m.b))
	}
	if d, ok := m.screen.(*dashboard); ok {
		d.rotateResult(msg.name, msg.res, nil)
	}
	if msg.res != nil && msg.res.Secret != nil {
		// Hand the new secret off as after a setup: each value with copy,
		// the secret shown only on request.
		m.handingOffRotation, m.handoffName = true, msg.name
		return tea.Batch(m.show(newHandoff(m.c)), handoffCmd(m.gen, m.b, msg.name, false, -1))
	}
	return connectionsCmd(m.b)
}

// rotateSummary is the dashboard's line for a finished rotation.
func rotateSummary(res *steps.RotateResult) string {
	switch {
	case res == nil:
		return "✓ rotated"
	case res.Skipped != "":
		return "✓ no rotation: " + res.Skipped
	case res.Secret != nil:
		return fmt.Sprintf("✓ new secret %s… active until %s; once the product has it, entrawiz rotate --finish removes the old one",
			res.Secret.Hint, res.Secret.End.Format("2006-01-02"))
	}
	return "✓ rotated"
}
