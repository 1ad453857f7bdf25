package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// TestResult is a connection test (recorded in the connection's state).
type TestResult = store.TestResult

// ReadReport is one permission's Graph read.
type ReadReport = store.ReadReport

// readFor is the Graph read that proves each application permission works.
// Permissions not listed are checked by the token's roles alone.
var readFor = map[string]string{
	"User.Read.All":           "/users?$top=1&$select=id",
	"User.ReadWrite.All":      "/users?$top=1&$select=id",
	"User.ReadBasic.All":      "/users?$top=1&$select=id",
	"Group.Read.All":          "/groups?$top=1&$select=id",
	"Group.ReadWrite.All":     "/groups?$top=1&$select=id",
	"GroupMember.Read.All":    "/groups?$top=1&$select=id",
	"Directory.Read.All":      "/organization?$select=id",
	"Directory.ReadWrite.All": "/organization?$select=id",
	"Organization.Read.All":   "/organization?$select=id",
	"Application.Read.All":    "/applications?$top=1&$select=id",
	"Domain.Read.All":         "/domains?$select=id",
}

// TestConnection signs in as the app with the stored secret, compares the
// token's roles with the profile, and reads Graph with each permission —
// what the product will do. Entra's replication delay after a new app,
// secret or consent is waited out.
func TestConnection() Step {
	return Step{Name: "test", Title: "Test the connection", Check: func(ctx context.Context, r *Run) (bool, string, error) {
		if r.consentPending {
			return true, "not tested yet: the app's permissions wait for admin consent (`entrawiz test` after it is granted)", nil
		}
		return false, "", nil
	}, Apply: func(ctx context.Context, r *Run) (string, error) {
		res, err := Verify(ctx, r, r.Profile.ApplicationPermissions)
		if err != nil {
			return "", err
		}
		return res.Summary(), nil
	}}
}

// Verify performs the connection test for a run (setup, rotation, or
// `entrawiz test`) and records it in the connection.
func Verify(ctx context.Context, r *Run, want []string) (*TestResult, error) {
	// Entra's replication delay is waited out only when this run just
	// made or changed something (a new secret, app or consent); testing a
	// connection that was set up before, what is missing is missing.
	fresh := r.secret != "" || r.cert != nil || r.wrote
	b := r.Env.Backoff
	b.RetryInvalidSecret = fresh // a new secret is refused for a few seconds
	return verify(ctx, r, want, verifyWait{fresh: fresh, backoff: b})
}

// verifyWait is how a connection test meets Entra's replication delay.
type verifyWait struct {
	fresh   bool // wait at all
	backoff graphapi.Backoff
	// final, when set, sees each sign-in failure first and may turn one
	// that waiting will not fix into a final error.
	final func(err error) error
}

func verify(ctx context.Context, r *Run, want []string, w verifyWait) (*TestResult, error) {
	app, how, err := r.appClient()
	if err != nil {
		return nil, err
	}
	fresh := w.fresh
	wait := func(fn func(ctx context.Context) error) error {
		if fresh {
			return r.Wait(ctx, w.backoff, fn)
		}
		if err := fn(ctx); err != nil {
			return graphapi.Classify(err)
		}
		return nil
	}
	var tok graphapi.AppToken
	r.Progress("signing in as the app with the stored " + how)
	err = wait(func(ctx context.Context) error {
		tok, err = app.VerifyRoles(ctx, want)
		if err != nil && w.final != nil {
			return w.final(err)
		}
		return err
	})
	if e := graphapi.Classify(err); e != nil && e.Code == "RolesMissing" && !fresh {
		err = &graphapi.Error{Kind: graphapi.KindConsentNeeded, Op: e.Op, Code: e.Code, Message: e.Message,
			Remedy: "Grant admin consent for these application permissions again: run `entrawiz setup` (it grants what is missing), or use the app's API permissions page."}
	}
	if err != nil {
		// graphapi names the app-only sign-in itself; saying it again
		// made "app-only sign-in: app-only sign-in: …".
		if e := graphapi.Classify(err); e == nil || e.Op != "app-only sign-in" {
			err = fmt.Errorf("app-only sign-in: %w", err)
		}
		return nil, err
	}
	res := &TestResult{At: r.Env.now(), AppID: r.Conn.App.AppID, Roles: tok.Roles}
	if r.Conn.Tenant.ID == "" {
		r.Conn.Tenant.ID = tok.TenantID
	}
	var reads []graphapi.Read
	for _, p := range want {
		if path, ok := readFor[p]; ok {
			reads = append(reads, graphapi.Read{Permission: p, Path: path})
		} else {
			res.Reads = append(res.Reads, ReadReport{Permission: p, Result: "role-only"})
		}
	}
	if len(reads) > 0 {
		r.Progress(fmt.Sprintf("reading Microsoft Graph with %d permission(s)", len(reads)))
		var results []graphapi.ReadResult
		err = wait(func(ctx context.Context) error {
			results, err = app.CheckReads(ctx, reads)
			if err != nil {
				return err
			}
			for _, rr := range results {
				if rr.Err != nil && rr.Status == 403 {
					// Roles in the token but refused: consent still replicating.
					return &graphapi.Error{Kind: graphapi.KindNotFoundYet, Code: "ReadRefused", Op: "read " + rr.Path,
						Message: rr.Err.Message, Remedy: "Entra may still be replicating the consent."}
				}
			}
			return nil
		})
		if err != nil && !graphapi.IsKind(err, graphapi.KindNotFoundYet) {
			return nil, fmt.Errorf("read Microsoft Graph as the app: %w", err)
		}
		var failed []string
		var unavailable *graphapi.Error
		for _, rr := range results {
			rep := ReadReport{Permission: rr.Permission, Path: rr.Path, Status: rr.Status, Result: "ok"}
			if rr.Err != nil {
				rep.Result, rep.Error = "failed", rr.Err.Error()
				failed = append(failed, rr.Permission)
				if graphapi.IsKind(rr.Err, graphapi.KindThrottled, graphapi.KindServer) {
					unavailable = rr.Err
				}
			}
			res.Reads = append(res.Reads, rep)
		}
		if unavailable != nil {
			// Not a permission problem: Graph was throttling or failing.
			return res, fmt.Errorf("read Microsoft Graph as the app: %w", unavailable)
		}
		if len(failed) > 0 {
			return res, &graphapi.Error{Kind: graphapi.KindForbidden, Code: "ReadFailed", Op: "test the connection",
				Message: "the app could not read Graph with " + strings.Join(failed, ", "),
				Remedy:  "Check the app's API permissions and admin consent in the portal, or run `entrawiz setup` again."}
		}
	}
	sort.Slice(res.Reads, func(i, j int) bool { return res.Reads[i].Permission < res.Reads[j].Permission })
	res.Passed = true
	r.Conn.State.Test = res
	if p := r.Conn.State.ConsentPending; p != nil && len(want) > 0 {
		// The roles are in the token: the consent left pending was granted.
		r.Conn.State.ConsentPending = nil
		r.Conn.State.Consent = &store.ConsentRecord{AppRoles: r.Profile.ApplicationPermissions, Scopes: r.Profile.DelegatedPermissions}
	}
	return res, nil
}

// appClient is the app-only client for the connection's credential: the
// certificate or secret made in this run, else the stored one.
func (r *Run) appClient() (AppClient, string, error) {
	cert := r.cert
	if cert == nil && r.secret == "" && UsesCertificate(r.Conn) {
		var err error
		if cert, err = StoredCertificate(r.Env.Secrets, ActiveCertificate(r.Conn)); err != nil {
			return nil, "", err
		}
	}
	if cert != nil {
		if r.Env.NewCertAppClient == nil {
			return nil, "", fmt.Errorf("this entrawiz cannot sign in with a certificate")
		}
		app, err := r.Env.NewCertAppClient(r.Conn.App.AppID, cert)
		return app, "certificate", err
	}
	secret := r.secret
	if secret == "" {
		var err error
		if secret, _, err = StoredSecret(r.Env.Secrets, r.Conn); err != nil {
			return nil, "", err
		}
	}
	app, err := r.Env.NewAppClient(r.Conn.App.AppID, secret)
	return app, "secret", err
}

// LastTest returns the last recorded connection test, if any.
func LastTest(conn *store.Connection) *TestResult {
	return conn.State.Test
}
