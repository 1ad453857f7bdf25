package app

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// world is one admin's machine against one simulated tenant: a config
// directory and a keyring that several App values share, as several
// entrawiz processes on that machine would.
type world struct {
	t    *testing.T
	srv  *sim.Server
	info sim.Info
	// cloud and hc are the test's own look at the tenant; the App values
	// make theirs from the options, as entrawiz does.
	cloud graphapi.Cloud
	hc    *http.Client
	dir   string
	keys  *store.MemKeyring
}

func newWorld(t *testing.T, users, groups int, faults sim.Faults) *world {
	t.Helper()
	tn := simtest.Start(t, sim.Options{Users: users, Groups: groups, Approve: "manual", Faults: faults})
	return &world{t: t, srv: tn.Srv, info: tn.Info, cloud: tn.Cloud, hc: tn.HTTP, dir: t.TempDir(), keys: store.NewMemKeyring()}
}

// app is one entrawiz process: its own App over the shared machine.
func (w *world) app(secrets store.Secrets) *App {
	w.t.Helper()
	if secrets == nil {
		secrets = w.keys
	}
	a, err := New(Options{ConfigDir: w.dir, Secrets: secrets, Cloud: "public", LoginURL: w.info.LoginURL, GraphURL: w.info.GraphURL,
		CAFile: w.info.CAFile, Backoff: graphapi.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Budget: 30 * time.Second, Multiplier: 2},
		Command: "entrawiz test", OnDeviceCode: func(code string) {
			if err := w.srv.ApproveDeviceCode(code, w.info.AdminUPN); err != nil {
				w.t.Errorf("approve %s: %v", code, err)
			}
		}})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

// setup runs a whole setup of a built-in profile through the App.
func (w *world) setup(a *App, profile string) (*Setup, error) {
	w.t.Helper()
	p, err := steps.LoadProfile(profile)
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := a.NewSetup(p, w.info.TenantDomain)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := s.SignIn(ctx, nil); err != nil {
		return s, err
	}
	if _, err := s.Preflight(ctx, nil); err != nil {
		return s, err
	}
	return s, s.Execute(ctx, nil)
}

// mustSetup is setup that must succeed; it returns the connection's name.
func (w *world) mustSetup(a *App, profile string) string {
	w.t.Helper()
	s, err := w.setup(a, profile)
	if err != nil {
		w.t.Fatalf("setup %s: %v", profile, err)
	}
	return s.Connection().Name
}

// works says whether a client secret gets an app-only token with the roles
// of profile from the tenant, as the product would use it.
func (w *world) works(appID, secret string) error {
	app, err := graphapi.NewApp(graphapi.AppOptions{Cloud: w.cloud, HTTPClient: w.hc, Tenant: w.info.TenantID, ClientID: appID, Secret: secret})
	if err != nil {
		return err
	}
	_, err = app.Token(context.Background())
	return err
}

// tagged lists the tenant's app registrations tagged for a profile, read by
// the admin through a fresh sign-in.
func (w *world) tagged(a *App, profile string) []graphapi.Application {
	w.t.Helper()
	sess, err := a.signIn(context.Background(), w.info.TenantDomain, []string{"Application.ReadWrite.All", "User.Read"}, nil)
	if err != nil {
		w.t.Fatalf("sign in to look: %v", err)
	}
	apps, err := sess.graph.FindApplicationsByTag(context.Background(), graphapi.AppTag(profile))
	if err != nil {
		w.t.Fatalf("list apps: %v", err)
	}
	return apps
}

// gate blocks a run's report at its first event until opened, so a test
// can make one run overlap another at a chosen point.
type gate struct {
	once    sync.Once
	reached chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{reached: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) report(steps.Event) {
	g.once.Do(func() {
		close(g.reached)
		<-g.open
	})
}
