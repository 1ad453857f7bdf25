package graphapi_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	msgroups "github.com/microsoftgraph/msgraph-sdk-go/groups"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestGroupPaging(t *testing.T) {
	srv := startSim(t, sim.Options{Users: 60, Groups: 12})
	c, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)

	tests := []struct {
		name      string
		query     graphapi.GroupQuery
		wantPages int // at least
	}{
		{name: "all groups, small pages", query: graphapi.GroupQuery{Top: 5}, wantPages: 3},
		{name: "search", query: graphapi.GroupQuery{Search: "All", Top: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			page, err := c.SearchGroups(ctx, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			total := page.Count
			seen := map[string]bool{}
			pages := 0
			for {
				pages++
				if len(page.Groups) > tt.query.Top {
					t.Fatalf("page of %d with $top %d", len(page.Groups), tt.query.Top)
				}
				for _, g := range page.Groups {
					if seen[g.ID] {
						t.Fatalf("group %s twice", g.ID)
					}
					seen[g.ID] = true
					if tt.query.Search != "" && !strings.Contains(strings.ToLower(g.DisplayName), strings.ToLower(tt.query.Search)) {
						t.Errorf("%q does not match %q", g.DisplayName, tt.query.Search)
					}
				}
				if page.NextLink == "" {
					break
				}
				if !strings.HasPrefix(page.NextLink, "https://") {
					t.Fatalf("nextLink not absolute: %s", page.NextLink)
				}
				if page, err = c.SearchGroups(ctx, graphapi.GroupQuery{NextLink: page.NextLink}); err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
			}
			if total < 1 || int64(len(seen)) != total {
				t.Errorf("saw %d groups, @odata.count %d", len(seen), total)
			}
			if pages < tt.wantPages {
				t.Errorf("%d pages, want at least %d", pages, tt.wantPages)
			}
			if n := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Service == "graph" }); n != pages {
				t.Errorf("%d Graph requests for %d pages", n, pages)
			}
		})
	}
}

func TestGroupMembers(t *testing.T) {
	srv := startSim(t, sim.Options{Users: 60})
	c, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)
	everyone, err := srv.GroupID("All Users")
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.GroupMemberCount(ctx, everyone, true)
	if err != nil {
		t.Fatalf("transitive count: %v", err)
	}
	direct, err := c.GroupMemberCount(ctx, everyone, false)
	if err != nil {
		t.Fatalf("direct count: %v", err)
	}
	if want < 60 || direct < 1 || direct > want {
		t.Fatalf("counts: transitive %d, direct %d", want, direct)
	}

	srv.ResetRequests()
	var users, pages int
	err = c.GroupUsers(ctx, everyone, graphapi.MemberQuery{PageSize: 25, Select: []string{"id", "displayName", "userPrincipalName", "accountEnabled"}},
		func(page []graphapi.User) error {
			pages++
			users += len(page)
			for _, u := range page {
				if u.ID == "" || u.UserPrincipalName == "" || u.AccountEnabled == nil {
					t.Fatalf("incomplete user %+v", u)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if int64(users) > want || users < 60 || pages < 3 {
		t.Fatalf("%d users in %d pages, %d members", users, pages, want)
	}
	// Every page, not only the first, carries the ConsistencyLevel header,
	// or the sim would refuse the cast.
	if n := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Status != 200 }); n != 0 {
		t.Errorf("%d failed requests", n)
	}

	t.Run("callback stops the walk", func(t *testing.T) {
		stop := errors.New("enough")
		calls := 0
		err := c.GroupUsers(ctx, everyone, graphapi.MemberQuery{PageSize: 10}, func([]graphapi.User) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
	})
}

func TestGraphRefusesBadQueries(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)
	everyone, err := srv.GroupID("All Users")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("$top 1000 on members", func(t *testing.T) {
		err := c.GroupUsers(ctx, everyone, graphapi.MemberQuery{PageSize: 1000}, func([]graphapi.User) error { return nil })
		e := wantKind(t, err, graphapi.KindBadInput, "Request_UnsupportedQuery")
		if e.Status != 400 {
			t.Errorf("status %d", e.Status)
		}
	})
	t.Run("$top 1000 on groups", func(t *testing.T) {
		_, err := c.SearchGroups(ctx, graphapi.GroupQuery{Top: 1000})
		wantKind(t, err, graphapi.KindBadInput, "Request_UnsupportedQuery")
	})
	t.Run("$search without ConsistencyLevel", func(t *testing.T) {
		search := `"displayName:All"`
		_, err := c.SDK().Groups().Get(ctx, &msgroups.GroupsRequestBuilderGetRequestConfiguration{
			QueryParameters: &msgroups.GroupsRequestBuilderGetQueryParameters{Search: &search},
		})
		e := wantKind(t, err, graphapi.KindBadInput, "Request_UnsupportedQuery")
		if !strings.Contains(e.Message, "ConsistencyLevel") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("unknown group", func(t *testing.T) {
		_, err := c.GetGroup(ctx, "00000000-0000-0000-0000-000000000001")
		wantKind(t, err, graphapi.KindNotFound, "Request_ResourceNotFound")
	})
}

func TestGroupUsersOverlapsFetchAndWork(t *testing.T) {
	const latency, work = 100 * time.Millisecond, 80 * time.Millisecond
	srv := startSim(t, sim.Options{Users: 60})
	c, _ := adminClient(t, srv, nil)
	everyone, err := srv.GroupID("All Users")
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(sim.Faults{Latency: latency})
	start := time.Now()
	pages := 0
	err = c.GroupUsers(ctxT(t), everyone, graphapi.MemberQuery{PageSize: 15}, func([]graphapi.User) error {
		pages++
		time.Sleep(work) // a store write
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	sequential := time.Duration(pages) * (latency + work)
	if pages < 4 || took > sequential-time.Duration(pages-2)*work {
		t.Fatalf("%d pages took %s; fetching one after the other would take %s", pages, took, sequential)
	}
}
