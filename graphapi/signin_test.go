package graphapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestDeviceCodeSignIn(t *testing.T) {
	t.Parallel() // mostly waiting: run beside the other waiting tests
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	tests := []struct {
		name     string
		faults   sim.Faults
		act      func(userCode string) error // what the person does in the browser
		wantKind graphapi.Kind               // KindUnknown: success
		wantCode string
	}{
		{name: "approved", act: func(c string) error { return srv.ApproveDeviceCode(c, info.AdminUPN) }},
		{name: "pending, then approved", act: func(c string) error {
			// Approve while MSAL is polling, after a few authorization_pending answers.
			go func() {
				time.Sleep(400 * time.Millisecond)
				srv.ApproveDeviceCode(c, info.AdminUPN)
			}()
			return nil
		}},
		{name: "declined", act: srv.DeclineDeviceCode, wantKind: graphapi.KindSignIn, wantCode: "AADSTS70000"},
		{name: "expired", act: srv.ExpireDeviceCode, wantKind: graphapi.KindSignIn, wantCode: "AADSTS70019"},
		{name: "conditional access blocks device code", faults: sim.Faults{BlockDeviceCode: true},
			act:      func(c string) error { return srv.ApproveDeviceCode(c, info.AdminUPN) },
			wantKind: graphapi.KindConditionalAccess, wantCode: "AADSTS53003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetFaults(tt.faults)
			defer srv.SetFaults(sim.Faults{})
			a := newAdmin(t, srv, nil, nil)
			ctx := ctxT(t)
			dc, err := a.StartDeviceCode(ctx)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if dc.UserCode == "" || !strings.HasPrefix(dc.VerificationURL, "https://") || dc.Message == "" || dc.ExpiresOn.IsZero() {
				t.Fatalf("incomplete device code: %+v", dc)
			}
			if err := tt.act(dc.UserCode); err != nil {
				t.Fatalf("act: %v", err)
			}
			srv.ResetRequests()
			id, err := dc.Wait(ctx)
			if tt.wantKind == graphapi.KindUnknown {
				if err != nil {
					t.Fatalf("wait: %v", err)
				}
				polls := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Grant != "" && r.Status == 400 })
				if strings.HasPrefix(tt.name, "pending") && polls == 0 {
					t.Errorf("no authorization_pending poll before approval")
				}
				if !strings.EqualFold(id.UPN, info.AdminUPN) || id.TenantID != info.TenantID || id.ObjectID == "" {
					t.Fatalf("identity = %+v", id)
				}
				if got, ok := a.Identity(); !ok || got.UPN != id.UPN {
					t.Fatalf("Identity() = %+v, %v", got, ok)
				}
				return
			}
			e := wantKind(t, err, tt.wantKind, "")
			if e.Code != tt.wantCode && e.OAuthError == "" {
				t.Errorf("code = %q (oauth %q), want %q", e.Code, e.OAuthError, tt.wantCode)
			}
			if e.RequestID == "" {
				t.Errorf("identity error without trace ID: %+v", e)
			}
		})
	}
}

func TestDeviceCodeDeclinedIsIdentifiedByOAuthError(t *testing.T) {
	srv := startSim(t, sim.Options{})
	a := newAdmin(t, srv, nil, nil)
	ctx := ctxT(t)
	dc, err := a.StartDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DeclineDeviceCode(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	_, err = dc.Wait(ctx)
	e := wantKind(t, err, graphapi.KindSignIn, "")
	if e.OAuthError != "authorization_declined" || !strings.Contains(e.Remedy, "declined") {
		t.Fatalf("declined: %+v", e)
	}
}

func TestSignInUnknownTenant(t *testing.T) {
	srv := startSim(t, sim.Options{})
	a, err := graphapi.NewAdmin(graphapi.AdminOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: "nosuchtenant.onmicrosoft.com", Scopes: adminScopes})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.StartDeviceCode(ctxT(t))
	e := wantKind(t, err, graphapi.KindBadInput, "AADSTS90002")
	if !strings.Contains(e.Error(), "start device-code sign-in") {
		t.Errorf("error lacks its operation: %v", e)
	}
}

func TestSilentSignInFromCache(t *testing.T) {
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	tests := []struct {
		name          string
		faults        sim.Faults
		wantRefreshes int
	}{
		{name: "access token still valid"},
		// MSAL does not cache an access token that expires within five
		// minutes, so the next run redeems the refresh token.
		{name: "access token expiring", faults: sim.Faults{TokenLifetime: time.Minute}, wantRefreshes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared := &memCache{}
			first := newAdmin(t, srv, shared, nil)
			if _, err := first.SignInSilent(ctxT(t)); !graphapi.IsKind(err, graphapi.KindSignInRequired) {
				t.Fatalf("empty cache: want KindSignInRequired, got %v", err)
			}
			srv.SetFaults(tt.faults)
			defer srv.SetFaults(sim.Faults{})
			signIn(t, srv, first, info.AdminUPN)

			srv.ResetRequests()
			second := newAdmin(t, srv, shared, nil) // a later run of the program
			id, err := second.SignInSilent(ctxT(t))
			if err != nil {
				t.Fatalf("silent: %v", err)
			}
			if !strings.EqualFold(id.UPN, info.AdminUPN) {
				t.Fatalf("silent identity %+v", id)
			}
			c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Me(ctxT(t)); err != nil {
				t.Fatalf("me with cached sign-in: %v", err)
			}
			if n := countRequests(srv, func(r sim.LoggedRequest) bool { return strings.HasSuffix(r.Path, "/devicecode") }); n != 0 {
				t.Errorf("silent sign-in asked for %d device codes", n)
			}
			refreshes := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Grant == "refresh_token" })
			if (tt.wantRefreshes == 0 && refreshes != 0) || (tt.wantRefreshes > 0 && refreshes == 0) {
				t.Errorf("refresh_token grants = %d, want %d", refreshes, tt.wantRefreshes)
			}

			if err := second.SignOut(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := newAdmin(t, srv, shared, nil).SignInSilent(ctxT(t)); !graphapi.IsKind(err, graphapi.KindSignInRequired) {
				t.Fatalf("after sign-out: want KindSignInRequired, got %v", err)
			}
		})
	}
}

func TestTokenNotSentBeforeSignIn(t *testing.T) {
	srv := startSim(t, sim.Options{})
	a := newAdmin(t, srv, nil, nil)
	c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Organization(ctxT(t))
	wantKind(t, err, graphapi.KindSignInRequired, "not_signed_in")
}

func TestPlainUserIsForbidden(t *testing.T) {
	srv := startSim(t, sim.Options{})
	a := newAdmin(t, srv, nil, nil, "RoleManagement.Read.Directory")
	signIn(t, srv, a, srv.Info().UserUPN)
	c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	roles, err := c.MyDirectoryRoles(ctx)
	if err != nil {
		t.Fatalf("roles: %v", err)
	}
	if len(roles) != 0 {
		t.Fatalf("plain user has roles %+v", roles)
	}
	// Like Entra's default, any member may register an app, but granting
	// application permissions needs a privileged role.
	app, err := c.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "user's app"})
	if err != nil {
		t.Fatalf("create application as user: %v", err)
	}
	sp, err := c.CreateServicePrincipal(ctx, app.AppID)
	if err != nil {
		t.Fatalf("create service principal as user: %v", err)
	}
	cat, err := c.GraphPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	role, err := cat.AppRole("User.Read.All")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GrantAppRoles(ctx, sp.ID, cat.ServicePrincipalID, []string{role.ID})
	e := wantKind(t, err, graphapi.KindForbidden, "Authorization_RequestDenied")
	if e.Status != 403 || e.RequestID == "" || !strings.Contains(e.Remedy, "Privileged Role Administrator") {
		t.Fatalf("forbidden error: %+v", e)
	}
}
