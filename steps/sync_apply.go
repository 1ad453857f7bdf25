package steps

import (
	"context"
	"fmt"

	"github.com/entrawiz/entrawiz/store"
)

// Safety limits on how many users one run may disable (like Entra
// Connect's accidental-delete protection).
const (
	DefaultMaxDisable        = 500
	DefaultMaxDisablePercent = 20
)

// SafetyError is a run refused because it would disable too many users;
// nothing was changed.
type SafetyError struct {
	Plan  *store.SyncPlan
	Limit string
}

func (e *SafetyError) Error() string {
	return fmt.Sprintf("sync stopped: it would disable %d users, more than %s; nothing was changed (check the picked groups, or run again with --allow-mass-disable)", e.Plan.Disabled, e.Limit)
}

func (s *syncer) limits() (int, int) {
	n, pct := s.o.MaxDisable, s.o.MaxDisablePercent
	if n <= 0 {
		n = DefaultMaxDisable
	}
	if pct <= 0 {
		pct = DefaultMaxDisablePercent
	}
	return n, pct
}

// unsafe says which limit a plan breaks, or "".
func (s *syncer) unsafe(p *store.SyncPlan) string {
	n, pct := s.limits()
	switch {
	case p.Disabled > n:
		return fmt.Sprintf("the limit of %d users", n)
	case p.ActiveBefore > 0 && p.Disabled*100 > pct*p.ActiveBefore:
		return fmt.Sprintf("%d %% of the %d active users", pct, p.ActiveBefore)
	}
	return ""
}

func (s *syncer) reconcile(ctx context.Context, res *SyncResult) (*store.SyncPlan, error) {
	s.st.Step = "apply"
	s.report("comparing with the directory database")
	opts := store.ReconcileOptions{Now: s.o.now(), DryRun: s.o.DryRun, RunStart: s.start}
	if sp := s.o.Spec; sp != nil && sp.OnRemoval == "delete" {
		opts.OnRemoval, opts.DeleteAfterDays = "delete", sp.DeleteAfterDays
	}
	opts.Check = func(p *store.SyncPlan) error {
		limit := s.unsafe(p)
		if limit == "" || s.o.AllowMassDisable {
			return nil
		}
		if s.o.DryRun {
			res.Stopped = limit
			return nil
		}
		return &SafetyError{Plan: p, Limit: limit}
	}
	plan, err := s.o.DB.Reconcile(ctx, opts)
	if err != nil {
		return plan, err
	}
	verb := "applied"
	if s.o.DryRun {
		verb = "previewed (nothing written)"
	}
	s.st.Step = "done"
	// Disabled and deleted are different users: the screen's "disabled"
	// is both.
	s.st.Planned = store.PlanCounts{Created: plan.Created, Updated: plan.Updated, Disabled: plan.Disabled + plan.Deleted, Unchanged: plan.Unchanged}
	s.report(fmt.Sprintf("%s: %d created, %d updated, %d disabled, %d deleted, %d unchanged", verb,
		plan.Created, plan.Updated, plan.Disabled, plan.Deleted, plan.Unchanged))
	return plan, nil
}
