package app

import (
	"context"
	"errors"
	"os"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// open reads a connection and its profile, with the save that merges this
// run's changes into it.
func (a *App) open(name string) (*store.Connection, *steps.Profile, func(*store.Connection) error, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := profileOf(conn)
	if err != nil {
		return conn, nil, nil, err
	}
	return conn, p, a.saver(conn), nil
}

// Test runs the connection test of a saved connection as the product uses
// it (app-only, with the stored secret) and records the result, passed or
// not. Nothing is written to the tenant.
func (a *App) Test(ctx context.Context, name string, report func(steps.Event)) (*store.Connection, *steps.TestResult, error) {
	conn, p, save, err := a.open(name)
	if err != nil {
		return conn, nil, err
	}
	run := &steps.Run{Env: a.env(nil, conn.Tenant.ID, report, save), Profile: p, Conn: conn}
	var res *steps.TestResult
	var testErr error
	if s := steps.ActiveSecret(conn); s != nil && steps.ExpiryState(a.now(), s.End) == "expired" {
		// Known expired: no sign-in attempt needed to say so.
		testErr = steps.SecretExpiredError(s)
	} else {
		res, testErr = steps.Verify(ctx, run, p.ApplicationPermissions)
	}
	if res == nil {
		res = &steps.TestResult{At: a.now(), AppID: conn.App.AppID}
	}
	if testErr != nil {
		conn.State.Test = res
	}
	if err := save(conn); err != nil && testErr == nil {
		testErr = err
	}
	return conn, res, testErr
}

// RotateRequest is what a rotation does besides adding a secret.
type RotateRequest struct {
	steps.RotateOptions
	// Deliver, when set, hands the new secret to the product before it is
	// made the active one.
	Deliver func(ctx context.Context, secret string) error
	// NoPrompt signs in from the saved sign-in only (a scheduled run).
	NoPrompt bool
}

// ErrManualApp means the connection's app was registered by hand, so
// entrawiz cannot change its secrets.
var ErrManualApp = errors.New("this connection's app was registered by hand (no object ID is known): rotate its secret in the portal and record it with `entrawiz setup --manual`")

// Rotate replaces a connection's client secret by overlap. The admin signs
// in (a device code goes to show); the secret store is checked before
// anything is written; only one rotation, setup or reset of the connection
// runs at a time.
func (a *App) Rotate(ctx context.Context, name string, req RotateRequest, show func(DeviceCode), report func(steps.Event)) (*steps.RotateResult, error) {
	conn, p, save, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if conn.App.ObjectID == "" {
		return nil, ErrManualApp
	}
	if err := a.checkLocal(true); err != nil {
		return nil, err
	}
	lock, err := a.lockConnection(conn.Name)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// Read again under the lock: a rotation that ended while this one
	// waited to start has changed the secrets.
	if conn, p, save, err = a.open(conn.Name); err != nil {
		return nil, err
	}
	var sess *session
	if req.NoPrompt {
		sess, err = a.signInNoPrompt(ctx, conn.Tenant, conn.Name, steps.AdminScopes(p))
	} else {
		sess, err = a.signIn(ctx, conn.Tenant.ID, steps.AdminScopes(p), show)
	}
	if err != nil {
		return nil, err
	}
	run := &steps.Run{Env: a.env(sess.graph, conn.Tenant.ID, report, save), Profile: p, Conn: conn, Deliver: req.Deliver}
	mark := a.writes.mark()
	var res *steps.RotateResult
	if steps.UsesCertificate(conn) {
		res, err = steps.RotateCertificateOp(ctx, run, req.RotateOptions)
	} else {
		res, err = steps.RotateSecret(ctx, run, req.RotateOptions)
	}
	if calls := a.writes.since(mark); len(calls) > 0 {
		var done []string
		if res.Rotated && res.Secret != nil {
			done = append(done, "added client secret "+res.Secret.KeyID+" ("+res.Secret.DisplayName+"), ends "+res.Secret.End.UTC().Format("2006-01-02"))
		}
		for _, s := range res.Retiring {
			done = append(done, "kept the replaced secret "+s.KeyID+" until "+orUnknown(s.RemoveAfter.UTC().Format("2006-01-02"))+" or `entrawiz rotate --finish`")
		}
		for _, id := range res.Removed {
			done = append(done, "removed client secret "+id)
		}
		if err != nil {
			done = append(done, "the rotation stopped: "+err.Error())
		}
		if path, rerr := a.writeRecord(ChangeRecord{Kind: "rotation", By: sess.identity.UPN, At: a.now(), Done: done, Conn: run.Conn, Calls: calls}); rerr == nil {
			res.Recorded = path
		}
	}
	if err == nil && res.Rotated {
		a.writeReminder(run.Conn)
	}
	return res, err
}

// Handoff returns the values the product asks for; the secret's value only
// with reveal.
func (a *App) Handoff(name string, reveal bool) ([]steps.HandoffValue, error) {
	conn, p, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	return steps.Handoff(a.o.Secrets, conn, p, a.cloud.LoginURL, reveal)
}

// Reset forgets a connection: its secrets leave the secret store and it
// leaves the config. With deleteApp the admin signs in (a device code goes
// to show) and the app registration is deleted in Entra first.
func (a *App) Reset(ctx context.Context, name string, deleteApp bool, show func(DeviceCode)) error {
	return a.ResetWith(ctx, name, ResetRequest{DeleteApp: deleteApp}, show)
}

// ResetRequest is what a reset deletes in Entra besides forgetting.
type ResetRequest struct {
	DeleteApp, DeleteGroup bool
}

// ResetWith is Reset that can also delete the group the setup created;
// both deletions are recorded in a change record.
func (a *App) ResetWith(ctx context.Context, name string, req ResetRequest, show func(DeviceCode)) error {
	deleteApp := req.DeleteApp
	conn, err := a.Connection(name)
	if err != nil {
		return err
	}
	lock, err := a.lockConnection(conn.Name)
	if err != nil {
		return err
	}
	defer lock.Release()
	// Read again under the lock: a rotation that ended meanwhile stored
	// a secret this reset must forget too.
	if conn, err = a.Connection(conn.Name); err != nil {
		return err
	}
	var g steps.Graph
	var by string
	if deleteApp || req.DeleteGroup {
		// The app is deleted only if the config can then forget it.
		if err := a.checkLocal(false); err != nil {
			return err
		}
		scopes := []string{"Application.ReadWrite.All", "User.Read"}
		if req.DeleteGroup {
			scopes = append(scopes, "Group.ReadWrite.All")
		}
		sess, err := a.signIn(ctx, conn.Tenant.ID, scopes, show)
		if err != nil {
			return err
		}
		g, by = sess.graph, sess.identity.UPN
	}
	mark := a.writes.mark()
	var done []string
	if req.DeleteGroup {
		name, err := steps.DeleteCreatedGroup(ctx, g, conn)
		if err != nil {
			return err
		}
		if name != "" {
			done = append(done, "deleted the group "+name+" the setup created")
		}
	}
	if err := steps.Forget(ctx, g, a.o.Secrets, conn, deleteApp); err != nil {
		return err
	}
	if deleteApp {
		done = append(done, "deleted the app registration "+conn.App.DisplayName+" with its enterprise app, consents and secrets")
	}
	done = append(done, "removed the connection's secrets from "+store.SecretsPlace(a.o.Secrets)+" and the connection from the config")
	a.writeRecord(ChangeRecord{Kind: "reset", By: by, At: a.now(), Done: done, Conn: conn, Calls: a.writes.since(mark)})
	os.Remove(ReminderPath(a.o.ConfigDir, conn.Name))
	return a.updateConfig(func(cfg *store.Config) error {
		cfg.Remove(conn.Name)
		return nil
	})
}

// CertificateFiles returns the connection's certificate and private key as
// PEM and, when pfx is set, as PKCS#12 protected by password, for a product
// that takes a file.
func (a *App) CertificateFiles(name, password string, pfx bool) ([]byte, []byte, error) {
	conn, _, _, err := a.open(name)
	if err != nil {
		return nil, nil, err
	}
	if !steps.UsesCertificate(conn) {
		return nil, nil, &InputError{Err: errors.New("this connection signs in with a client secret, not a certificate: --cert-out and --pfx-out do not apply")}
	}
	cert, err := steps.CertificateHandoff(a.o.Secrets, conn)
	if err != nil {
		return nil, nil, err
	}
	pemText, err := cert.PEM()
	if err != nil || !pfx {
		return pemText, nil, err
	}
	if password == "" {
		return nil, nil, &InputError{Err: errors.New("--pfx-out needs a password for the file: set ENTRAWIZ_PFX_PASSWORD")}
	}
	b, err := cert.PKCS12(password)
	return pemText, b, err
}
