package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// setupFile runs a whole setup of a profile file of docs/profiles.
func (w *world) setupFile(a *App, file string, people steps.PeopleRequest) string {
	w.t.Helper()
	p, err := steps.LoadProfile("../docs/profiles/" + file)
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := a.NewSetup(p, w.info.TenantDomain)
	if err != nil {
		w.t.Fatal(err)
	}
	s.People = people
	ctx := context.Background()
	if err := s.SignIn(ctx, nil); err != nil {
		w.t.Fatal(err)
	}
	if _, err := s.Preflight(ctx, nil); err != nil {
		w.t.Fatal(err)
	}
	if err := s.Execute(ctx, nil); err != nil {
		w.t.Fatalf("setup %s: %v", file, err)
	}
	return s.Connection().Name
}

// TestExtraGroupsAndEmptyGroups is the password manager's rule: one sync
// group (the one the profile creates) plus extra groups, which bring no
// users of their own; a sync group with no users is refused unless asked
// for.
func TestExtraGroupsAndEmptyGroups(t *testing.T) {
	w := newWorld(t, 20, 4, sim.Faults{})
	a := w.app(nil)
	ctx := context.Background()
	name := w.setupFile(a, "password-manager.json", steps.PeopleRequest{})
	look := w.adminGraph(a)
	page, err := look.SearchGroups(ctx, graphapi.GroupQuery{Search: "All Users"})
	if err != nil || len(page.Groups) != 1 {
		t.Fatalf("find All Users: %v", err)
	}
	extra := page.Groups[0]

	// The created group has no one yet: refused, headless.
	_, _, err = a.PickGroups(ctx, name, []string{extra.ID}, false)
	var empty *EmptyGroupError
	var ie *InputError
	if !errors.As(err, &empty) || !errors.As(err, &ie) || !strings.Contains(err.Error(), "--allow-empty") {
		t.Fatalf("pick with an empty sync group: err = %v, want an EmptyGroupError", err)
	}
	_, picked, err := a.PickGroups(ctx, name, []string{extra.ID}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(picked) != 2 || picked[0].Extra || !picked[1].Extra || picked[1].ID != extra.ID {
		t.Fatalf("picked %+v, want the created group then All Users as an extra group", picked)
	}
	if _, _, err := a.Sync(ctx, name, SyncRequest{}, nil); !errors.As(err, &empty) {
		t.Fatalf("first sync of an empty group: err = %v, want it refused", err)
	}
	// Put one user in the sync group: only that user is synced, not the
	// extra group's everyone.
	if _, err := a.GiveAccess(ctx, name, steps.PeopleRequest{Members: []string{w.info.UserUPN}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.PickGroups(ctx, name, []string{extra.ID}, false); err != nil {
		t.Fatalf("pick once the sync group has a user: %v", err)
	}
	_, res, err := a.Sync(ctx, name, SyncRequest{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan == nil || res.Plan.Created != 1 {
		t.Errorf("sync created %+v, want the sync group's one user only", res.Plan)
	}
}

func TestGroupsOfAProfileThatDoesNotReadThem(t *testing.T) {
	w := newWorld(t, 5, 2, sim.Faults{})
	a := w.app(nil)
	name := w.setupFile(a, "coworking.json", steps.PeopleRequest{})
	for _, call := range []func() error{
		func() error { _, err := a.SearchGroups(context.Background(), name, graphapi.GroupQuery{}); return err },
		func() error { _, _, err := a.PickGroups(context.Background(), name, []string{"x"}, false); return err },
	} {
		err := call()
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "does not read groups") {
			t.Errorf("err = %v, want an input error saying the profile does not read groups", err)
		}
	}
}

func TestPickGroupsLimitIsWordedForOne(t *testing.T) {
	p := &steps.Profile{Name: "one", Sync: &steps.SyncSpec{Groups: "pick", MaxGroups: 1}}
	_, err := steps.PickGroups(context.Background(), nil, nil, p, []string{"a", "b"})
	if err == nil || !strings.Contains(err.Error(), "allows only 1 group;") || strings.Contains(err.Error(), "1 groups") {
		t.Errorf("err = %v, want \"allows only 1 group\"", err)
	}
}

// TestPlaceholderCallbacksRefusedOnMicrosoftClouds: on a real cloud a
// setup with the profile's placeholder callback stops before the sign-in;
// the vendor's URL given instead goes through.
func TestPlaceholderCallbacksRefusedOnMicrosoftClouds(t *testing.T) {
	a, err := New(Options{ConfigDir: t.TempDir(), Secrets: store.NewMemKeyring(), Cloud: "public"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := steps.LoadProfile("sso")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.NewSetup(p, "contoso.onmicrosoft.com")
	var pe *steps.PlaceholderError
	var ie *InputError
	if !errors.As(err, &pe) || !errors.As(err, &ie) {
		t.Fatalf("setup of sso with its placeholder callback: err = %v, want a PlaceholderError", err)
	}
	p.RedirectURIs.Web = []string{"https://sso.fabrikam-vendor.com/auth/callback"}
	if _, err := a.NewSetup(p, "contoso.onmicrosoft.com"); err != nil {
		t.Fatalf("with the vendor's callback: %v", err)
	}
	demo, err := New(Options{ConfigDir: t.TempDir(), Secrets: store.NewMemKeyring(), Cloud: "public", AllowPlaceholders: true})
	if err != nil {
		t.Fatal(err)
	}
	p, _ = steps.LoadProfile("sso")
	if _, err := demo.NewSetup(p, "contoso.onmicrosoft.com"); err != nil {
		t.Fatalf("the demo keeps placeholders: %v", err)
	}
}
