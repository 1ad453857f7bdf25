package steps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// syncTenant is a simulated tenant with an app that may read users and
// groups (app-only, as sync runs), an admin token to look at the tenant
// independently, and a directory database.
type syncTenant struct {
	*sim.Server
	graph *graphapi.Client
	admin *graphapi.Admin
	hc    *http.Client
	db    *store.DirDB
	dir   string
	ids   []string // users at the start, in creation order
	// The app, for a sync in a child process.
	appID, secret string
}

func newSyncTenant(tb testing.TB, opts sim.Options) *syncTenant {
	tb.Helper()
	tn := simtest.Start(tb, opts)
	ctx := context.Background()
	admin, ac := tn.Admin(tb, []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Group.ReadWrite.All", "Directory.Read.All", "User.Read"})
	cat, err := ac.GraphPermissions(ctx)
	if err != nil {
		tb.Fatalf("graph permissions: %v", err)
	}
	ra, err := cat.Resolve([]string{"User.Read.All", "GroupMember.Read.All"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	app, err := ac.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "sync test", RequiredResourceAccess: []graphapi.ResourceAccess{ra}})
	if err != nil {
		tb.Fatalf("create app: %v", err)
	}
	sp, err := ac.CreateServicePrincipal(ctx, app.AppID)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ac.GrantAppRoles(ctx, sp.ID, cat.ServicePrincipalID, ra.RoleIDs); err != nil {
		tb.Fatal(err)
	}
	secret, err := ac.AddPassword(ctx, app.ObjectID, "test", time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := graphapi.NewAppSession(graphapi.AppOptions{Cloud: tn.Cloud, HTTPClient: tn.HTTP, Tenant: tn.Info.TenantID, ClientID: app.AppID, Secret: secret.Value})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	db, err := store.OpenDirectory(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return &syncTenant{Server: tn.Srv, graph: sess.Graph, admin: admin, hc: tn.HTTP, db: db, dir: dir, ids: tn.Srv.UserIDs(),
		appID: app.AppID, secret: secret.Value}
}

func (h *syncTenant) group(tb testing.TB, name string) string {
	tb.Helper()
	id, err := h.GroupID(name)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func (h *syncTenant) sync(groups []string, mod func(*steps.SyncOptions)) (*steps.SyncResult, error) {
	o := steps.SyncOptions{Graph: h.graph, DB: h.db, Groups: groups}
	if mod != nil {
		mod(&o)
	}
	return steps.SyncUsers(context.Background(), o)
}

func (h *syncTenant) mustSync(tb testing.TB, groups []string, mod func(*steps.SyncOptions)) *steps.SyncResult {
	tb.Helper()
	res, err := h.sync(groups, mod)
	if err != nil {
		tb.Fatalf("sync: %v", err)
	}
	return res
}

// truthUser is a user as the tenant has it, read with plain HTTP and JSON.
type truthUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	GivenName         string `json:"givenName"`
	Surname           string `json:"surname"`
	Mail              string `json:"mail"`
	JobTitle          string `json:"jobTitle"`
	Department        string `json:"department"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

// truth reads the transitive user members of the groups straight from the
// sim, without the engine's code: users by ID and the memberships.
func (h *syncTenant) truth(tb testing.TB, groups []string) (map[string]truthUser, []store.Membership) {
	tb.Helper()
	tok, err := h.admin.AccessToken(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	users := map[string]truthUser{}
	var ms []store.Membership
	for _, g := range groups {
		link := h.Info().GraphURL + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$count=true&$top=999&$select=" +
			url.QueryEscape("id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,accountEnabled")
		for link != "" {
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("ConsistencyLevel", "eventual")
			resp, err := h.hc.Do(req)
			if err != nil {
				tb.Fatal(err)
			}
			var body struct {
				Value []truthUser `json:"value"`
				Next  string      `json:"@odata.nextLink"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				tb.Fatalf("truth: %d %v", resp.StatusCode, err)
			}
			for _, u := range body.Value {
				users[u.ID] = u
				ms = append(ms, store.Membership{GroupID: g, MemberID: u.ID})
			}
			link = body.Next
		}
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].GroupID != ms[j].GroupID {
			return ms[i].GroupID < ms[j].GroupID
		}
		return ms[i].MemberID < ms[j].MemberID
	})
	return users, ms
}

// assertTruth fails unless the database holds exactly the tenant's truth:
// every member with its attributes, active when enabled in Entra, every
// other user not active, and the same memberships.
func (h *syncTenant) assertTruth(tb testing.TB, groups []string) {
	tb.Helper()
	users, ms := h.truth(tb, groups)
	seen := map[string]bool{}
	err := h.db.EachUser(context.Background(), func(u store.DirUser) error {
		seen[u.ID] = true
		want, ok := users[u.ID]
		if !ok {
			if u.State == "active" {
				return fmt.Errorf("user %s (%s) is active but in no picked group", u.ID, u.UserPrincipalName)
			}
			return nil
		}
		got := truthUser{u.ID, u.UserPrincipalName, u.DisplayName, u.GivenName, u.Surname, u.Mail, u.JobTitle, u.Department, u.AccountEnabled}
		if got != want {
			return fmt.Errorf("user %s: got %+v, want %+v", u.ID, got, want)
		}
		wantState := "active"
		if !want.AccountEnabled {
			wantState = "disabled"
		}
		if u.State != wantState {
			return fmt.Errorf("user %s (%s): state %s, want %s", u.ID, u.UserPrincipalName, u.State, wantState)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for id := range users {
		if !seen[id] {
			tb.Fatalf("user %s (%s) is missing from the database", id, users[id].UserPrincipalName)
		}
	}
	got, err := h.db.Memberships(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if !slices.Equal(got, ms) {
		tb.Fatalf("memberships differ: got %d, want %d", len(got), len(ms))
	}
}

// graphRequests counts the sim's requests, $batch items left out.
func graphRequests(srv *sim.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Service != "graph-batch" {
			n++
		}
	}
	return n
}
