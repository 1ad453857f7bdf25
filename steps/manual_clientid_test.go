package steps_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// manualEnv is the manual path's environment as the commands make it: the
// app-only client for the tenant and the default (3-minute) replication
// backoff, which the manual path must not spend on a wrong client ID.
func (h *regTenant) manualEnv() (*steps.Env, *store.MemKeyring, func() []steps.Event) {
	env, events := h.env(0)
	env.Graph = nil
	env.Backoff = graphapi.DefaultBackoff()
	keys := store.NewMemKeyring()
	env.Secrets = keys
	env.NewAppClient = func(clientID, secret string) (steps.AppClient, error) {
		return graphapi.NewAppSession(graphapi.AppOptions{Cloud: h.Cloud, HTTPClient: h.HTTP, Tenant: h.Info.TenantID, ClientID: clientID, Secret: secret})
	}
	return env, keys, events
}

// TestManualUnknownClientID: a client ID that is no app in the tenant fails
// at once, naming the client ID and the tenant and where to copy the right
// one, instead of waiting out the replication budget.
func TestManualUnknownClientID(t *testing.T) {
	h := newRegTenant(t)
	env, keys, _ := h.manualEnv()
	conn := &store.Connection{Name: h.Info.TenantDomain + "/" + h.profile.Name}
	clientID := uuid.NewString()
	// Today's bound is 30 s; a failure that needs the context's deadline
	// is a failure of this test, not a slow pass.
	ctx, cancel := context.WithTimeout(context.Background(), 35*time.Second)
	defer cancel()

	start := time.Now()
	_, err := steps.ManualConnection(ctx, env, h.profile, conn, clientID, "Abc8Q~thisIsNotARealSecretValue123")
	took := time.Since(start)
	if err == nil {
		t.Fatal("an unknown client ID was accepted")
	}
	if took > 5*time.Second {
		t.Errorf("took %s to fail, want well under 30s", took.Round(time.Millisecond))
	}
	e := graphapi.Classify(err)
	if e.Kind != graphapi.KindBadInput || e.Code != "AADSTS700016" {
		t.Errorf("error kind %s code %s, want bad input AADSTS700016: %v", e.Kind, e.Code, err)
	}
	for _, want := range []string{clientID, h.Info.TenantDomain} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if !strings.Contains(e.Remedy, "Application (client) ID") || !strings.Contains(e.Remedy, "Overview") {
		t.Errorf("remedy %q does not say where to copy the client ID", e.Remedy)
	}
	if strings.Contains(err.Error(), "thisIsNotARealSecret") || strings.Contains(e.Remedy, "thisIsNotARealSecret") {
		t.Errorf("the secret is in the error")
	}
	if len(keys.Names()) != 0 || conn.Enabled {
		t.Errorf("a failed manual connection was stored: keyring %v, enabled %v", keys.Names(), conn.Enabled)
	}
}

// TestManualNewSecretWaited: a secret created in the portal seconds ago,
// still refused by the token service (AADSTS7000215), is waited for within
// the manual path's short bound. It guards the fail-fast above from
// dropping this wait.
func TestManualNewSecretWaited(t *testing.T) {
	h := newRegTenant(t)
	ctx := context.Background()
	app := h.createApp(t)
	sp, err := h.graph.CreateServicePrincipal(ctx, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.graph.GrantAppRoles(ctx, sp.ID, h.cat.ServicePrincipalID, h.access.RoleIDs); err != nil {
		t.Fatal(err)
	}
	h.Srv.SetFaults(sim.Faults{ReplicationDelay: 2 * time.Second})
	secret, err := h.graph.AddPassword(ctx, app.ObjectID, "made in the portal", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	env, keys, events := h.manualEnv()
	conn := &store.Connection{Name: h.Info.TenantDomain + "/" + h.profile.Name}

	res, err := steps.ManualConnection(ctx, env, h.profile, conn, app.AppID, secret.Value)
	if err != nil {
		t.Fatalf("manual connection with a new secret: %v", err)
	}
	if !res.Passed || conn.Tenant.ID != h.Info.TenantID || !conn.Enabled {
		t.Errorf("result %+v, connection tenant %q enabled %v", res, conn.Tenant.ID, conn.Enabled)
	}
	var waited bool
	for _, ev := range events() {
		if ev.Kind == steps.StepWaiting && ev.Err != nil && ev.Err.Code == "AADSTS7000215" {
			waited = true
		}
	}
	if !waited {
		t.Errorf("the new secret was not waited for (no AADSTS7000215 wait reported)")
	}
	if got, _ := keys.Get(steps.KeyringName(conn, "manual")); got != secret.Value {
		t.Errorf("the secret was not stored in the keyring")
	}
}
