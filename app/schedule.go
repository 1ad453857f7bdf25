package app

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// SyncRun is one run of a schedule, as it ended.
type SyncRun struct {
	Conn   *store.Connection
	Result *steps.SyncResult
	Err    error
	// Next is when the next run starts; zero when none will.
	Next time.Time
}

// SyncEvery syncs the connection now and then again every interval, with
// ±10 % jitter so that many machines do not call Graph in step, and backing
// off (up to an hour) after failures, until ctx ends or a run is stopped by
// a safety limit, which needs the admin. Each run's outcome goes to ran.
// An interrupted schedule ends as interrupted even when its last run
// finished.
func (a *App) SyncEvery(ctx context.Context, name string, req SyncRequest, every time.Duration,
	report func(steps.Event), ran func(SyncRun)) error {
	failures := 0
	for {
		conn, res, err := a.Sync(ctx, name, req, report)
		run := SyncRun{Conn: conn, Result: res, Err: err}
		var se *steps.SafetyError
		if errors.As(err, &se) || ctx.Err() != nil {
			ran(run)
			return cmp.Or(ctx.Err(), err)
		}
		wait := every
		if err != nil {
			failures++
			wait = min(every<<min(failures, 6), time.Hour)
		} else {
			failures = 0
		}
		wait += time.Duration((rand.Float64()*0.2 - 0.1) * float64(wait))
		run.Next = a.now().Add(wait)
		ran(run)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
