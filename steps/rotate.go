package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// Secret statuses in store.Secret.Status.
const (
	SecretActive   = "active"   // the secret the product uses
	SecretNext     = "next"     // made by a rotation, not yet verified and handed off
	SecretRetiring = "retiring" // replaced; removed when due or on --finish
	SecretReplaced = "replaced" // replaced by a setup re-run; treated as retiring
)

// RotateOptions say what a rotation does besides adding a secret.
type RotateOptions struct {
	// IfExpiringWithin, when positive, makes the rotation a no-op unless
	// the active secret ends within it (for cron).
	IfExpiringWithin time.Duration
	// RemoveOldAfter, when set, is how long the replaced secret stays on
	// the app; nil keeps it until a run with Finish.
	RemoveOldAfter *time.Duration
	// Finish confirms the product has the new secret: the replaced
	// secrets are removed now, and no new secret is made.
	Finish bool
	// CleanUp removes what crashed runs left: entrawiz-made credentials
	// no keyring holds, and keyring entries whose credential is gone.
	CleanUp bool
	// Remove names credentials to remove even if made outside entrawiz.
	Remove []string
}

// Credential is one password credential of the app as entrawiz sees it.
type Credential = store.Credential

// Leftover is something a stopped rotation left behind.
type Leftover struct {
	KeyID string `json:"keyId"`
	// Kind: "orphan-credential" (an entrawiz-made secret on the app that
	// no keyring entry holds), "stale-keyring-entry" (a stored secret
	// whose credential is no longer on the app), or "recovered-secret" (a
	// secret the keyring holds that the config had lost; recorded again).
	Kind        string `json:"kind"`
	DisplayName string `json:"displayName,omitempty"`
	Removed     bool   `json:"removed"`
	Detail      string `json:"detail,omitempty"`
}

// RotateResult is what a rotation did.
type RotateResult struct {
	Connection  string         `json:"connection"`
	Rotated     bool           `json:"rotated"`
	Resumed     bool           `json:"resumed,omitempty"` // a stopped rotation's secret was finished
	Skipped     string         `json:"skipped,omitempty"` // why no secret was made
	Secret      *store.Secret  `json:"secret,omitempty"`  // the active secret afterwards
	Notes       []string       `json:"notes,omitempty"`
	Removed     []string       `json:"removed,omitempty"` // key IDs removed from the app
	Retiring    []store.Secret `json:"retiring,omitempty"`
	Leftovers   []Leftover     `json:"leftovers,omitempty"`
	Credentials []Credential   `json:"credentials"`
}

// RotateSecret rotates the connection's client secret by overlap: add the
// new secret, store it in the keyring (the old one stays), verify an
// app-only token with it, hand it off, make it the active one, and remove
// the old one only when due. At every point a working secret remains; a
// run that stops is finished by the next, which also reports (and with
// CleanUp removes) what the stopped one left.
func RotateSecret(ctx context.Context, r *Run, opts RotateOptions) (*RotateResult, error) {
	res := &RotateResult{Connection: r.Conn.Name}
	var app *graphapi.Application
	inventory := Step{Name: "inventory", Title: "Read the app's client secrets", Apply: func(ctx context.Context, r *Run) (string, error) {
		var err error
		if app, err = r.readCredentials(ctx); err != nil {
			return "", fmt.Errorf("read the app's client secrets: %w", err)
		}
		r.syncEnds(app)
		if res.Leftovers, err = r.findLeftovers(app); err != nil {
			return "", err
		}
		if err := r.cleanUp(ctx, app, opts, res); err != nil {
			return "", err
		}
		return r.inventorySummary(app, res), nil
	}}
	if err := r.Execute(ctx, []Step{inventory}); err != nil {
		return res, err
	}
	now := r.Env.now()
	next := r.resumable(app)
	active := ActiveSecret(r.Conn)
	var plan []Step
	switch {
	case next == nil && opts.Finish:
		res.Skipped = "--finish: no new secret is made"
	case next == nil && opts.IfExpiringWithin > 0 && active != nil && !active.End.IsZero() && active.End.Sub(now) > opts.IfExpiringWithin:
		res.Skipped = fmt.Sprintf("the client secret ends %s (in %d days), not within %s", active.End.Format("2006-01-02"),
			DaysLeft(now, active.End), opts.IfExpiringWithin)
	default:
		if next == nil {
			plan = append(plan, Step{Name: "add-secret", Title: "Add the new client secret", Apply: func(ctx context.Context, r *Run) (string, error) {
				return r.addNextSecret(ctx, res)
			}})
		} else {
			res.Resumed = true
			r.Progress(fmt.Sprintf("finishing the stopped rotation's secret %s…", next.Hint))
		}
		plan = append(plan, Step{Name: "verify-secret", Title: "Verify the new secret", Apply: func(ctx context.Context, r *Run) (string, error) {
			if err := r.loadNextSecret(); err != nil {
				return "", err
			}
			tr, err := Verify(ctx, r, r.Profile.ApplicationPermissions)
			if err != nil {
				return "", fmt.Errorf("verify the new client secret (the old one still works and stays): %w", err)
			}
			return "the new secret works: " + tr.Summary(), nil
		}}, Step{Name: "hand-off", Title: "Hand the new secret to the product", Apply: func(ctx context.Context, r *Run) (string, error) {
			if r.Deliver == nil {
				return "the new secret is in the OS keyring: --reveal-secret prints it, --deliver-cmd pipes it", nil
			}
			if err := r.loadNextSecret(); err != nil {
				return "", err
			}
			if err := r.Deliver(ctx, r.secret); err != nil {
				return "", fmt.Errorf("deliver the new client secret (the old one still works and stays): %w", err)
			}
			return "the new secret was delivered", nil
		}}, Step{Name: "activate", Title: "Make the new secret the active one", Apply: func(ctx context.Context, r *Run) (string, error) {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			return r.activateNext(opts.RemoveOldAfter), nil
		}})
	}
	plan = append(plan, Step{Name: "remove-old", Title: "Remove the old secret when due", Apply: func(ctx context.Context, r *Run) (string, error) {
		return r.removeDue(ctx, opts.Finish, res)
	}})
	err := r.Execute(ctx, plan)
	res.Rotated = err == nil && res.Skipped == ""
	if s := ActiveSecret(r.Conn); s != nil {
		c := *s
		res.Secret = &c
	}
	for _, s := range r.Conn.Secrets {
		if s.Status == SecretRetiring || s.Status == SecretReplaced {
			res.Retiring = append(res.Retiring, s)
		}
	}
	if app != nil {
		res.Credentials = r.credentials(app, res.Removed)
		r.Conn.State.Credentials = res.Credentials
		r.save()
	}
	return res, err
}

// syncEnds takes each stored secret's end date from the app (it may have
// been changed in the portal, or expired early).
func (r *Run) syncEnds(app *graphapi.Application) {
	for i := range r.Conn.Secrets {
		for _, pw := range app.Passwords {
			if strings.EqualFold(pw.KeyID, r.Conn.Secrets[i].KeyID) && !pw.End.IsZero() {
				r.Conn.Secrets[i].End = pw.End
			}
		}
	}
}

func (r *Run) storedSecret(keyID string) *store.Secret {
	for i := range r.Conn.Secrets {
		if strings.EqualFold(r.Conn.Secrets[i].KeyID, keyID) {
			return &r.Conn.Secrets[i]
		}
	}
	return nil
}

// inKeyring reports whether the keyring holds s. Only the keyring's own
// "not found" is absence: a locked or slow keyring is an error, never
// taken as a secret nobody holds.
func (r *Run) inKeyring(s *store.Secret) (bool, error) {
	if s == nil || s.KeyringName == "" {
		return false, nil
	}
	_, err := r.Env.Secrets.Get(s.KeyringName)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("read the keyring (nothing was removed): %w", err)
}

// findLeftovers lists entrawiz-made credentials no keyring entry holds and
// keyring entries whose credential is gone from the app. The keyring is
// asked itself, not only the config: a credential the keyring holds is
// never a leftover, even when the config lost its record (a run stopped
// between the keyring write and the config save); it is recorded again as
// the next secret, which the rotation then finishes.
func (r *Run) findLeftovers(app *graphapi.Application) ([]Leftover, error) {
	var out []Leftover
	for _, pw := range app.Passwords {
		if !MadeByEntrawiz(pw.DisplayName) {
			continue
		}
		recorded := r.storedSecret(pw.KeyID)
		s := recorded
		if s == nil {
			s = &store.Secret{KeyID: pw.KeyID, Hint: pw.Hint, DisplayName: pw.DisplayName, Start: pw.Start, End: pw.End,
				KeyringName: KeyringName(r.Conn, pw.KeyID), Status: SecretNext}
		}
		held, err := r.inKeyring(s)
		switch {
		case err != nil:
			return nil, err
		case held && recorded != nil:
			continue
		case held:
			r.Conn.Secrets = append(r.Conn.Secrets, *s)
			out = append(out, Leftover{KeyID: pw.KeyID, Kind: "recovered-secret", DisplayName: pw.DisplayName,
				Detail: "kept in " + store.SecretsPlace(r.Env.Secrets) + " but missing from the config: recorded again as the next secret, never removed"})
			continue
		}
		out = append(out, Leftover{KeyID: pw.KeyID, Kind: "orphan-credential", DisplayName: pw.DisplayName,
			Detail: "made by entrawiz, but no keyring entry holds it (a stopped run made it): nothing can use it"})
	}
	for _, s := range r.Conn.Secrets {
		if hasPassword(app, s.KeyID) {
			continue
		}
		out = append(out, Leftover{KeyID: s.KeyID, Kind: "stale-keyring-entry", DisplayName: s.DisplayName,
			Detail: fmt.Sprintf("stored as %s, but the app has no such credential any more", orStatus(s.Status))})
	}
	return out, nil
}

// readCredentials reads the app's credentials. While a secret this
// connection stored within the replication budget is not on the app yet,
// it reads again (a stopped rotation run again at once meets Entra still
// replicating its new secret); once the budget is spent, what is missing
// is missing.
func (r *Run) readCredentials(ctx context.Context) (*graphapi.Application, error) {
	window := r.Env.Backoff.Budget
	if window <= 0 {
		window = 3 * time.Minute
	}
	var app *graphapi.Application
	err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
		a, err := r.Env.Graph.GetApplication(ctx, r.Conn.App.ObjectID)
		if err != nil {
			return err
		}
		app = a
		for _, s := range r.Conn.Secrets {
			if !hasPassword(a, s.KeyID) && !s.Start.IsZero() && r.Env.now().Sub(s.Start) < window {
				return &graphapi.Error{Kind: graphapi.KindNotFoundYet, Op: "read the app's client secrets",
					Message: "secret " + s.Hint + "… stored moments ago is not on the app yet"}
			}
		}
		return nil
	})
	if app != nil && graphapi.IsKind(err, graphapi.KindNotFoundYet) {
		return app, nil
	}
	return app, err
}

func orStatus(s string) string {
	if s == "" {
		return "a secret"
	}
	return "the " + s + " secret"
}

// cleanUp removes leftovers (with CleanUp) and the credentials the admin
// named (Remove). Secrets made outside entrawiz are removed only when
// named; the active secret never.
func (r *Run) cleanUp(ctx context.Context, app *graphapi.Application, opts RotateOptions, res *RotateResult) error {
	for _, id := range opts.Remove {
		if err := ValidateGUID("--remove", id); err != nil {
			return &graphapi.Error{Kind: graphapi.KindBadInput, Op: "remove a client secret", Message: err.Error(), Remedy: "Give the keyId as `entrawiz status` shows it."}
		}
		if a := ActiveSecret(r.Conn); a != nil && strings.EqualFold(a.KeyID, id) {
			return &graphapi.Error{Kind: graphapi.KindBadInput, Op: "remove a client secret", Message: "key " + id + " is the active secret the product uses",
				Remedy: "Rotate first (`entrawiz rotate`), then remove the old one with `entrawiz rotate --finish`."}
		}
		if !hasPassword(app, id) {
			return &graphapi.Error{Kind: graphapi.KindNotFound, Op: "remove a client secret", Message: "the app has no client secret " + id,
				Remedy: "Check the keyId with `entrawiz status`."}
		}
		if err := r.removeSecret(ctx, id, res); err != nil {
			return err
		}
	}
	if !opts.CleanUp {
		for _, l := range res.Leftovers {
			if l.Kind == "recovered-secret" {
				r.Progress(fmt.Sprintf("%s %s — %s", l.Kind, l.KeyID, l.Detail))
				continue
			}
			r.Progress(fmt.Sprintf("left by a stopped run: %s %s — %s (--clean-up removes it)", l.Kind, l.KeyID, l.Detail))
		}
		return nil
	}
	for i, l := range res.Leftovers {
		if slices.Contains(res.Removed, l.KeyID) {
			res.Leftovers[i].Removed = true
			continue
		}
		switch l.Kind {
		case "recovered-secret":
			continue // the keyring holds it: never removed
		case "orphan-credential":
			if s := r.storedSecret(l.KeyID); s != nil && (s.Status == SecretActive || s.Status == SecretNext) {
				// Recorded as the secret in use (or about to be): never
				// removed, whatever the keyring said.
				r.Progress(fmt.Sprintf("kept %s: it is the %s secret", l.KeyID, s.Status))
				continue
			}
			if err := r.removeSecret(ctx, l.KeyID, res); err != nil {
				return err
			}
		case "stale-keyring-entry":
			if s := r.storedSecret(l.KeyID); s != nil && s.Status == SecretActive {
				r.Progress("the active secret " + l.KeyID + " is gone from the app: `entrawiz rotate` makes a new one")
				continue
			}
			r.forget(l.KeyID)
		}
		res.Leftovers[i].Removed = true
	}
	return nil
}

// removeSecret removes a credential from the app, its keyring entry and
// its record; a credential already gone is fine.
func (r *Run) removeSecret(ctx context.Context, keyID string, res *RotateResult) error {
	err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
		return r.Env.Graph.RemovePassword(ctx, r.Conn.App.ObjectID, keyID)
	})
	if err != nil && !isNoSuchPassword(err) {
		return fmt.Errorf("remove client secret %s: %w", keyID, err)
	}
	r.wrote = true
	r.forget(keyID)
	res.Removed = append(res.Removed, keyID)
	return nil
}

func isNoSuchPassword(err error) bool {
	var ge *graphapi.Error
	return errors.As(err, &ge) && (ge.Kind == graphapi.KindNotFound || strings.Contains(strings.ToLower(ge.Message), "no password credential found"))
}

// forget deletes a secret's keyring entry and record. The keyring item is
// named from the key ID even without a record: a run that stopped after
// the keyring write but before saving the config left it there.
func (r *Run) forget(keyID string) {
	name := KeyringName(r.Conn, keyID)
	if s := r.storedSecret(keyID); s != nil && s.KeyringName != "" {
		name = s.KeyringName
	}
	if err := r.Env.Secrets.Delete(name); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.Progress("could not delete keyring item " + name + ": " + err.Error())
	}
	r.Conn.Secrets = slices.DeleteFunc(r.Conn.Secrets, func(s store.Secret) bool { return strings.EqualFold(s.KeyID, keyID) })
}

func (r *Run) inventorySummary(app *graphapi.Application, res *RotateResult) string {
	var outside int
	for _, pw := range app.Passwords {
		if !MadeByEntrawiz(pw.DisplayName) {
			outside++
		}
	}
	msg := fmt.Sprintf("%d client secret(s) on the app, %d made outside entrawiz (never removed unless named with --remove)", len(app.Passwords), outside)
	if n := len(res.Leftovers); n > 0 {
		msg += fmt.Sprintf("; %d left by a stopped run", n)
	}
	return msg
}

// resumable is the secret a stopped rotation made and stored but did not
// activate, if it is still on the app and in the keyring.
func (r *Run) resumable(app *graphapi.Application) *store.Secret {
	for i := len(r.Conn.Secrets) - 1; i >= 0; i-- {
		s := &r.Conn.Secrets[i]
		if held, _ := r.inKeyring(s); s.Status == SecretNext && hasPassword(app, s.KeyID) && held {
			return s
		}
	}
	return nil
}

// addNextSecret adds the new credential and stores it as "next"; the
// active secret is untouched.
func (r *Run) addNextSecret(ctx context.Context, res *RotateResult) (string, error) {
	made, lt, err := addWithinPolicy(ctx, r, SecretDisplayName(r.Env.now()), true)
	if lt.Note != "" {
		res.Notes = append(res.Notes, lt.Note)
	}
	if err != nil {
		return "", fmt.Errorf("add the new client secret: %w", err)
	}
	name := made.DisplayName
	if name == "" {
		name = SecretDisplayName(r.Env.now())
	}
	r.wrote = true
	sec := store.Secret{KeyID: made.KeyID, Hint: made.Hint, DisplayName: name, Start: made.Start, End: made.End,
		KeyringName: KeyringName(r.Conn, made.KeyID), Status: SecretNext}
	if err := r.Env.Secrets.Set(sec.KeyringName, made.Value); err != nil {
		// Nobody holds it: take it back out of Entra (the old secret stays).
		if rerr := r.Env.Graph.RemovePassword(context.WithoutCancel(ctx), r.Conn.App.ObjectID, made.KeyID); rerr != nil {
			return "", fmt.Errorf("store the new client secret in the keyring: %w (removing it from Entra failed too: %v; the next `entrawiz rotate --clean-up` removes key %s)", err, rerr, made.KeyID)
		}
		return "", fmt.Errorf("store the new client secret in the keyring (it was removed from Entra again; the old secret still works): %w", err)
	}
	r.Conn.Secrets = append(r.Conn.Secrets, sec)
	r.secret = made.Value
	return fmt.Sprintf("secret %s… added, ends %s, kept in %s next to the old one", sec.Hint, sec.End.Format("2006-01-02"), store.SecretsPlace(r.Env.Secrets)), nil
}

// loadNextSecret reads the secret being rotated in from the keyring when
// this run did not make it.
func (r *Run) loadNextSecret() error {
	if r.secret != "" {
		return nil
	}
	for i := len(r.Conn.Secrets) - 1; i >= 0; i-- {
		if s := r.Conn.Secrets[i]; s.Status == SecretNext {
			v, err := r.Env.Secrets.Get(s.KeyringName)
			if err != nil {
				return fmt.Errorf("read the new client secret from the keyring: %w", err)
			}
			r.secret = v
			return nil
		}
	}
	return errors.New("no new client secret is waiting to be activated")
}

// activateNext makes the "next" secret active and the old ones retiring.
func (r *Run) activateNext(removeAfter *time.Duration) string {
	now := r.Env.now()
	var when time.Time
	if removeAfter != nil {
		when = now.Add(*removeAfter)
	}
	var next *store.Secret
	for i := range r.Conn.Secrets {
		s := &r.Conn.Secrets[i]
		switch s.Status {
		case SecretActive:
			s.Status, s.RemoveAfter = SecretRetiring, when
		case SecretNext:
			next = s
		}
	}
	if next == nil {
		return "nothing to activate"
	}
	next.Status = SecretActive
	r.Conn.Enabled = true
	if removeAfter == nil {
		return fmt.Sprintf("secret %s… is active; the old one stays until `entrawiz rotate --finish`", next.Hint)
	}
	return fmt.Sprintf("secret %s… is active; the old one is removed after %s", next.Hint, when.Format(time.RFC3339))
}

// removeDue removes the retiring secrets that are due (all of them with
// finish). The active secret is never removed.
func (r *Run) removeDue(ctx context.Context, finish bool, res *RotateResult) (string, error) {
	now := r.Env.now()
	active := ActiveSecret(r.Conn)
	var due, kept []string
	for _, s := range r.Conn.Secrets {
		if s.Status != SecretRetiring && s.Status != SecretReplaced {
			continue
		}
		if finish || (!s.RemoveAfter.IsZero() && !s.RemoveAfter.After(now)) {
			due = append(due, s.KeyID)
		} else {
			kept = append(kept, s.Hint)
		}
	}
	if len(due) > 0 && active == nil {
		return "", errors.New("no active secret: the old secrets are kept")
	}
	for _, id := range due {
		if err := r.removeSecret(ctx, id, res); err != nil {
			return "", err
		}
	}
	switch {
	case len(due) > 0 && len(kept) > 0:
		return fmt.Sprintf("%d old secret(s) removed; %d kept until due or `entrawiz rotate --finish`", len(due), len(kept)), nil
	case len(due) > 0:
		return fmt.Sprintf("%d old secret(s) removed from the app and the keyring", len(due)), nil
	case len(kept) > 0:
		return fmt.Sprintf("%d old secret(s) kept until due or `entrawiz rotate --finish`", len(kept)), nil
	}
	return "no old secret to remove", nil
}

// credentials describes every password credential on the app (less those
// this run removed), entrawiz-made or not.
func (r *Run) credentials(app *graphapi.Application, removed []string) []Credential {
	now := r.Env.now()
	out := []Credential{}
	for _, pw := range app.Passwords {
		if slices.ContainsFunc(removed, func(id string) bool { return strings.EqualFold(id, pw.KeyID) }) {
			continue
		}
		out = append(out, r.credential(now, pw.KeyID, pw.DisplayName, pw.Hint, pw.Start, pw.End))
	}
	// Secrets this run added are not in the app as read at its start.
	for _, s := range r.Conn.Secrets {
		if !hasPassword(app, s.KeyID) {
			out = append(out, r.credential(now, s.KeyID, s.DisplayName, s.Hint, s.Start, s.End))
		}
	}
	return out
}

func (r *Run) credential(now time.Time, keyID, name, hint string, start, end time.Time) Credential {
	c := Credential{KeyID: keyID, DisplayName: name, Hint: hint, Start: start, End: end, DaysLeft: DaysLeft(now, end),
		State: ExpiryState(now, end), MadeBy: "outside"}
	if MadeByEntrawiz(name) {
		c.MadeBy = "entrawiz"
	}
	if s := r.storedSecret(keyID); s != nil {
		c.MadeBy, c.Status, c.RemoveAfter = "entrawiz", s.Status, s.RemoveAfter
	}
	return c
}

// Credentials returns the app's password credentials as the last rotation
// (or setup) read them, or nil.
func Credentials(conn *store.Connection) []Credential {
	return conn.State.Credentials
}
