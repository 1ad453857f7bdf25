package graphapi

import (
	"context"
	"fmt"
	"time"
)

// Backoff bounds Retry's waits: the first wait is Initial, each next one is
// Multiplier times longer up to Max, and no wait starts once Budget has been
// spent since the first attempt. The zero value means 1s, 10s, 3m, ×2.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Budget     time.Duration
	Multiplier float64
	// RetryInvalidSecret also retries AADSTS7000215 (invalid client
	// secret), which Entra answers for a few seconds after a secret is
	// created. Only a caller that just created the secret should set it.
	RetryInvalidSecret bool
}

// DefaultBackoff is the replication backoff: 1s doubling to 10s, 3 minutes in all.
func DefaultBackoff() Backoff {
	return Backoff{Initial: time.Second, Max: 10 * time.Second, Budget: 3 * time.Minute, Multiplier: 2}
}

func (b Backoff) withDefaults() Backoff {
	def := DefaultBackoff()
	if b.Initial <= 0 {
		b.Initial = def.Initial
	}
	if b.Max <= 0 {
		b.Max = def.Max
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Budget <= 0 {
		b.Budget = def.Budget
	}
	if b.Multiplier < 1 {
		b.Multiplier = def.Multiplier
	}
	return b
}

// Retryable reports whether e is a symptom of Entra's replication delay
// that waiting fixes: an object, app or role not visible yet right after it
// was created (404, Request_ResourceNotFound, "does not reference a valid
// application object", "queried reference-property objects are not
// present", AADSTS700016, a role missing from a fresh app token) and, when
// opted in, AADSTS7000215 just after a secret was created.
func (b Backoff) Retryable(e *Error) bool {
	if e == nil {
		return false
	}
	switch e.Kind {
	case KindNotFoundYet, KindNotFound:
		return true
	case KindInvalidSecret:
		return b.RetryInvalidSecret && e.Code == "AADSTS7000215"
	}
	return false
}

// Retry calls fn until it succeeds, fails with something other than a
// replication symptom (see Backoff.Retryable), or the budget is spent. It
// waits with bounded exponential backoff, calling onWait (if not nil) before
// each wait so the caller can show "waiting for replication". It is meant
// for calls made right after a create; throttling (429/503 with
// Retry-After) is handled by the Graph client's retry middleware instead.
// The error returned is fn's last, classified.
func Retry(ctx context.Context, b Backoff, onWait func(attempt int, delay time.Duration, err *Error), fn func(ctx context.Context) error) error {
	b = b.withDefaults()
	start := time.Now()
	delay := b.Initial
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		e := Classify(err)
		if !b.Retryable(e) {
			return e
		}
		left := b.Budget - time.Since(start)
		if left <= 0 {
			return gaveUp(e, b.Budget)
		}
		wait := min(delay, left)
		if onWait != nil {
			onWait(attempt, wait, e)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return wrap(e.Op, ctx.Err())
		case <-t.C:
		}
		delay = min(time.Duration(float64(delay)*b.Multiplier), b.Max)
	}
}

func gaveUp(e *Error, budget time.Duration) *Error {
	c := *e
	c.Remedy = fmt.Sprintf("Still failing after waiting %s for Entra to replicate: %s", budget.Round(time.Second), e.Remedy)
	return &c
}
