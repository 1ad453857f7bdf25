package steps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// ExpiryWarning is how close to its end a client secret is flagged.
const ExpiryWarning = 30 * 24 * time.Hour

// SecretPolicyReader reads the tenant's client secret lifetime policy.
// *graphapi.Client implements it; a Graph without it is treated as a
// tenant whose policy cannot be read.
type SecretPolicyReader interface {
	SecretLifetimePolicy(ctx context.Context) (*graphapi.SecretLifetimePolicy, error)
}

// policyMargin keeps a capped end date safely inside the policy's maximum:
// Entra measures the lifetime from its own clock.
const policyMargin = time.Hour

// Lifetime is the end date chosen for a new client secret and why.
type Lifetime struct {
	End    time.Time
	Note   string                         // set when the tenant's policy shortened it
	Policy *graphapi.SecretLifetimePolicy // nil when the policy could not be read
}

// ChooseLifetime picks a new secret's end date: the profile's lifetime,
// capped by the tenant's secret lifetime policy when it can be read
// (Policy.Read.All). An unreadable policy is not an error: Entra refuses
// an addPassword that exceeds it, and that refusal is explained then.
func ChooseLifetime(ctx context.Context, r *Run) Lifetime {
	now := r.Env.now()
	days := profileDays(r)
	lt := profileLifetime(r)
	pr, ok := r.Env.Graph.(SecretPolicyReader)
	if !ok {
		return lt
	}
	pol, err := pr.SecretLifetimePolicy(ctx)
	if err != nil {
		r.Progress("the tenant's secret lifetime policy could not be read (" + graphapi.Classify(err).Kind.String() + "): using the profile's lifetime")
		return lt
	}
	lt.Policy = pol
	if pol.Enforced && pol.MaxLifetime > 0 && lt.End.Sub(now) > pol.MaxLifetime {
		lt.End = now.Add(pol.MaxLifetime - policyMargin)
		lt.Note = fmt.Sprintf("the profile asks for %d days, but the tenant's policy allows client secrets of at most %s (%s): this secret ends %s",
			days, humanLifetime(pol.MaxLifetime), pol.MaxLifetimeISO, lt.End.Format("2006-01-02"))
	}
	return lt
}

// addWithinPolicy adds a client secret named name with the profile's
// lifetime, capped by the tenant's policy. With readFirst the policy is read
// before; otherwise only after Entra refuses the lifetime, and the add is
// tried once more with the capped one when the policy can be read.
func addWithinPolicy(ctx context.Context, r *Run, name string, readFirst bool) (*graphapi.NewSecret, Lifetime, error) {
	now := r.Env.now()
	var lt Lifetime
	if readFirst {
		lt = ChooseLifetime(ctx, r)
	} else {
		lt = profileLifetime(r)
	}
	add := func(end time.Time) (*graphapi.NewSecret, error) {
		var made *graphapi.NewSecret
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			var err error
			made, err = r.Env.Graph.AddPassword(ctx, r.Conn.App.ObjectID, name, end)
			return err
		})
		return made, err
	}
	if lt.Note != "" {
		r.Progress(lt.Note)
	}
	made, err := add(lt.End)
	if err != nil && !readFirst && isLifetimeRefusal(err) {
		if capped := ChooseLifetime(ctx, r); capped.Note != "" {
			r.Progress(capped.Note)
			lt = capped
			made, err = add(lt.End)
		} else {
			lt.Policy = capped.Policy
		}
	}
	if err != nil {
		return nil, lt, explainLifetimeRefusal(err, lt, now)
	}
	return made, lt, nil
}

func isLifetimeRefusal(err error) bool {
	var ge *graphapi.Error
	return errors.As(err, &ge) && strings.EqualFold(ge.Code, "CredentialInvalidLifetimeAsPerAppPolicy")
}

func profileDays(r *Run) int {
	if r.Profile != nil && r.Profile.Secret != nil && r.Profile.Secret.LifetimeDays > 0 {
		return r.Profile.Secret.LifetimeDays
	}
	return 730
}

// profileLifetime is the profile's lifetime, with no policy applied.
func profileLifetime(r *Run) Lifetime {
	return Lifetime{End: r.Env.now().AddDate(0, 0, profileDays(r))}
}

// explainLifetimeRefusal turns Entra's CredentialInvalidLifetimeAsPerAppPolicy
// into an error that names the maximum when it is known.
func explainLifetimeRefusal(err error, lt Lifetime, now time.Time) error {
	var ge *graphapi.Error
	if !isLifetimeRefusal(err) || !errors.As(err, &ge) {
		return err
	}
	asked := int(math.Round(lt.End.Sub(now).Hours() / 24))
	msg := fmt.Sprintf("the tenant's app management policy refuses a client secret of %d days", asked)
	remedy := "Read the maximum in the portal (Entra ID > Enterprise apps > Application policies) or grant entrawiz Policy.Read.All so it can read it, then lower the profile's secret.lifetimeDays."
	if lt.Policy != nil && lt.Policy.Enforced {
		msg = fmt.Sprintf("the tenant's app management policy allows client secrets of at most %s (%s); %d days were asked", humanLifetime(lt.Policy.MaxLifetime), lt.Policy.MaxLifetimeISO, asked)
		remedy = fmt.Sprintf("Set the profile's secret.lifetimeDays to %d or less, or have the policy changed.", int(lt.Policy.MaxLifetime.Hours()/24))
	}
	return &graphapi.Error{Kind: graphapi.KindBadInput, Op: ge.Op, Code: ge.Code, Status: ge.Status, RequestID: ge.RequestID,
		Message: msg, Remedy: remedy, Err: err}
}

func humanLifetime(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.String()
}

// DaysLeft is the whole days until end, rounded up (negative once past).
func DaysLeft(now, end time.Time) int {
	return int(math.Ceil(end.Sub(now).Hours() / 24))
}

// ExpiryState is "expired", "expiring" (inside ExpiryWarning), "ok", or
// "unknown" for a secret with no known end.
func ExpiryState(now, end time.Time) string {
	switch {
	case end.IsZero():
		return "unknown"
	case !end.After(now):
		return "expired"
	case end.Sub(now) < ExpiryWarning:
		return "expiring"
	}
	return "ok"
}

// SecretExpiredError is the error for a connection whose active secret is
// past its end date: the fix is `entrawiz rotate`.
func SecretExpiredError(s *store.Secret) error {
	return &graphapi.Error{Kind: graphapi.KindSecretExpired, Op: "test the connection", Code: "SecretExpired",
		Message: fmt.Sprintf("the client secret %s… expired on %s", s.Hint, s.End.Format("2006-01-02")),
		Remedy:  "Create a new client secret with `entrawiz rotate` (or the dashboard's rotate action) and give it to the product."}
}
