package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// lastRuns is how many past runs the sync screen lists.
const lastRuns = 5

// Sync intents and results.
type (
	openSyncMsg  struct{ name string }
	startSyncMsg struct {
		name string
		req  SyncRequest
	}
	syncDoneMsg struct {
		gen int
		req SyncRequest
		res *steps.SyncResult
		err error
	}
	syncRunsMsg struct {
		runs []store.RunRecord
		err  error
	}
)

// syncCmd runs a sync on the stream the screen listens to.
func syncCmd(ctx context.Context, ch chan<- tea.Msg, gen int, b Backend, name string, req SyncRequest) tea.Cmd {
	return streamCmd(ctx, ch, gen, func(ctx context.Context, report func(steps.Event)) tea.Msg {
		res, err := b.Sync(ctx, name, req, report)
		return syncDoneMsg{gen: gen, req: req, res: res, err: err}
	})
}

func syncRunsCmd(ctx context.Context, b Backend, name string) tea.Cmd {
	return func() tea.Msg {
		runs, err := b.SyncRuns(ctx, name, lastRuns)
		return syncRunsMsg{runs: runs, err: err}
	}
}

type syncState int

const (
	syncPreviewing syncState = iota // the dry run is reading
	syncPreviewed                   // the dry run's changes wait for enter
	syncRunning
	syncDone
	syncStopped // refused by the safety limits
	syncFailed
)

// syncScreen previews a sync (a dry run), then runs it with live progress.
type syncScreen struct {
	c     *common
	name  string
	state syncState
	bar   progress.Model

	preview  *steps.SyncResult
	result   *steps.SyncResult
	progress steps.SyncProgress
	started  time.Time
	lastMsg  string
	errors   int // retries and failures reported during the run
	lastErr  string
	err      error
	safety   *steps.SafetyError
	runs     []store.RunRecord
	runsErr  error
	w, h     int

	// confirmDisable is set by the first press of the mass-disable key
	// after a safety stop; only a second press lifts the limits.
	confirmDisable bool
}

func newSyncScreen(c *common, name string) *syncScreen {
	bar := progress.New(progress.WithColors(c.styles.ProgressFull), progress.WithFillCharacters('█', '░'), progress.WithoutPercentage())
	bar.EmptyColor = c.styles.ProgressEmpty
	return &syncScreen{c: c, name: name, bar: bar}
}

func (s *syncScreen) Init() tea.Cmd { return nil }
func (s *syncScreen) Typing() bool  { return false }
func (s *syncScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.bar.SetWidth(min(max(w-10, 10), 60))
}

func (s *syncScreen) Keys() []key.Binding {
	k := s.c.keys
	if s.confirmDisable {
		return []key.Binding{withHelp(k.MassDisable, fmt.Sprintf("yes, disable %d users", s.safety.Plan.Disabled)),
			withHelp(k.Back, "cancel")}
	}
	ready := s.state == syncPreviewed && s.preview != nil && s.preview.Stopped == ""
	return []key.Binding{on(k.RunSync, ready), on(k.MassDisable, s.state == syncStopped),
		on(withHelp(k.Retry, "preview again"), s.state >= syncDone), on(withHelp(k.Back, "back"), s.state != syncRunning)}
}

// begin marks a run of req started.
func (s *syncScreen) begin(req SyncRequest, now time.Time) {
	s.state = syncRunning
	if req.DryRun {
		s.state = syncPreviewing
	}
	s.progress, s.started, s.lastMsg, s.errors, s.lastErr = steps.SyncProgress{}, now, "", 0, ""
	s.err, s.safety, s.confirmDisable = nil, nil, false
}

func (s *syncScreen) event(ev steps.Event) {
	if ev.Sync != nil {
		s.progress = *ev.Sync
	}
	if ev.Message != "" {
		s.lastMsg = ev.Message
	}
	if ev.Kind == steps.StepWaiting || ev.Kind == steps.StepFailed || ev.Err != nil {
		s.errors++
		s.lastErr = ev.Message
	}
}

// done shows how a run ended.
func (s *syncScreen) done(msg syncDoneMsg) {
	var se *steps.SafetyError
	switch {
	case errors.As(msg.err, &se):
		s.state, s.safety = syncStopped, se
	case msg.err != nil:
		s.state, s.err = syncFailed, msg.err
	case msg.req.DryRun:
		s.state, s.preview = syncPreviewed, msg.res
	default:
		s.state, s.result = syncDone, msg.res
	}
}

func (s *syncScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case syncRunsMsg:
		s.runs, s.runsErr = msg.runs, msg.err
		return nil
	case tea.KeyPressMsg:
		k := s.c.keys
		if s.confirmDisable {
			// Only the same key again lifts the limits; any other cancels.
			s.confirmDisable = false
			if key.Matches(msg, k.MassDisable) {
				return emit(startSyncMsg{name: s.name, req: SyncRequest{AllowMassDisable: true}})
			}
			return nil
		}
		switch {
		case s.state == syncStopped && key.Matches(msg, k.MassDisable):
			s.confirmDisable = true
			return nil
		case s.state == syncPreviewed && key.Matches(msg, k.RunSync) && s.preview != nil && s.preview.Stopped == "":
			return emit(startSyncMsg{name: s.name})
		case s.state >= syncDone && key.Matches(msg, k.Retry):
			return emit(startSyncMsg{name: s.name, req: SyncRequest{DryRun: true}})
		case s.state != syncRunning && key.Matches(msg, k.Back):
			return emit(backMsg{})
		}
	}
	return nil
}

func (s *syncScreen) View() string {
	st := s.c.styles
	var b strings.Builder
	line := func(str string) { b.WriteString(ansi.Truncate(str, s.w, "…") + "\n") }
	line(st.Heading.Render("Synchronize users") + st.Subtle.Render(" · "+steps.Printable(s.name)))
	b.WriteString("\n")
	switch s.state {
	case syncPreviewing:
		line(st.Accent.Render(s.c.spin) + " previewing (dry run, nothing is written)")
		s.liveLines(line)
	case syncPreviewed:
		p := s.preview
		line(st.Strong.Render("Preview") + st.Subtle.Render(fmt.Sprintf(" · %s run · %d users read · nothing written yet", p.Kind, p.Users)))
		s.counters(line, p.Plan)
		s.changes(line, p.Plan, "", max(s.h-16, 3))
		if p.Stopped != "" {
			line(st.Err.Render("✗ A real run would stop: it would disable more than " + steps.Printable(p.Stopped) + "."))
			line(st.Warn.Render("  Check the picked groups, or run `entrawiz sync --allow-mass-disable`."))
		} else {
			line(st.Key.Render("enter") + " runs the sync")
		}
	case syncRunning:
		line(st.Accent.Render(s.c.spin) + " syncing")
		s.liveLines(line)
		if s.preview != nil && s.preview.Plan != nil {
			pl := s.preview.Plan
			line(st.Subtle.Render(fmt.Sprintf("expected from the preview: %d created · %d updated · %d disabled · %d unchanged",
				pl.Created, pl.Updated, pl.Disabled, pl.Unchanged)))
		}
	case syncDone:
		r := s.result
		line(st.OK.Render("✓ Synced") + st.Subtle.Render(fmt.Sprintf(" · %s run · %d pages · %d users in %s", r.Kind, r.Pages, r.Users, r.Took.Round(time.Millisecond))))
		s.counters(line, r.Plan)
	case syncStopped:
		se := s.safety
		line(st.Err.Render(fmt.Sprintf("✗ Safety stop: the run would disable %d users, more than %s", se.Plan.Disabled, se.Limit)))
		line(st.Text.Render("Nothing was changed. The users it would disable:"))
		s.changes(line, se.Plan, "disable", max(s.h-14, 3))
		line(st.Warn.Render("Check the picked groups (g on the dashboard); if the removals are meant,"))
		dk := s.c.keys.MassDisable.Help().Key
		line(st.Warn.Render("press " + dk + " to run it anyway (or run `entrawiz sync --allow-mass-disable`)."))
		if s.confirmDisable {
			line(st.Err.Render(fmt.Sprintf("! press %s again to disable %d users", dk, se.Plan.Disabled)) + st.Subtle.Render(" · any other key cancels"))
		}
	case syncFailed:
		ge := graphapi.Classify(s.err)
		line(st.Err.Render("✗ The sync failed: " + kindOf(s.err)))
		for _, l := range strings.Split(ansi.Wrap(steps.Printable(ge.Error()), max(s.w-2, 10), " "), "\n") {
			line("  " + l)
		}
		if ge.Remedy != "" {
			line(st.Warn.Render("→ " + steps.Printable(ge.Remedy)))
		}
	}
	b.WriteString("\n")
	s.runLines(line)
	return strings.TrimRight(b.String(), "\n")
}

// liveLines are the progress bar and live figures of a run in hand.
func (s *syncScreen) liveLines(line func(string)) {
	st := s.c.styles
	p := s.progress
	// The groups' member count sizes the bar; before the engine knows it,
	// the preview's count of users read stands in.
	total := p.Total
	if total <= 0 && s.preview != nil {
		total = s.preview.Users
	}
	pct := 0.0
	switch {
	case p.Phase == "done":
		pct = 1
	case total > 0:
		pct = min(float64(p.Users)/float64(total), 0.99)
	}
	line(s.bar.ViewAs(pct) + fmt.Sprintf(" %3.0f%%", pct*100))
	rate := 0.0
	if el := s.c.now().Sub(s.started).Seconds(); el > 0 {
		rate = float64(p.Users) / el
	}
	phase := p.Phase
	if phase == "" {
		phase = "starting"
	}
	read := fmt.Sprintf("%d users read", p.Users)
	if total > 0 {
		read = fmt.Sprintf("%d of %d users read", p.Users, total)
	}
	line(fmt.Sprintf("%s page %d · %s · %.0f users/s", st.Label.Render(phase), p.Pages, read, rate))
	// Users to disable are those no page held: known only once all are read.
	disabled := fmt.Sprint(p.Disabled)
	if p.Phase != "apply" && p.Phase != "done" {
		disabled = st.Subtle.Render("counted after the last page")
	}
	s.figures(line, fmt.Sprint(p.Created), fmt.Sprint(p.Updated), disabled, fmt.Sprint(p.Unchanged))
	errs := fmt.Sprintf("%d · %d requests retried", s.errors, p.Retried)
	if s.errors > 0 {
		errs = st.Warn.Render(errs + " — " + steps.Printable(s.lastErr))
	}
	line(st.Label.Render("Errors") + errs)
	if s.lastMsg != "" {
		line(st.Subtle.Render(steps.Printable(s.lastMsg)))
	}
}

// counters are a plan's figures.
func (s *syncScreen) counters(line func(string), p *store.SyncPlan) {
	if p == nil {
		return
	}
	s.figures(line, fmt.Sprint(p.Created), fmt.Sprint(p.Updated), fmt.Sprint(p.Disabled+p.Deleted), fmt.Sprint(p.Unchanged))
}

// figures are the four per-action lines, in the order the wizard always
// shows them.
func (s *syncScreen) figures(line func(string), created, updated, disabled, unchanged string) {
	st := s.c.styles
	line(st.Label.Render("Created") + created)
	line(st.Label.Render("Updated") + updated)
	line(st.Label.Render("Disabled") + disabled)
	line(st.Label.Render("Unchanged") + unchanged)
}

// changes lists the first changes of each action (or of only one).
func (s *syncScreen) changes(line func(string), p *store.SyncPlan, only string, room int) {
	if p == nil {
		return
	}
	per := max(room/3, 1)
	if only != "" {
		per = room
	}
	for _, action := range []string{"create", "update", "disable"} {
		if only != "" && action != only {
			continue
		}
		n := 0
		for _, c := range p.Changes {
			if c.Action != action {
				continue
			}
			if n == per {
				line(s.c.styles.Subtle.Render("  " + action + " …"))
				break
			}
			line(fmt.Sprintf("  %-8s %s (%s)", action, steps.Printable(c.UserPrincipalName), steps.Printable(c.DisplayName)))
			n++
		}
	}
}

// runLines are the last runs.
func (s *syncScreen) runLines(line func(string)) {
	st := s.c.styles
	line(st.Strong.Render("Last runs"))
	if s.runsErr != nil {
		line(st.Warn.Render("  could not read them: " + steps.Printable(s.runsErr.Error())))
		return
	}
	if len(s.runs) == 0 {
		line(st.Subtle.Render("  none yet"))
		return
	}
	for _, r := range s.runs {
		l := fmt.Sprintf("  %s  %-11s +%d ~%d -%d =%d", r.Started.Local().Format("2006-01-02 15:04"), r.Kind, r.Created, r.Updated, r.Disabled+r.Deleted, r.Unchanged)
		if r.Error != "" {
			l = st.Err.Render(l + "  ✗ " + steps.Printable(r.Error))
		}
		line(l)
	}
}
