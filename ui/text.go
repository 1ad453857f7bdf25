package ui

// Plain text for the headless commands: the same states the screens show,
// as lines a script's log or a support ticket can hold.

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// StepLine is one finished step, for --json output.
type StepLine struct {
	Step   string `json:"step"`
	Result string `json:"result"` // done, skipped, failed
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
	Remedy string `json:"remedy,omitempty"`
}

// Lines prints a run's step events as lines (on stderr, headless) and
// keeps the outcome of each step for --json output.
type Lines struct {
	w     io.Writer
	Steps []StepLine
}

// NewLines reports to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

// Report prints one event.
func (r *Lines) Report(ev steps.Event) {
	switch ev.Kind {
	case steps.StepStarted:
		fmt.Fprintf(r.w, "• %s…\n", ev.Title)
	case steps.StepProgress:
		fmt.Fprintf(r.w, "    %s\n", ev.Message)
	case steps.StepWaiting:
		fmt.Fprintf(r.w, "    %s\n", ev.Message)
	case steps.StepDone:
		fmt.Fprintf(r.w, "  ✓ %s\n", ev.Message)
		r.Steps = append(r.Steps, StepLine{Step: ev.Step, Result: "done", Detail: ev.Message})
	case steps.StepSkipped:
		if ev.NotNeeded {
			fmt.Fprintf(r.w, "  – not needed: %s\n", ev.Message)
		} else {
			fmt.Fprintf(r.w, "  ✓ already done: %s\n", ev.Message)
		}
		r.Steps = append(r.Steps, StepLine{Step: ev.Step, Result: "skipped", Detail: ev.Message})
	case steps.StepFailed:
		fmt.Fprintf(r.w, "  ✗ %s\n", ev.Message)
		line := StepLine{Step: ev.Step, Result: "failed", Error: ev.Message}
		if ev.Err != nil {
			line.Remedy = ev.Err.Remedy
		}
		r.Steps = append(r.Steps, line)
	}
}

// WritePlan writes the plan as text.
func WritePlan(w io.Writer, p *steps.Plan) {
	fmt.Fprintf(w, "\nTenant  %s (%s)\n", p.Tenant.DisplayName, p.Tenant.ID)
	fmt.Fprintf(w, "Domains %s (primary), %s\n", p.Tenant.PrimaryDomain, p.Tenant.InitialDomain)
	if len(p.Roles) > 0 {
		fmt.Fprintf(w, "You     %s — %s\n", p.AdminUPN, strings.Join(p.Roles, ", "))
	} else {
		fmt.Fprintf(w, "You     %s\n", p.AdminUPN)
	}
	fmt.Fprintln(w, "\nPlan:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range p.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", it.Action, it.Object, it.Detail)
	}
	tw.Flush()
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "  ! %s\n", warn)
	}
	if p.Blocker != nil {
		fmt.Fprintf(w, "\n✗ %s\n  %s\n", p.Blocker.Message, p.Blocker.Remedy)
	}
	fmt.Fprintln(w)
}

// WriteHandoff writes the values for the product, the secret hidden
// unless it was revealed.
func WriteHandoff(w io.Writer, values []steps.HandoffValue) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range values {
		val := v.Value
		if v.Secret && val == "" {
			val = "(in the OS keyring: --reveal-secret prints it, --deliver-cmd pipes it)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", v.Label, val)
	}
	tw.Flush()
}

// WriteRotation writes what a rotation did, and the values to hand off.
func WriteRotation(w io.Writer, res *steps.RotateResult, handoff []steps.HandoffValue) {
	switch {
	case res.Skipped != "":
		fmt.Fprintf(w, "%s: no rotation: %s\n", res.Connection, res.Skipped)
	case res.Rotated:
		fmt.Fprintf(w, "%s: the new client secret is active", res.Connection)
		if res.Secret != nil {
			fmt.Fprintf(w, " (%s…, ends %s)", res.Secret.Hint, res.Secret.End.Format("2006-01-02"))
		}
		fmt.Fprintln(w, ". Give the product these values:")
		WriteHandoff(w, handoff)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, s := range res.Retiring {
		when := "on `entrawiz rotate --finish`"
		if !s.RemoveAfter.IsZero() {
			when = "after " + s.RemoveAfter.Local().Format("2006-01-02 15:04") + " (the next `entrawiz rotate` removes it)"
		}
		fmt.Fprintf(w, "  old secret %s… stays until %s\n", s.Hint, when)
	}
	for _, id := range res.Removed {
		fmt.Fprintf(w, "  removed %s\n", id)
	}
	for _, l := range res.Leftovers {
		state := "reported: --clean-up removes it"
		if l.Removed {
			state = "cleaned up"
		}
		fmt.Fprintf(w, "  ! %s %s: %s (%s)\n", l.Kind, l.KeyID, l.Detail, state)
	}
}

// WriteStatus writes connections' status as text.
func WriteStatus(w io.Writer, out []app.ConnectionStatus) {
	if len(out) == 0 {
		fmt.Fprintln(w, "No connection is set up yet. Run `entrawiz setup --help` to start.")
		return
	}
	for _, s := range out {
		fmt.Fprintf(w, "%s\n  tenant   %s (%s)\n  app      %s (%s)\n", s.Name, s.Tenant.DisplayName, s.Tenant.ID, s.App.DisplayName, s.App.AppID)
		switch {
		case s.Secret != nil && s.Secret.State == "unknown":
			fmt.Fprintf(w, "  secret   %s… expiry unknown (entered by hand)\n", s.Secret.Hint)
		case s.Secret != nil && s.Secret.State == "removed":
			fmt.Fprintf(w, "  secret   %s… REMOVED from the app in Entra (the tenant says so)\n", s.Secret.Hint)
		case s.Secret != nil:
			src := "as recorded here"
			if s.Secret.Source == "tenant" {
				src = "as Entra says"
			}
			fmt.Fprintf(w, "  secret   %s… expires %s (%s, %d days, %s)\n", s.Secret.Hint, s.Secret.Expires.Format("2006-01-02"), s.Secret.State, s.Secret.DaysLeft, src)
		}
		writeLive(w, s.Live)
		if s.LastTest != nil {
			res := "passed"
			if !s.LastTest.Passed {
				res = "failed"
			}
			fmt.Fprintf(w, "  tested   %s, %s\n", s.LastTest.At.Local().Format("2006-01-02 15:04"), res)
		}
		for _, cr := range s.Credentials {
			tag := cr.MadeBy
			if cr.Status != "" {
				tag += ", " + cr.Status
			}
			fmt.Fprintf(w, "  key      %s %-22q %s… ends %s (%s, %d days; %s)\n", cr.KeyID, cr.DisplayName, cr.Hint,
				cr.End.Format("2006-01-02"), cr.State, cr.DaysLeft, tag)
		}
		if ls := s.LastSync; ls != nil {
			res := fmt.Sprintf("%s run: %d created, %d updated, %d disabled, %d deleted", ls.Kind, ls.Created, ls.Updated, ls.Disabled, ls.Deleted)
			if ls.DryRun {
				res = "dry " + res
			}
			if ls.Error != "" {
				res = "failed: " + ls.Error
			}
			fmt.Fprintf(w, "  synced   %s, %s\n", ls.At.Local().Format("2006-01-02 15:04"), res)
		}
		fmt.Fprintf(w, "  enabled  %v\n", s.Enabled)
		writeSchedule(w, s.Schedule)
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "  ! %s\n", warn)
		}
		if s.LocalOnly != "" {
			fmt.Fprintf(w, "  (only the local record for the rest: %s)\n", s.LocalOnly)
		}
	}
}

// writeLive says what the tenant confirmed.
func writeLive(w io.Writer, v *app.LiveView) {
	if !v.Checked() {
		return
	}
	var ok []string
	if v.AppExists != nil && *v.AppExists {
		ok = append(ok, "app exists")
	}
	if v.ServicePrincipalExists != nil && *v.ServicePrincipalExists {
		ok = append(ok, "enterprise app exists")
	}
	if v.SecretWorks != nil && *v.SecretWorks {
		ok = append(ok, "secret signs in")
	}
	if len(v.Roles) > 0 && len(v.MissingPermissions) == 0 {
		ok = append(ok, "consent in place")
	}
	line := strings.Join(ok, ", ")
	if line == "" {
		line = "see the warnings below"
	}
	fmt.Fprintf(w, "  tenant   checked %s with %s: %s\n", v.At.Local().Format("2006-01-02 15:04"), strings.Join(v.Via, " and "), line)
}

// writeSchedule says what the OS scheduler runs and when.
func writeSchedule(w io.Writer, s *app.ScheduleStatus) {
	if s == nil || !s.Installed {
		return
	}
	for _, j := range s.Jobs {
		line := j.Name + " " + j.Every
		for _, st := range s.States {
			if st.Name != j.Name {
				continue
			}
			if !st.Next.IsZero() {
				line += ", next " + st.Next.Local().Format("2006-01-02 15:04")
			}
			if !st.Last.IsZero() {
				line += ", last " + st.Last.Local().Format("2006-01-02 15:04")
			}
			if st.Note != "" {
				line += " (" + st.Note + ")"
			}
		}
		fmt.Fprintf(w, "  schedule %s\n", line)
	}
	if s.Logs != "" {
		fmt.Fprintf(w, "  logs     %s\n", s.Logs)
	}
}

// WriteProblems writes one line per problem an admin must act on, for
// `status --check`; nothing when all is well.
func WriteProblems(w io.Writer, out []app.ConnectionStatus) int {
	n := 0
	for _, s := range out {
		for _, p := range s.Problems {
			fmt.Fprintf(w, "%s: %s: %s. %s\n", p.Connection, p.Code, p.Message, p.Remedy)
			n++
		}
	}
	return n
}

// WriteChanges writes a sync plan's changes (only one action, when set).
func WriteChanges(w io.Writer, p *store.SyncPlan, only string) {
	for _, c := range p.Changes {
		if only == "" || c.Action == only {
			fmt.Fprintf(w, "  %-8s %s  %s (%s)\n", c.Action, c.ID, c.UserPrincipalName, c.DisplayName)
		}
	}
	if p.Truncated {
		fmt.Fprintln(w, "  … (list shortened)")
	}
}

// WriteSyncResult writes a sync run's counts (a preview's changes first)
// on w, and its warnings on errW.
func WriteSyncResult(w, errW io.Writer, connection string, res *steps.SyncResult) {
	p := res.Plan
	verb := "synced"
	if res.DryRun {
		verb = "dry run (nothing written)"
		WriteChanges(w, p, "")
	}
	fmt.Fprintf(w, "%s: %s, %s run: %d created, %d updated, %d disabled, %d deleted, %d unchanged in %s\n", connection, verb,
		res.Kind, p.Created, p.Updated, p.Disabled, p.Deleted, p.Unchanged, res.Took.Round(time.Millisecond))
	if res.Stopped != "" {
		fmt.Fprintf(w, "a real run would stop: it would disable more than %s (use --allow-mass-disable)\n", res.Stopped)
	}
	for _, g := range res.GoneGroups {
		fmt.Fprintf(errW, "warning: picked group %s no longer exists in Entra; its users were taken as having left it (pick the groups again: entrawiz groups pick)\n", g)
	}
}
