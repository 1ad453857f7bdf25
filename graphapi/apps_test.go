package graphapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestDirectoryReads(t *testing.T) {
	srv := startSim(t, sim.Options{})
	info := srv.Info()
	// Listing /domains needs Domain.Read.All and reading role details
	// RoleManagement.Read.Directory, beyond what setup writes with.
	c, _ := adminClient(t, srv, nil, "Domain.Read.All", "RoleManagement.Read.Directory")
	ctx := ctxT(t)

	org, err := c.Organization(ctx)
	if err != nil {
		t.Fatalf("organization: %v", err)
	}
	if org.TenantID != info.TenantID || org.DisplayName == "" || org.InitialDomain != info.TenantDomain {
		t.Fatalf("organization = %+v", org)
	}
	if org.PrimaryDomain == "" || strings.HasSuffix(org.PrimaryDomain, ".onmicrosoft.com") {
		t.Errorf("primary domain %q should be the verified custom default", org.PrimaryDomain)
	}

	domains, err := c.Domains(ctx)
	if err != nil {
		t.Fatalf("domains: %v", err)
	}
	var names []string
	for _, d := range domains {
		names = append(names, d.Name)
	}
	if !slices.Contains(names, org.PrimaryDomain) || !slices.Contains(names, org.InitialDomain) {
		t.Errorf("domains %v lack %s or %s", names, org.PrimaryDomain, org.InitialDomain)
	}

	me, err := c.Me(ctx)
	if err != nil {
		t.Fatalf("me: %v", err)
	}
	if !strings.EqualFold(me.UserPrincipalName, info.AdminUPN) || me.ID == "" {
		t.Fatalf("me = %+v", me)
	}

	roles, err := c.MyDirectoryRoles(ctx)
	if err != nil {
		t.Fatalf("directory roles: %v", err)
	}
	if !graphapi.HasRole(roles, graphapi.RoleGlobalAdministrator) {
		t.Fatalf("admin roles %+v lack Global Administrator", roles)
	}
	for _, r := range roles {
		if r.DisplayName == "" {
			t.Errorf("role without a name: %+v", r)
		}
	}
}

func TestPermissionCatalog(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil)
	cat, err := c.GraphPermissions(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if cat.ServicePrincipalID == "" {
		t.Fatal("no Graph service principal ID")
	}
	tests := []struct {
		name       string
		app, deleg []string
		wantBad    string // a name the error must mention; "" for success
	}{
		{name: "known", app: []string{"User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"}, deleg: []string{"User.Read"}},
		{name: "case-insensitive", app: []string{"user.read.all"}, deleg: []string{"user.read"}},
		{name: "unknown application permission", app: []string{"User.Read.All", "Users.Read.Everything"}, wantBad: "Users.Read.Everything"},
		{name: "unknown delegated permission", deleg: []string{"User.Reed"}, wantBad: "User.Reed"},
		{name: "delegated name used as application permission", app: []string{"User.Read"}, wantBad: "User.Read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra, err := cat.Resolve(tt.app, tt.deleg)
			if tt.wantBad != "" {
				e := wantKind(t, err, graphapi.KindBadInput, "UnknownPermission")
				if !strings.Contains(e.Error(), `"`+tt.wantBad+`"`) {
					t.Fatalf("error does not name %s: %v", tt.wantBad, e)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ra.ResourceAppID != graphapi.GraphAppID || len(ra.RoleIDs) != len(tt.app) || len(ra.ScopeIDs) != len(tt.deleg) {
				t.Fatalf("resolved %+v", ra)
			}
			for _, id := range append(ra.RoleIDs, ra.ScopeIDs...) {
				if len(id) != 36 {
					t.Errorf("not a GUID: %q", id)
				}
			}
		})
	}
	// The real, documented ID of User.Read.All comes from the tenant, not from us.
	r, err := cat.AppRole("User.Read.All")
	if err != nil || r.ID != "df021288-bdef-4463-88db-98f22de89214" || cat.RoleName(r.ID) != "User.Read.All" {
		t.Fatalf("User.Read.All = %+v, %v", r, err)
	}
}

func TestRegisterAppLifecycle(t *testing.T) {
	srv := startSim(t, sim.Options{})
	trace := &syncBuffer{}
	c, _ := adminClient(t, srv, graphapi.NewTracer(trace))
	ctx := ctxT(t)
	cat, err := c.GraphPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := cat.Resolve([]string{"User.Read.All", "Group.Read.All"}, []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	tag := graphapi.AppTag("print-server")
	spec := graphapi.ApplicationSpec{
		DisplayName:              "Print Server Sync",
		SignInAudience:           "AzureADMyOrg",
		WebRedirectURIs:          []string{"https://app.example.com/azure/callback"},
		PublicClientRedirectURIs: []string{"https://login.microsoftonline.com/common/oauth2/nativeclient"},
		SPARedirectURIs:          []string{"https://spa.example.com/"},
		IsFallbackPublicClient:   true,
		RequiredResourceAccess:   []graphapi.ResourceAccess{ra},
		Tags:                     []string{tag},
	}
	app, err := c.CreateApplication(ctx, spec)
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	if app.ObjectID == "" || app.AppID == "" || app.ObjectID == app.AppID {
		t.Fatalf("ids: %+v", app)
	}

	t.Run("read back", func(t *testing.T) {
		got, err := c.GetApplication(ctx, app.ObjectID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != spec.DisplayName || !got.IsFallbackPublicClient || got.SignInAudience != "AzureADMyOrg" ||
			!slices.Equal(got.WebRedirectURIs, spec.WebRedirectURIs) || !slices.Equal(got.SPARedirectURIs, spec.SPARedirectURIs) ||
			!slices.Equal(got.PublicClientRedirectURIs, spec.PublicClientRedirectURIs) || !slices.Contains(got.Tags, tag) {
			t.Fatalf("read back %+v", got)
		}
		if len(got.RequiredResourceAccess) != 1 || len(got.RequiredResourceAccess[0].RoleIDs) != 2 || len(got.RequiredResourceAccess[0].ScopeIDs) != 1 {
			t.Fatalf("requiredResourceAccess %+v", got.RequiredResourceAccess)
		}
	})

	t.Run("find by tag", func(t *testing.T) {
		found, err := c.FindApplicationsByTag(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 1 || found[0].ObjectID != app.ObjectID {
			t.Fatalf("found %+v", found)
		}
		none, err := c.FindApplicationsByTag(ctx, graphapi.AppTag("o'brien"))
		if err != nil || len(none) != 0 {
			t.Fatalf("quote in tag: %v, %+v", err, none)
		}
	})

	t.Run("update", func(t *testing.T) {
		name := "Print Server Sync (renamed)"
		uris := []string{"https://app.example.com/azure/callback", "https://portal.example.com/connector"}
		off := false
		if err := c.UpdateApplication(ctx, app.ObjectID, graphapi.ApplicationPatch{DisplayName: &name, WebRedirectURIs: &uris, IsFallbackPublicClient: &off}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetApplication(ctx, app.ObjectID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != name || !slices.Equal(got.WebRedirectURIs, uris) || got.IsFallbackPublicClient || !slices.Contains(got.Tags, tag) {
			t.Fatalf("after patch %+v", got)
		}
	})

	sp, err := c.CreateServicePrincipal(ctx, app.AppID)
	if err != nil {
		t.Fatalf("create service principal: %v", err)
	}
	t.Run("service principal", func(t *testing.T) {
		got, err := c.GetServicePrincipalByAppID(ctx, app.AppID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != sp.ID || got.AppID != app.AppID || got.AppRoleAssignmentRequired {
			t.Fatalf("sp %+v", got)
		}
		if err := c.SetAssignmentRequired(ctx, sp.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, err = c.GetServicePrincipalByAppID(ctx, app.AppID); err != nil || !got.AppRoleAssignmentRequired {
			t.Fatalf("after assignment required: %+v, %v", got, err)
		}
		_, err = c.CreateServicePrincipal(ctx, app.AppID)
		wantKind(t, err, graphapi.KindAlreadyExists, "")
	})

	t.Run("app role consent is idempotent", func(t *testing.T) {
		for range 2 {
			got, err := c.GrantAppRoles(ctx, sp.ID, cat.ServicePrincipalID, ra.RoleIDs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("assignments %+v", got)
			}
		}
		list, err := c.AppRoleAssignments(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range list {
			if a.ResourceID == cat.ServicePrincipalID {
				ids = append(ids, a.AppRoleID)
			}
		}
		slices.Sort(ids)
		want := slices.Clone(ra.RoleIDs)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("assigned roles %v, want %v", ids, want)
		}
		// Posting the same assignment directly is a conflict.
		_, err = c.AssignAppRole(ctx, cat.ServicePrincipalID, sp.ID, ra.RoleIDs[0])
		wantKind(t, err, graphapi.KindAlreadyExists, "")
	})

	t.Run("delegated consent", func(t *testing.T) {
		if g, err := c.AdminConsentGrant(ctx, sp.ID, cat.ServicePrincipalID); err != nil || g != nil {
			t.Fatalf("before consent: %+v, %v", g, err)
		}
		g, err := c.GrantDelegatedScopes(ctx, sp.ID, cat.ServicePrincipalID, []string{"User.Read"})
		if err != nil {
			t.Fatal(err)
		}
		if g.ConsentType != "AllPrincipals" || !slices.Equal(g.Scopes, []string{"User.Read"}) || g.ID == "" {
			t.Fatalf("grant %+v", g)
		}
		again, err := c.GrantDelegatedScopes(ctx, sp.ID, cat.ServicePrincipalID, []string{"User.Read"})
		if err != nil || again.ID != g.ID {
			t.Fatalf("second grant: %+v, %v", again, err)
		}
		more, err := c.GrantDelegatedScopes(ctx, sp.ID, cat.ServicePrincipalID, []string{"User.Read", "openid"})
		if err != nil || more.ID != g.ID {
			t.Fatalf("extended grant: %+v, %v", more, err)
		}
		found, err := c.AdminConsentGrant(ctx, sp.ID, cat.ServicePrincipalID)
		if err != nil || found == nil || !slices.Equal(found.Scopes, []string{"User.Read", "openid"}) {
			t.Fatalf("grant after update: %+v, %v", found, err)
		}
	})

	t.Run("assign a group", func(t *testing.T) {
		g, err := c.CreateSecurityGroup(ctx, "Print Server Users", "Users synced to the print server")
		if err != nil {
			t.Fatal(err)
		}
		if !g.SecurityEnabled || g.MailEnabled || g.DisplayName != "Print Server Users" {
			t.Fatalf("group %+v", g)
		}
		a, err := c.AssignAppRole(ctx, sp.ID, g.ID, "00000000-0000-0000-0000-000000000000")
		if err != nil {
			t.Fatal(err)
		}
		if a.PrincipalID != g.ID || a.PrincipalType != "Group" || a.ResourceID != sp.ID {
			t.Fatalf("assignment %+v", a)
		}
		list, err := c.AppRoleAssignedTo(ctx, sp.ID)
		if err != nil || len(list) != 1 || list[0].PrincipalID != g.ID {
			t.Fatalf("assigned to app: %+v, %v", list, err)
		}
	})

	var secret *graphapi.NewSecret
	t.Run("client secrets", func(t *testing.T) {
		end := time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second)
		secret, err = c.AddPassword(ctx, app.ObjectID, "entrawiz", end)
		if err != nil {
			t.Fatal(err)
		}
		if len(secret.Value) < 16 || secret.KeyID == "" || !strings.HasPrefix(secret.Value, secret.Hint) || !secret.End.Equal(end) {
			t.Fatalf("secret %v end %v", secret, secret.End)
		}
		for _, s := range []string{secret.String(), secret.GoString()} {
			if strings.Contains(s, secret.Value) {
				t.Fatalf("String prints the value: %s", s)
			}
		}
		second, err := c.AddPassword(ctx, app.ObjectID, "rotation", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		list, err := c.ListPasswords(ctx, app.ObjectID)
		if err != nil || len(list) != 2 {
			t.Fatalf("passwords %+v, %v", list, err)
		}
		if err := c.RemovePassword(ctx, app.ObjectID, second.KeyID); err != nil {
			t.Fatal(err)
		}
		list, err = c.ListPasswords(ctx, app.ObjectID)
		if err != nil || len(list) != 1 || list[0].KeyID != secret.KeyID || list[0].DisplayName != "entrawiz" {
			t.Fatalf("after remove %+v, %v", list, err)
		}
		err = c.RemovePassword(ctx, app.ObjectID, "not-a-guid")
		wantKind(t, err, graphapi.KindBadInput, "")
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.DeleteApplication(ctx, app.ObjectID); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetApplication(ctx, app.ObjectID)
		e := wantKind(t, err, graphapi.KindNotFound, "")
		if e.Status != 404 || e.RequestID == "" || !strings.Contains(e.Error(), "get application") {
			t.Fatalf("not found error %+v", e)
		}
	})

	tr := trace.String()
	if secret != nil && strings.Contains(tr, secret.Value) {
		t.Error("trace holds the client secret")
	}
	if strings.Contains(tr, "eyJ") || strings.Contains(strings.ToLower(tr), "bearer") {
		t.Error("trace holds a token")
	}
	for _, want := range []string{"graph POST /v1.0/applications 201", "graph PATCH /v1.0/applications/", "request-id=", "login POST /"} {
		if !strings.Contains(tr, want) {
			t.Errorf("trace lacks %q:\n%s", want, tr)
		}
	}
}

func TestCreateApplicationNeedsName(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil)
	_, err := c.CreateApplication(ctxT(t), graphapi.ApplicationSpec{DisplayName: "  "})
	wantKind(t, err, graphapi.KindBadInput, "")
	_, err = c.CreateSecurityGroup(ctxT(t), "", "")
	wantKind(t, err, graphapi.KindBadInput, "")
}

func TestDirectoryRolesNeedRoleReadScope(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil) // setup's scopes only
	_, err := c.MyDirectoryRoles(ctxT(t))
	wantKind(t, err, graphapi.KindConsentNeeded, "LimitedInformation")
}
