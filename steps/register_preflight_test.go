package steps_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// regTenant is a simulated tenant with the admin signed in (device code,
// approved through the sim's control API) and a Graph client acting as the admin, as setup
// has them.
type regTenant struct {
	*simtest.Tenant
	graph   *graphapi.Client
	profile *steps.Profile
	access  graphapi.ResourceAccess
	cat     *graphapi.PermissionCatalog
}

func newRegTenant(t *testing.T) *regTenant {
	t.Helper()
	tn := simtest.Start(t, sim.Options{Users: 5, Groups: 2})
	prof, err := steps.LoadProfile("directory-sync")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, g := tn.Admin(t, steps.AdminScopes(prof))
	cat, err := g.GraphPermissions(ctx)
	if err != nil {
		t.Fatalf("graph permissions: %v", err)
	}
	access, err := cat.Resolve(prof.ApplicationPermissions, prof.DelegatedPermissions)
	if err != nil {
		t.Fatal(err)
	}
	return &regTenant{Tenant: tn, graph: g, profile: prof, access: access, cat: cat}
}

// createApp registers an app as setup does, with the profile's tag.
func (h *regTenant) createApp(t *testing.T) *graphapi.Application {
	t.Helper()
	app, err := h.graph.CreateApplication(context.Background(), steps.DesiredApp(h.profile, h.access))
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	return app
}

// conn is the saved connection of a setup that made app (nil: none yet).
func (h *regTenant) conn(app *graphapi.Application) *store.Connection {
	c := &store.Connection{Name: h.Info.TenantDomain + "/" + h.profile.Name, Profile: h.profile.Name}
	if app != nil {
		c.App = store.App{ObjectID: app.ObjectID, AppID: app.AppID, DisplayName: app.DisplayName}
	}
	return c
}

// env is a setup's environment with a short replication backoff; events
// are collected.
func (h *regTenant) env(budget time.Duration) (*steps.Env, func() []steps.Event) {
	var mu sync.Mutex
	var events []steps.Event
	env := &steps.Env{Graph: h.graph, Secrets: store.NewMemKeyring(),
		Backoff: graphapi.Backoff{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Budget: budget, Multiplier: 2},
		Report: func(ev steps.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}}
	return env, func() []steps.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]steps.Event(nil), events...)
	}
}

// appCreates counts POST /applications in the sim's request log.
func appCreates(srv *sim.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/applications") {
			n++
		}
	}
	return n
}

// TestPreflightWaitsForSavedApp: a setup interrupted just after it made
// the app and saved its ID, re-run at once while Entra still answers 404
// for it, waits for the app instead of planning another.
func TestPreflightWaitsForSavedApp(t *testing.T) {
	h := newRegTenant(t)
	const delay = 2 * time.Second
	h.Srv.SetFaults(sim.Faults{ReplicationDelay: delay})
	app := h.createApp(t)
	conn := h.conn(app)
	h.Srv.ResetRequests()
	ctx := context.Background()
	env, events := h.env(20 * time.Second)

	plan, err := steps.Preflight(ctx, env, h.profile, conn, h.Info.AdminUPN)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if plan.Blocker != nil {
		t.Fatalf("blocked: %v (%s)", plan.Blocker, plan.Blocker.Remedy)
	}
	if plan.Existing == nil || plan.Existing.ObjectID != app.ObjectID {
		t.Fatalf("existing app %+v, want the saved one %s; warnings %q; items %+v", plan.Existing, app.ObjectID, plan.Warnings, plan.Items)
	}
	for _, it := range plan.Items {
		if it.Action == "create" && strings.HasPrefix(it.Object, "App registration") {
			t.Errorf("the plan makes another app: %+v", it)
		}
	}
	waits := 0
	for _, ev := range events() {
		if ev.Kind == steps.StepWaiting && ev.Step == "preflight" {
			waits++
			if ev.Attempt < 1 || ev.Delay <= 0 || !strings.Contains(ev.Message, app.AppID) {
				t.Errorf("waiting event %+v", ev)
			}
		}
	}
	if waits == 0 {
		t.Errorf("the wait for replication was not reported")
	}

	run := &steps.Run{Env: env, Profile: h.profile, Conn: conn, Plan: plan}
	if err := run.Execute(ctx, []steps.Step{steps.RegisterApp()}); err != nil {
		t.Fatalf("register: %v", err)
	}
	if n := appCreates(h.Srv); n != 0 {
		t.Errorf("%d app(s) created after the interrupted setup, want 0", n)
	}
	tagged, err := h.graph.FindApplicationsByTag(ctx, graphapi.AppTag(h.profile.Name))
	if err != nil {
		t.Fatal(err)
	}
	if len(tagged) != 1 || tagged[0].ObjectID != app.ObjectID || conn.App.ObjectID != app.ObjectID || conn.App.ServicePrincipalID == "" {
		t.Errorf("tagged apps %d (want 1, %s); connection %+v", len(tagged), app.ObjectID, conn.App)
	}
}

// TestPreflightSavedAppDeleted: the app the connection names was really
// deleted. After the wait, the plan is blocked with a remedy; setup makes
// no app.
func TestPreflightSavedAppDeleted(t *testing.T) {
	h := newRegTenant(t)
	ctx := context.Background()
	app := h.createApp(t)
	if err := h.graph.DeleteApplication(ctx, app.ObjectID); err != nil {
		t.Fatalf("delete app: %v", err)
	}
	conn := h.conn(app)
	h.Srv.ResetRequests()
	env, events := h.env(1500 * time.Millisecond)

	start := time.Now()
	plan, err := steps.Preflight(ctx, env, h.profile, conn, h.Info.AdminUPN)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("gave up after %s, before the replication budget", took)
	}
	bl := plan.Blocker
	if bl == nil || bl.Kind != graphapi.KindNotFound || !strings.Contains(bl.Message, app.AppID) ||
		!strings.Contains(bl.Remedy, "entrawiz reset --connection "+conn.Name) {
		t.Fatalf("blocker %+v, want not found naming %s with a reset remedy", bl, app.AppID)
	}
	if plan.Existing != nil {
		t.Errorf("existing app %+v", plan.Existing)
	}
	for _, it := range plan.Items {
		if it.Action == "create" {
			t.Errorf("a blocked plan creates %+v", it)
		}
	}
	if len(events()) == 0 {
		t.Errorf("the wait was not reported")
	}

	// Even a run given this plan makes no app while the config names one.
	run := &steps.Run{Env: env, Profile: h.profile, Conn: conn, Plan: plan}
	if err := run.Execute(ctx, []steps.Step{steps.RegisterApp()}); !graphapi.IsKind(err, graphapi.KindNotFound) {
		t.Errorf("register with the saved app gone: %v, want not found", err)
	}
	if n := appCreates(h.Srv); n != 0 {
		t.Errorf("%d app(s) created while the config names a deleted one", n)
	}
	if conn.App.ObjectID != app.ObjectID {
		t.Errorf("the connection no longer names the app: %+v", conn.App)
	}
}

// TestPreflightDuplicateApps: with two apps carrying the profile's tag, the
// plan uses the one the config names (else the first) and reports the
// other, typed and in a warning that says what to do.
func TestPreflightDuplicateApps(t *testing.T) {
	h := newRegTenant(t)
	first, second := h.createApp(t), h.createApp(t)
	tests := []struct {
		name      string
		conn      *store.Connection
		used, dup *graphapi.Application
	}{
		{"fresh setup", h.conn(nil), first, second},
		{"config names the second", h.conn(second), second, first},
		{"config names the first", h.conn(first), first, second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := h.env(2 * time.Second)
			plan, err := steps.Preflight(context.Background(), env, h.profile, tt.conn, h.Info.AdminUPN)
			if err != nil {
				t.Fatalf("preflight: %v", err)
			}
			if plan.Blocker != nil {
				t.Fatalf("blocked: %v", plan.Blocker)
			}
			if plan.Existing == nil || plan.Existing.ObjectID != tt.used.ObjectID {
				t.Fatalf("existing %+v, want %s", plan.Existing, tt.used.ObjectID)
			}
			if len(plan.Duplicates) != 1 || plan.Duplicates[0].AppID != tt.dup.AppID {
				t.Fatalf("duplicates %+v, want %s", plan.Duplicates, tt.dup.AppID)
			}
			var warned bool
			for _, w := range plan.Warnings {
				if strings.Contains(w, tt.dup.AppID) && strings.Contains(w, tt.used.AppID) && strings.Contains(w, "az ad app delete") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning names the used app %s, the duplicate %s and how to delete it: %q", tt.used.AppID, tt.dup.AppID, plan.Warnings)
			}
		})
	}
}
