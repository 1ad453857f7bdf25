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
// off (up to an hour) after failures, until ctx ends or a run fails in a
// way only the admin can mend (a safety limit, nothing picked, the
// connection gone, a damaged file). Each run's outcome goes to ran.
// An interrupted schedule ends as interrupted even when its last run
// finished.
func (a *App) SyncEvery(ctx context.Context, name string, req SyncRequest, every time.Duration,
	report func(steps.Event), ran func(SyncRun)) error {
	failures := 0
	for {
		conn, res, err := a.Sync(ctx, name, req, report)
		run := SyncRun{Conn: conn, Result: res, Err: err}
		if needsAdmin(err) || ctx.Err() != nil {
			ran(run)
			return cmp.Or(ctx.Err(), err)
		}
		wait := every
		if err != nil {
			failures++
			for i := 0; i < failures && wait < time.Hour; i++ {
				wait *= 2
			}
			wait = max(every, min(wait, time.Hour))
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

// MaxSyncInterval bounds a schedule's interval: a sync at least once a
// week, and no interval whose back-off could overflow.
const MaxSyncInterval = 7 * 24 * time.Hour

// needsAdmin reports whether a failed run would fail the same way however
// often it is retried: stopped by a safety limit, nothing set up or
// picked, a connection reset meanwhile, a damaged file.
func needsAdmin(err error) bool {
	var (
		se  *steps.SafetyError
		ie  *InputError
		le  *LocalError
		ce  *store.CorruptError
		cde *store.CorruptDirectoryError
	)
	return errors.As(err, &se) || errors.As(err, &ie) || errors.As(err, &le) || errors.As(err, &ce) || errors.As(err, &cde) ||
		errors.Is(err, ErrNoConnection) || errors.Is(err, ErrConnectionRemoved)
}
