// Package simtest is the one simulated-tenant harness for tests: it starts
// graphapi/sim over real TLS, trusts its CA, and signs the tenant's
// administrator in with a device code through the real MSAL client, as
// entrawiz does.
//
// It is for tests only: production code never imports it.
package simtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// signInWait bounds an administrator's sign-in, so a sim that never answers
// fails the test instead of hanging it.
const signInWait = 2 * time.Minute

// Tenant is a running simulated tenant for one test, with the cloud that
// points at it and an HTTP client that trusts its CA.
type Tenant struct {
	Srv   *sim.Server
	Info  sim.Info
	Cloud graphapi.Cloud
	// HTTP is shared by the test's clients so that its idle connections
	// are closed when the test ends.
	HTTP *http.Client
}

// Start starts a simulated tenant that is closed when the test ends. A zero
// Seed becomes 1 and an empty CADir the test's temporary directory; the
// other options are used as given (sim's default approval is "manual").
func Start(tb testing.TB, o sim.Options) *Tenant {
	tb.Helper()
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.CADir == "" {
		o.CADir = tb.TempDir()
	}
	srv, err := sim.Start(o)
	if err != nil {
		tb.Fatalf("start the simulated tenant: %v", err)
	}
	// Close in the background: connections a test leaves open (a CLI run
	// in-process just returns, as the process would exit) must not make
	// the shutdown hold a parallel test slot. The CA lives in the test's
	// temporary directory, so nothing is left behind.
	tb.Cleanup(func() { go srv.Close() })
	info := srv.Info()
	cloud, err := graphapi.NewCloud("", info.LoginURL, info.GraphURL, info.CAFile)
	if err != nil {
		tb.Fatalf("cloud for the simulated tenant: %v", err)
	}
	hc, err := cloud.HTTPClient()
	if err != nil {
		tb.Fatalf("http client for the simulated tenant: %v", err)
	}
	tb.Cleanup(hc.CloseIdleConnections) // runs before srv.Close
	return &Tenant{Srv: srv, Info: info, Cloud: cloud, HTTP: hc}
}

// Admin signs the tenant's administrator in with a device code for scopes
// and returns the signed-in admin and a Graph client acting as them. The
// code is approved through the sim's control API, as the admin would on the
// verification page, so this works whether the sim approves by itself
// ("auto") or not ("manual").
func (t *Tenant) Admin(tb testing.TB, scopes []string) (*graphapi.Admin, *graphapi.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), signInWait)
	defer cancel()
	admin, err := graphapi.NewAdmin(graphapi.AdminOptions{Cloud: t.Cloud, HTTPClient: t.HTTP, Tenant: t.Info.TenantID, Scopes: scopes})
	if err != nil {
		tb.Fatalf("admin: %v", err)
	}
	dc, err := admin.StartDeviceCode(ctx)
	if err != nil {
		tb.Fatalf("device code: %v", err)
	}
	if err := t.Srv.ApproveDeviceCode(dc.UserCode, t.Info.AdminUPN); err != nil {
		tb.Fatalf("approve the device code: %v", err)
	}
	if _, err := dc.Wait(ctx); err != nil {
		tb.Fatalf("sign in: %v", err)
	}
	g, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: t.Cloud, HTTPClient: t.HTTP, Tokens: admin})
	if err != nil {
		tb.Fatalf("graph client: %v", err)
	}
	return admin, g
}
