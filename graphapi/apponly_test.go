package graphapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestAppOnlyTokens(t *testing.T) {
	srv := startSim(t, sim.Options{})
	admin, _ := adminClient(t, srv, nil)
	roles := []string{"User.Read.All", "Group.Read.All"}
	app, _, secret := setupApp(t, admin, "app-only test", roles)
	other, _, otherSecret := setupApp(t, admin, "expired secret test", roles)
	if err := srv.ExpireSecrets(other.AppID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		clientID string
		secret   string
		wantKind graphapi.Kind
		wantCode string
	}{
		{name: "right secret", clientID: app.AppID, secret: secret.Value},
		{name: "wrong secret", clientID: app.AppID, secret: "wrong" + secret.Value[5:], wantKind: graphapi.KindInvalidSecret, wantCode: "AADSTS7000215"},
		{name: "secret ID instead of value", clientID: app.AppID, secret: secret.KeyID, wantKind: graphapi.KindInvalidSecret, wantCode: "AADSTS7000215"},
		{name: "expired secret", clientID: other.AppID, secret: otherSecret.Value, wantKind: graphapi.KindSecretExpired, wantCode: "AADSTS7000222"},
		{name: "unknown app", clientID: "11111111-2222-3333-4444-555555555555", secret: secret.Value, wantKind: graphapi.KindNotFoundYet, wantCode: "AADSTS700016"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trace := &syncBuffer{}
			a, err := graphapi.NewApp(graphapi.AppOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: srv.Info().TenantDomain,
				ClientID: tt.clientID, Secret: tt.secret, Tracer: graphapi.NewTracer(trace)})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := a.VerifyRoles(ctxT(t), roles)
			if strings.Contains(trace.String(), tt.secret) || strings.Contains(trace.String(), "eyJ") {
				t.Errorf("trace holds a secret or token:\n%s", trace.String())
			}
			if !strings.Contains(trace.String(), "login POST /") {
				t.Errorf("trace misses the token call:\n%s", trace.String())
			}
			if tt.wantKind == graphapi.KindUnknown {
				if err != nil {
					t.Fatalf("verify roles: %v", err)
				}
				if tok.AppID != app.AppID || tok.TenantID != srv.Info().TenantID || !slices.Equal(tok.Roles, []string{"Group.Read.All", "User.Read.All"}) {
					t.Fatalf("token = %+v", tok)
				}
				// The token works on Graph.
				c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a})
				if err != nil {
					t.Fatal(err)
				}
				page, err := c.SearchGroups(ctxT(t), graphapi.GroupQuery{Top: 5})
				if err != nil || len(page.Groups) == 0 {
					t.Fatalf("app-only group list: %v, %+v", err, page)
				}
				return
			}
			e := wantKind(t, err, tt.wantKind, tt.wantCode)
			if strings.Contains(e.Error(), tt.secret) || strings.Contains(e.Message, tt.secret) || strings.Contains(e.Remedy, tt.secret) {
				t.Fatalf("error holds the secret: %v", e)
			}
		})
	}
}

func TestAppOnlyRolesMissing(t *testing.T) {
	srv := startSim(t, sim.Options{})
	admin, _ := adminClient(t, srv, nil)
	app, _, secret := setupApp(t, admin, "few roles", []string{"User.Read.All"})
	a, err := graphapi.NewApp(graphapi.AppOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: srv.Info().TenantID, ClientID: app.AppID, Secret: secret.Value})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.VerifyRoles(ctxT(t), []string{"User.Read.All", "Group.Read.All"})
	e := wantKind(t, err, graphapi.KindNotFoundYet, "RolesMissing")
	if !strings.Contains(e.Message, "Group.Read.All") || strings.Contains(e.Message, "User.Read.All") {
		t.Fatalf("message should name only the missing role: %q", e.Message)
	}
	// Without the role, Graph refuses the app.
	c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SearchGroups(ctxT(t), graphapi.GroupQuery{Top: 5})
	wantKind(t, err, graphapi.KindForbidden, "")
}

func TestNewAppRefusesBadInput(t *testing.T) {
	srv := startSim(t, sim.Options{})
	tests := []struct {
		name             string
		tenant, id, secr string
	}{
		{"no tenant", "", "11111111-2222-3333-4444-555555555555", "s3cret-value-123"},
		{"client ID not a GUID", "contoso.onmicrosoft.com", "my-app", "s3cret-value-123"},
		{"no secret", "contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := graphapi.NewApp(graphapi.AppOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: tt.tenant, ClientID: tt.id, Secret: tt.secr})
			wantKind(t, err, graphapi.KindBadInput, "")
		})
	}
}
