package steps

// Clean-up: what a stopped rotation left behind, found and (on request)
// removed; a secret the keyring holds is never among it.

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
