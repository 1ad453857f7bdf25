package graphapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// deltaReadScopes lets the admin read what sync reads.
var deltaReadScopes = []string{"User.Read.All", "GroupMember.Read.All", "Group.Read.All"}

func collectUsers(t *testing.T, c *graphapi.Client, q graphapi.DeltaQuery) (map[string]graphapi.UserChange, string, int) {
	t.Helper()
	got := map[string]graphapi.UserChange{}
	pages := 0
	link, err := c.UsersDelta(ctxT(t), q, func(p graphapi.DeltaPage[graphapi.UserChange]) error {
		pages++
		if (p.NextLink == "") == (p.DeltaLink == "") {
			t.Fatalf("page has nextLink %q and deltaLink %q", p.NextLink, p.DeltaLink)
		}
		for _, u := range p.Items {
			got[u.ID] = u
		}
		return nil
	})
	if err != nil {
		t.Fatalf("users delta: %v", err)
	}
	if !strings.HasPrefix(link, "https://") {
		t.Fatalf("deltaLink %q", link)
	}
	return got, link, pages
}

func TestUsersDelta(t *testing.T) {
	srv := startSim(t, sim.Options{Users: 150})
	c, _ := adminClient(t, srv, nil, deltaReadScopes...)

	initial, link, pages := collectUsers(t, c, graphapi.DeltaQuery{PageSize: 40, Select: []string{"id", "displayName", "userPrincipalName", "accountEnabled"}})
	if len(initial) < 150 || pages < 4 {
		t.Fatalf("initial round: %d users in %d pages", len(initial), pages)
	}
	ids := srv.UserIDs()
	renamed, disabled, deleted := ids[10], ids[11], ids[12]
	if err := srv.RenameUser(renamed, "Renamed Person"); err != nil {
		t.Fatal(err)
	}
	if err := srv.DisableUser(disabled); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteUser(deleted); err != nil {
		t.Fatal(err)
	}
	created := srv.CreateUser("New Hire")

	srv.ResetRequests()
	changes, next, _ := collectUsers(t, c, graphapi.DeltaQuery{DeltaLink: link})
	if n := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Service == "graph" }); n > 2 {
		t.Errorf("incremental round took %d requests", n)
	}
	tests := []struct {
		name, id string
		check    func(graphapi.UserChange) bool
	}{
		{"renamed", renamed, func(u graphapi.UserChange) bool { return u.DisplayName == "Renamed Person" && u.Removed == "" }},
		{"disabled", disabled, func(u graphapi.UserChange) bool { return u.AccountEnabled != nil && !*u.AccountEnabled }},
		{"deleted", deleted, func(u graphapi.UserChange) bool { return u.Removed == "changed" || u.Removed == "deleted" }},
		{"created", created, func(u graphapi.UserChange) bool { return u.DisplayName == "New Hire" && u.Removed == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := changes[tt.id]
			if !ok {
				t.Fatalf("no change for %s in %d changes", tt.id, len(changes))
			}
			if !tt.check(u) {
				t.Fatalf("change %+v", u)
			}
		})
	}
	if len(changes) > 10 {
		t.Errorf("incremental round returned %d users for 4 changes", len(changes))
	}
	if next == link {
		t.Errorf("deltaLink did not advance")
	}
}

func TestGroupsDelta(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil, deltaReadScopes...)
	ctx := ctxT(t)
	everyone, err := srv.GroupID("All Users")
	if err != nil {
		t.Fatal(err)
	}
	round := func(q graphapi.DeltaQuery) (map[string]graphapi.GroupChange, string) {
		got := map[string]graphapi.GroupChange{}
		link, err := c.GroupsDelta(ctx, q, func(p graphapi.DeltaPage[graphapi.GroupChange]) error {
			for _, g := range p.Items {
				prev := got[g.ID]
				g.Members = append(prev.Members, g.Members...) // a group can span pages
				got[g.ID] = g
			}
			return nil
		})
		if err != nil {
			t.Fatalf("groups delta: %v", err)
		}
		return got, link
	}
	initial, link := round(graphapi.DeltaQuery{PageSize: 3, Select: []string{"id", "displayName", "members"}})
	all, ok := initial[everyone]
	if !ok || len(all.Members) < 50 {
		t.Fatalf("All Users in initial round: %d members", len(all.Members))
	}
	for _, m := range all.Members {
		if m.Type == "" || m.Removed {
			t.Fatalf("initial member %+v", m)
		}
	}

	leaver := srv.UserIDs()[5]
	joiner := srv.CreateUser("Joiner")
	if err := srv.RemoveMember(everyone, leaver); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddMember(everyone, joiner); err != nil {
		t.Fatal(err)
	}
	changes, _ := round(graphapi.DeltaQuery{DeltaLink: link})
	g, ok := changes[everyone]
	if !ok {
		t.Fatalf("All Users not in changes %+v", changes)
	}
	var removed, added bool
	for _, m := range g.Members {
		switch {
		case m.ID == leaver && m.Removed:
			removed = true
		case m.ID == joiner && !m.Removed && m.Type == "user":
			added = true
		}
	}
	if !removed || !added {
		t.Fatalf("members@delta %+v: removed %v added %v", g.Members, removed, added)
	}
}

func TestExpiredDeltaLink(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil, deltaReadScopes...)
	_, link, _ := collectUsers(t, c, graphapi.DeltaQuery{})
	srv.SetFaults(sim.Faults{DeltaTokenTTL: time.Millisecond})
	time.Sleep(5 * time.Millisecond) // let the token age past its TTL
	_, err := c.UsersDelta(ctxT(t), graphapi.DeltaQuery{DeltaLink: link}, func(graphapi.DeltaPage[graphapi.UserChange]) error { return nil })
	wantKind(t, err, graphapi.KindDeltaExpired, "")
}
