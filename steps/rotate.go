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
	// KeepPending makes no new secret while a rotation is unfinished (its
	// replaced secret still on the app): a re-run to see the new secret
	// again must not make a third.
	KeepPending bool
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
	Connection string `json:"connection"`
	Rotated    bool   `json:"rotated"`
	Resumed    bool   `json:"resumed,omitempty"` // a stopped rotation's secret was finished
	Skipped    string `json:"skipped,omitempty"` // why no secret was made
	// Pending: no secret was made because a rotation is unfinished; Secret
	// is the one it made.
	Pending bool `json:"pending,omitempty"`
	// Recorded is the change record written of this rotation, if any.
	Recorded    string         `json:"record,omitempty"`
	Secret      *store.Secret  `json:"secret,omitempty"` // the active secret afterwards
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
	case next == nil && opts.KeepPending && active != nil && retiring(r.Conn) != nil:
		res.Pending = true
		res.Skipped = fmt.Sprintf("the rotation that made secret %s… is not finished (the old secret %s… is still on the app): no other secret is made; `entrawiz rotate --finish` ends it",
			active.Hint, retiring(r.Conn).Hint)
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
	replaces := ""
	if s := ActiveSecret(r.Conn); s != nil {
		replaces = s.KeyID
	}
	made, lt, err := addWithinPolicy(ctx, r, secretName(r, replaces), true)
	if lt.Note != "" {
		res.Notes = append(res.Notes, lt.Note)
	}
	if err != nil {
		return "", fmt.Errorf("add the new client secret: %w", err)
	}
	name := made.DisplayName
	if name == "" {
		name = secretName(r, replaces)
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

// retiring is a secret a rotation replaced that is still kept, or nil.
func retiring(c *store.Connection) *store.Secret {
	for i := range c.Secrets {
		if s := &c.Secrets[i]; s.Status == SecretRetiring || s.Status == SecretReplaced {
			return s
		}
	}
	return nil
}
