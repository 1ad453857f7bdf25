package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/store"
)

// secretNamePrefix starts the display name of every client secret
// entrawiz makes; secrets named otherwise were made outside entrawiz.
const secretNamePrefix = "entrawiz "

// SecretDisplayName is the display name of a client secret made by
// entrawiz on a day: "entrawiz 2026-11-23".
func SecretDisplayName(now time.Time) string {
	return secretNamePrefix + now.UTC().Format("2006-01-02")
}

// secretName is the display name of a client secret entrawiz makes for
// the run's connection, named after the product so the portal's list says
// whose it is: "entrawiz 2026-11-23 Print Server Sync connector", and for
// a rotation "… (replaces 1a2b3c4d)" with the replaced secret's key ID.
func secretName(r *Run, replaces string) string {
	name := SecretDisplayName(r.Env.now())
	product := r.Conn.App.DisplayName
	if product == "" && r.Profile != nil {
		product = r.Profile.AppName
	}
	if product = strings.TrimSpace(Printable(product)); product != "" {
		name += " " + product + " connector"
	}
	if replaces != "" {
		name += " (replaces " + replaces[:min(8, len(replaces))] + ")"
	}
	return name
}

// MadeByEntrawiz reports whether a client secret's display name says
// entrawiz made it.
func MadeByEntrawiz(displayName string) bool {
	return strings.HasPrefix(displayName, secretNamePrefix)
}

// KeyringName is the keyring item that holds a connection's client secret.
func KeyringName(conn *store.Connection, keyID string) string {
	return "client-secret/" + conn.Name + "/" + keyID
}

// CreateSecret adds a client secret with the profile's lifetime and puts its
// value straight into the OS keyring; the config keeps only its key ID, hint
// and end date.
func CreateSecret() Step {
	return Step{Name: "create-secret", Title: "Create the client secret", Check: checkSecret, Apply: applySecret}
}

func checkSecret(ctx context.Context, r *Run) (bool, string, error) {
	if r.Profile.Secret == nil {
		return true, "the profile needs no client secret", nil
	}
	if r.Plan.Credential.Kind == CredentialCertificate {
		return true, "the app signs in with a certificate, not a client secret", nil
	}
	s := ActiveSecret(r.Conn)
	if s == nil || r.freshApp || r.Plan.Existing == nil || !hasPassword(r.Plan.Existing, s.KeyID) {
		return false, "", nil
	}
	if _, err := r.Env.Secrets.Get(s.KeyringName); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			r.Progress("the stored secret is gone from the keyring: a new one is made")
			return false, "", nil
		}
		return false, "", err
	}
	// The app's endDateTime, as read now, is the secret's end: it may
	// have been expired early in the portal, whatever the config says.
	end := s.End
	for _, pw := range r.Plan.Existing.Passwords {
		if strings.EqualFold(pw.KeyID, s.KeyID) && !pw.End.IsZero() {
			end = pw.End
		}
	}
	if !end.After(r.Env.now()) {
		r.Progress(fmt.Sprintf("the stored secret %s… ended on %s in Entra: a new one is made", s.Hint, end.Format("2006-01-02")))
		return false, "", nil
	}
	return true, fmt.Sprintf("secret %s… kept in the keyring, expires %s", s.Hint, end.Format("2006-01-02")), nil
}

func applySecret(ctx context.Context, r *Run) (string, error) {
	replaces := ""
	if s := ActiveSecret(r.Conn); s != nil {
		replaces = s.KeyID
	}
	name := secretName(r, replaces)
	// Setup reads the lifetime policy only when Entra refuses the
	// profile's lifetime: most tenants have none, and a read costs a
	// request (and Policy.Read.All) on every setup.
	made, _, err := addWithinPolicy(ctx, r, name, false)
	if err != nil {
		return "", fmt.Errorf("create the client secret: %w", err)
	}
	sec := store.Secret{KeyID: made.KeyID, Hint: made.Hint, DisplayName: name, Start: made.Start, End: made.End,
		KeyringName: KeyringName(r.Conn, made.KeyID), Status: "active"}
	if err := r.Env.Secrets.Set(sec.KeyringName, made.Value); err != nil {
		// A secret nobody holds is an orphan: take it back out of Entra.
		if rerr := r.Env.Graph.RemovePassword(context.WithoutCancel(ctx), r.Conn.App.ObjectID, made.KeyID); rerr != nil {
			return "", fmt.Errorf("store the client secret in the keyring: %w (and removing it from Entra failed too: %v; remove key %s by hand)", err, rerr, made.KeyID)
		}
		return "", fmt.Errorf("store the client secret in the keyring (it was removed from Entra again): %w", err)
	}
	for i := range r.Conn.Secrets {
		if r.Conn.Secrets[i].Status == "active" {
			r.Conn.Secrets[i].Status = "replaced"
		}
	}
	r.Conn.Secrets = append(r.Conn.Secrets, sec)
	r.secret = made.Value
	return fmt.Sprintf("secret %s… created, expires %s, kept in %s", sec.Hint, sec.End.Format("2006-01-02"), store.SecretsPlace(r.Env.Secrets)), nil
}

// StoredSecret reads the connection's active client secret from the keyring.
func StoredSecret(secrets store.Secrets, conn *store.Connection) (string, *store.Secret, error) {
	s := ActiveSecret(conn)
	if s == nil {
		return "", nil, errors.New("this connection has no client secret stored by entrawiz")
	}
	v, err := secrets.Get(s.KeyringName)
	if err != nil {
		return "", s, fmt.Errorf("read the client secret from the keyring: %w", err)
	}
	return v, s, nil
}
