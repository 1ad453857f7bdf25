package graphapi_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
)

// adminScopes is what setup asks of the admin.
var adminScopes = []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.ReadWrite.All", "Group.ReadWrite.All", "User.Read"}

// tenant is a running sim with the HTTP client every test client shares, so
// that its connections can be closed before the sim shuts down (an idle
// connection the sim must wait for slows Close down by a second).
type tenant struct {
	*sim.Server
	cloud graphapi.Cloud
	hc    *http.Client
}

func startSim(t *testing.T, opts sim.Options) *tenant {
	t.Helper()
	if opts.Users == 0 {
		opts.Users = 50
	}
	if opts.Groups == 0 {
		opts.Groups = 10
	}
	tn := simtest.Start(t, opts)
	return &tenant{Server: tn.Srv, cloud: tn.Cloud, hc: tn.HTTP}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a trace sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// memCache is a token cache a test can hand to two Admins, as the store
// hands the same encrypted file to two runs.
type memCache struct {
	mu   sync.Mutex
	data []byte
}

func (m *memCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		return nil
	}
	return u.Unmarshal(m.data)
}

func (m *memCache) Export(_ context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.data = b
	m.mu.Unlock()
	return nil
}

func newAdmin(t *testing.T, srv *tenant, c cache.ExportReplace, tr *graphapi.Tracer, extraScopes ...string) *graphapi.Admin {
	t.Helper()
	a, err := graphapi.NewAdmin(graphapi.AdminOptions{
		Cloud:      srv.cloud,
		HTTPClient: srv.hc,
		Tenant:     srv.Info().TenantID,
		Scopes:     append(slices.Clone(adminScopes), extraScopes...),
		Cache:      c,
		Tracer:     tr,
	})
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	return a
}

// signIn runs the device-code flow, approving as upn on the sim.
func signIn(t *testing.T, srv *tenant, a *graphapi.Admin, upn string) graphapi.Identity {
	t.Helper()
	ctx := ctxT(t)
	dc, err := a.StartDeviceCode(ctx)
	if err != nil {
		t.Fatalf("start device code: %v", err)
	}
	if err := srv.ApproveDeviceCode(dc.UserCode, upn); err != nil {
		t.Fatalf("approve: %v", err)
	}
	id, err := dc.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return id
}

// adminClient signs the Global Administrator in and returns a Graph client.
func adminClient(t *testing.T, srv *tenant, tr *graphapi.Tracer, extraScopes ...string) (*graphapi.Client, *graphapi.Admin) {
	t.Helper()
	a := newAdmin(t, srv, nil, tr, extraScopes...)
	signIn(t, srv, a, srv.Info().AdminUPN)
	c, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a, Tracer: tr})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c, a
}

// wantKind fails unless err classifies as kind (and code, when not empty).
func wantKind(t *testing.T, err error, kind graphapi.Kind, code string) *graphapi.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", kind)
	}
	e := graphapi.Classify(err)
	if e.Kind != kind {
		t.Fatalf("want kind %q, got %q: %v", kind, e.Kind, err)
	}
	if code != "" && e.Code != code {
		t.Fatalf("want code %q, got %q: %v", code, e.Code, err)
	}
	if e.Remedy == "" {
		t.Errorf("error has no remedy: %v", err)
	}
	return e
}

func countRequests(srv *tenant, match func(sim.LoggedRequest) bool) int {
	n := 0
	for _, r := range srv.Requests() {
		if match(r) {
			n++
		}
	}
	return n
}

// setupApp registers an app with application permissions roles, its
// service principal, consent and a secret, as the setup steps do.
func setupApp(t *testing.T, c *graphapi.Client, name string, roles []string) (app *graphapi.Application, sp *graphapi.ServicePrincipal, secret *graphapi.NewSecret) {
	t.Helper()
	ctx := ctxT(t)
	cat, err := c.GraphPermissions(ctx)
	if err != nil {
		t.Fatalf("graph permissions: %v", err)
	}
	ra, err := cat.Resolve(roles, nil)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	app, err = c.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: name, RequiredResourceAccess: []graphapi.ResourceAccess{ra},
		Tags: []string{graphapi.AppTag(name)}})
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	if sp, err = c.CreateServicePrincipal(ctx, app.AppID); err != nil {
		t.Fatalf("create service principal: %v", err)
	}
	if _, err = c.GrantAppRoles(ctx, sp.ID, cat.ServicePrincipalID, ra.RoleIDs); err != nil {
		t.Fatalf("grant app roles: %v", err)
	}
	if secret, err = c.AddPassword(ctx, app.ObjectID, "test", time.Time{}); err != nil {
		t.Fatalf("add password: %v", err)
	}
	return app, sp, secret
}
