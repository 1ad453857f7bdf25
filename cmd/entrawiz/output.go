package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/entrawiz/entrawiz/steps"
)

// stepLine is one finished step, for --json output.
type stepLine struct {
	Step   string `json:"step"`
	Result string `json:"result"` // done, skipped, failed
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
	Remedy string `json:"remedy,omitempty"`
}

// reporter prints step events as lines on stderr and keeps the outcome of
// each step for the JSON result.
type reporter struct {
	w     io.Writer
	lines []stepLine
}

func newReporter(w io.Writer) *reporter { return &reporter{w: w} }

func (r *reporter) report(ev steps.Event) {
	switch ev.Kind {
	case steps.StepStarted:
		fmt.Fprintf(r.w, "• %s…\n", ev.Title)
	case steps.StepProgress:
		fmt.Fprintf(r.w, "    %s\n", ev.Message)
	case steps.StepWaiting:
		fmt.Fprintf(r.w, "    %s\n", ev.Message)
	case steps.StepDone:
		fmt.Fprintf(r.w, "  ✓ %s\n", ev.Message)
		r.lines = append(r.lines, stepLine{Step: ev.Step, Result: "done", Detail: ev.Message})
	case steps.StepSkipped:
		fmt.Fprintf(r.w, "  ✓ already done: %s\n", ev.Message)
		r.lines = append(r.lines, stepLine{Step: ev.Step, Result: "skipped", Detail: ev.Message})
	case steps.StepFailed:
		fmt.Fprintf(r.w, "  ✗ %s\n", ev.Message)
		line := stepLine{Step: ev.Step, Result: "failed", Error: ev.Message}
		if ev.Err != nil {
			line.Remedy = ev.Err.Remedy
		}
		r.lines = append(r.lines, line)
	}
}

func printPlan(w io.Writer, p *steps.Plan) {
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

func printHandoff(w io.Writer, values []steps.HandoffValue) {
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
