package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
)

// adminGraph signs the admin in afresh and returns a Graph client acting
// as them: the test's own look at the tenant.
func (w *world) adminGraph(a *App) *graphapi.Client {
	w.t.Helper()
	sess, err := a.signIn(context.Background(), w.info.TenantDomain,
		[]string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "GroupMember.ReadWrite.All", "GroupMember.Read.All", "User.ReadBasic.All", "User.Read"}, nil)
	if err != nil {
		w.t.Fatalf("sign in to look: %v", err)
	}
	return sess.graph
}

// nestedGroup finds a group that holds another group, and that one.
func nestedGroup(t *testing.T, g *graphapi.Client) (outer, inner graphapi.Group) {
	t.Helper()
	ctx := context.Background()
	page, err := g.SearchGroups(ctx, graphapi.GroupQuery{Top: 999})
	if err != nil {
		t.Fatal(err)
	}
	for _, grp := range page.Groups {
		sub, err := g.GroupSubgroups(ctx, grp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sub) > 0 {
			in, err := g.GetGroup(ctx, sub[0])
			if err != nil {
				t.Fatal(err)
			}
			return grp, *in
		}
	}
	t.Fatal("the tenant has no nested group")
	return
}

func assignedTo(t *testing.T, g *graphapi.Client, spID string) map[string]graphapi.AppRoleAssignment {
	t.Helper()
	list, err := g.AppRoleAssignedTo(context.Background(), spID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]graphapi.AppRoleAssignment{}
	for _, a := range list {
		if _, dup := out[a.PrincipalID]; dup {
			t.Errorf("%s is assigned twice", a.PrincipalDisplayName)
		}
		out[a.PrincipalID] = a
	}
	return out
}

func TestSetupAssignsUsersGroupsAndNestedGroups(t *testing.T) {
	w := newWorld(t, 20, 5, sim.Faults{})
	a := w.app(nil)
	look := w.adminGraph(a)
	outer, inner := nestedGroup(t, look)
	p, err := steps.LoadProfile("../docs/profiles/legal-ai.json")
	if err != nil {
		t.Fatal(err)
	}
	p.RedirectURIs.Web = []string{"https://legal.contoso.net/callback"}
	s, err := a.NewSetup(p, w.info.TenantDomain)
	if err != nil {
		t.Fatal(err)
	}
	s.People = steps.PeopleRequest{Assign: []string{w.info.UserUPN, outer.DisplayName}, Members: []string{w.info.AdminUPN}}
	ctx := context.Background()
	if err := s.SignIn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	plan, err := s.Preflight(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, it := range plan.Items {
		if it.Action == "assign" || it.Action == "add" {
			planned = append(planned, it.Action+" "+it.Object)
		}
	}
	if len(planned) != 3 {
		t.Errorf("plan has %d people lines, want 3: %q", len(planned), planned)
	}
	if err := s.Execute(ctx, nil); err != nil {
		t.Fatal(err)
	}
	conn := s.Connection()
	got := assignedTo(t, look, conn.App.ServicePrincipalID)
	user, err := look.GetUser(ctx, w.info.UserUPN)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ id, typ string }{{user.ID, "User"}, {outer.ID, "Group"}, {steps.CreatedGroupID(conn), "Group"}} {
		as, ok := got[want.id]
		if !ok {
			t.Errorf("%s %s is not assigned to the app", want.typ, want.id)
			continue
		}
		if as.PrincipalType != want.typ || as.AppRoleID != "00000000-0000-0000-0000-000000000000" {
			t.Errorf("assignment of %s = %+v, want type %s with the default access role", want.id, as, want.typ)
		}
	}
	// A group's nested groups get no assignment of their own: Entra does
	// not carry assignment down to them.
	if _, ok := got[inner.ID]; ok {
		t.Errorf("nested group %q was assigned too", inner.DisplayName)
	}
	if len(got) != 3 {
		t.Errorf("%d assignments, want 3", len(got))
	}
	saved, err := a.Connection(conn.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.State.Assigned) != 2 || len(saved.State.Members) != 1 {
		t.Errorf("recorded %d assigned and %d members, want 2 and 1", len(saved.State.Assigned), len(saved.State.Members))
	}
	if sp, err := look.GetServicePrincipalByAppID(ctx, conn.App.AppID); err != nil || !slices.Contains(sp.Tags, graphapi.EnterpriseAppTag) {
		t.Errorf("enterprise app tags = %v (%v), want %s", sp.Tags, err, graphapi.EnterpriseAppTag)
	}
}

// TestGiveAccessAfterAKilledRun: a run stopped after its write reached
// Entra and before it saved leaves an assignment the connection does not
// record; the next run records it and writes nothing twice.
func TestGiveAccessAfterAKilledRun(t *testing.T) {
	w := newWorld(t, 10, 3, sim.Faults{})
	a := w.app(nil)
	name := w.mustSetup(a, "directory-sync")
	conn, err := a.Connection(name)
	if err != nil {
		t.Fatal(err)
	}
	look := w.adminGraph(a)
	ctx := context.Background()
	user, err := look.GetUser(ctx, w.info.UserUPN)
	if err != nil {
		t.Fatal(err)
	}
	// The killed run's write.
	if _, err := look.AssignAppRole(ctx, conn.App.ServicePrincipalID, user.ID, "00000000-0000-0000-0000-000000000000"); err != nil {
		t.Fatal(err)
	}
	groups, err := look.SearchGroups(ctx, graphapi.GroupQuery{Search: "All Users"})
	if err != nil || len(groups.Groups) == 0 {
		t.Fatalf("find All Users: %v", err)
	}
	var lines []string
	report := func(ev steps.Event) {
		if ev.Kind == steps.StepDone {
			lines = append(lines, ev.Message)
		}
	}
	for range 2 {
		if _, err := a.GiveAccess(ctx, name, steps.PeopleRequest{Assign: []string{user.ID, "All Users"}}, nil, report); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"1 assigned to the app; 1 had access already", "2 had access already"}; !slices.Equal(lines, want) {
		t.Errorf("runs said %q, want %q", lines, want)
	}
	if got := assignedTo(t, look, conn.App.ServicePrincipalID); len(got) != 2 {
		t.Errorf("%d assignments, want 2", len(got))
	}
	saved, _ := a.Connection(name)
	if len(saved.State.Assigned) != 2 {
		t.Errorf("recorded %+v, want both", saved.State.Assigned)
	}
	// The run that assigned the group left a change record; the one that
	// found everything in place wrote nothing, and left none.
	records, _ := filepath.Glob(filepath.Join(w.dir, "records", "*-assignment-*.md"))
	if len(records) != 1 {
		t.Fatalf("%d assignment change records, want 1: %q", len(records), records)
	}
	b, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"assigned Group All Users", groups.Groups[0].ID, "appRoleAssignedTo", w.info.AdminUPN} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the change record lacks %q:\n%s", want, b)
		}
	}
}

func TestGiveAccessRefusesBeforeWriting(t *testing.T) {
	w := newWorld(t, 10, 3, sim.Faults{})
	a := w.app(nil)
	name := w.mustSetup(a, "directory-sync")
	conn, _ := a.Connection(name)
	look := w.adminGraph(a)
	for _, tc := range []struct {
		req  steps.PeopleRequest
		want string
	}{
		{steps.PeopleRequest{Assign: []string{w.info.UserUPN, "nobody@" + w.info.TenantDomain}}, "no user signs in as nobody@"},
		{steps.PeopleRequest{Assign: []string{"No Such Group"}}, `no group is named "No Such Group"`},
		{steps.PeopleRequest{Assign: []string{"6f1c9a2e-0000-4000-8000-000000000000"}}, "no user or group has the object ID"},
		{steps.PeopleRequest{Members: []string{w.info.UserUPN}}, "creates no group to add members to"},
	} {
		_, err := a.GiveAccess(context.Background(), name, tc.req, nil, nil)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want an input error saying %q", tc.req, err, tc.want)
		}
	}
	if got := assignedTo(t, look, conn.App.ServicePrincipalID); len(got) != 0 {
		t.Errorf("a refused run assigned %d", len(got))
	}
}
