package sim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// deltaRound follows a delta round from u to its deltaLink and returns the
// items of every page.
func (e *env) deltaRound(u string, hdr map[string]string) (items []map[string]any, pages int, deltaLink string) {
	e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = e.graph(u)
	}
	for pages = 1; ; pages++ {
		body := e.get(u, hdr)
		items = append(items, values(e.t, body)...)
		next, _ := body["@odata.nextLink"].(string)
		delta, _ := body["@odata.deltaLink"].(string)
		switch {
		case next != "" && delta != "":
			e.t.Fatalf("page has both nextLink and deltaLink")
		case delta != "":
			if !strings.HasPrefix(delta, e.info.GraphURL+"/") || !strings.Contains(delta, "$deltatoken=") {
				e.t.Fatalf("deltaLink %q", delta)
			}
			return items, pages, delta
		case next == "":
			e.t.Fatalf("page %d of %s has neither nextLink nor deltaLink", pages, u)
		}
		if !strings.HasPrefix(next, e.info.GraphURL+"/") || !strings.Contains(next, "$skiptoken=") {
			e.t.Fatalf("nextLink %q", next)
		}
		u = next
	}
}

// byID indexes delta items; a group that spans pages has its members@delta
// merged, as clients do.
func byID(t testing.TB, items []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, it := range items {
		id := it["id"].(string)
		prev, ok := out[id]
		if !ok {
			out[id] = it
			continue
		}
		m, _ := prev["members@delta"].([]any)
		add, _ := it["members@delta"].([]any)
		prev["members@delta"] = append(m, add...)
	}
	return out
}

// memberIDs returns the members@delta of a group item: added and removed.
func memberIDs(item map[string]any) (added, removed []string) {
	list, _ := item["members@delta"].([]any)
	for _, v := range list {
		m := v.(map[string]any)
		if _, gone := m["@removed"]; gone {
			removed = append(removed, m["id"].(string))
		} else {
			added = append(added, m["id"].(string))
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestDeltaInitialThenChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 30, Groups: 4})
	users := e.srv.UserIDs()
	all, _ := e.srv.GroupID("All Users")
	team, _ := e.srv.GroupID("Sales Team 1")
	other, _ := e.srv.GroupID("Marketing Team 2")
	page7 := map[string]string{"Prefer": "odata.maxpagesize=7"}

	uItems, pages, uLink := e.deltaRound("/users/delta?$select=displayName,accountEnabled", page7)
	if got := byID(t, uItems); len(got) != 32 || len(uItems) != 32 {
		t.Fatalf("initial users round: %d items, %d distinct, want 32", len(uItems), len(got))
	}
	if pages != 5 {
		t.Errorf("initial users round took %d pages, want 5 at 7 per page", pages)
	}
	for _, u := range uItems {
		if _, ok := u["accountEnabled"]; !ok || u["displayName"] == nil {
			t.Fatalf("user item lacks selected properties: %v", u)
		}
	}
	gItems, _, gLink := e.deltaRound("/groups/delta?$select=displayName,members", page7)
	groups := byID(t, gItems)
	if len(groups) != 5 {
		t.Fatalf("initial groups round: %d groups, want 5", len(groups))
	}
	if added, _ := memberIDs(groups[all]); !slices.Equal(added, sorted(users...)) {
		t.Errorf("All Users members@delta has %d members, want all %d", len(added), len(users))
	}

	// The mutations a sync must see, and nothing else.
	joiner, leaver, disabled, deleted, renamed := users[5], users[3], users[7], users[8], users[9]
	steps := []error{
		e.srv.AddMember(team, joiner),
		e.srv.RemoveMember(other, leaver),
		e.srv.DisableUser(disabled),
		e.srv.DeleteUser(deleted),
		e.srv.RenameUser(renamed, "Renamed Person"),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	created := e.srv.CreateUser("Nia Newcomer")

	changes, _, uLink2 := e.deltaRound(uLink, nil)
	got := byID(t, changes)
	if !slices.Equal(sorted(slices.Collect(mapKeys(got))...), sorted(disabled, deleted, renamed, created)) {
		t.Fatalf("users change round has %v, want disabled, deleted, renamed, created", slices.Collect(mapKeys(got)))
	}
	if got[disabled]["accountEnabled"] != false {
		t.Errorf("disabled user: %v", got[disabled])
	}
	if rm, _ := got[deleted]["@removed"].(map[string]any); rm["reason"] != "changed" {
		t.Errorf("deleted user: %v, want @removed reason changed (soft delete)", got[deleted])
	}
	if got[renamed]["displayName"] != "Renamed Person" || got[created]["displayName"] != "Nia Newcomer" {
		t.Errorf("renamed %v, created %v", got[renamed], got[created])
	}

	gChanges, _, _ := e.deltaRound(gLink, nil)
	gGot := byID(t, gChanges)
	// The deleted user left All Users and the one team it was in.
	var deletedFrom string
	for id, g := range groups {
		if added, _ := memberIDs(g); id != all && slices.Contains(added, deleted) {
			deletedFrom = id
		}
	}
	want := map[string][2][]string{
		team:        {{joiner}, nil},
		other:       {nil, {leaver}},
		all:         {nil, {deleted}},
		deletedFrom: {nil, {deleted}},
	}
	if len(gGot) != len(want) {
		t.Errorf("groups change round has %d groups, want %d: %v", len(gGot), len(want), gChanges)
	}
	for id, w := range want {
		added, removed := memberIDs(gGot[id])
		if !slices.Equal(added, w[0]) || !slices.Equal(removed, w[1]) {
			t.Errorf("group %s: added %v removed %v, want %v %v", groups[id]["displayName"], added, removed, w[0], w[1])
		}
	}
	for _, g := range gChanges {
		for _, m := range g["members@delta"].([]any) {
			mm := m.(map[string]any)
			if rm, ok := mm["@removed"].(map[string]any); ok && rm["reason"] != "deleted" {
				t.Errorf("removed member %v: reason %v, want deleted", mm["id"], rm["reason"])
			}
			if mm["@odata.type"] != "#microsoft.graph.user" {
				t.Errorf("member %v: @odata.type %v", mm["id"], mm["@odata.type"])
			}
		}
	}

	if again, pages, _ := e.deltaRound(uLink2, nil); len(again) != 0 || pages != 1 {
		t.Errorf("round without changes: %d items over %d pages, want none on one page", len(again), pages)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestDeltaSpellingsLatestAndFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 12, Groups: 2})
	users := e.srv.UserIDs()

	for _, seg := range []string{"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"} {
		items, _, link := e.deltaRound("/users/"+seg+"?$select=displayName", nil)
		if len(items) != 14 || !strings.Contains(link, "/users/"+seg+"?") {
			t.Errorf("%s: %d items, deltaLink %s", seg, len(items), link)
		}
	}

	latest := e.get("/users/delta?$deltatoken=latest&$select=displayName", nil)
	if len(values(t, latest)) != 0 || latest["@odata.deltaLink"] == nil || latest["@odata.nextLink"] != nil {
		t.Fatalf("$deltatoken=latest: %v, want only a deltaLink", latest)
	}
	e.srv.RenameUser(users[4], "Only Change")
	items, _, _ := e.deltaRound(latest["@odata.deltaLink"].(string), nil)
	if len(items) != 1 || items[0]["displayName"] != "Only Change" {
		t.Errorf("after latest: %v, want the one rename", items)
	}

	filter := url.QueryEscape(fmt.Sprintf("id eq '%s' or id eq '%s'", users[1], users[3]))
	items, _, link := e.deltaRound("/users/delta?$filter="+filter, nil)
	if got := byID(t, items); len(got) != 2 || got[users[1]] == nil || got[users[3]] == nil {
		t.Errorf("filtered round: %v", items)
	}
	e.srv.RenameUser(users[2], "Not Tracked")
	e.srv.RenameUser(users[3], "Tracked")
	items, _, _ = e.deltaRound(link, nil)
	if len(items) != 1 || items[0]["id"] != users[3] {
		t.Errorf("filtered change round: %v, want only %s (the filter is kept in the token)", items, users[3])
	}
}

func TestDeltaSplitsLargeGroupAcrossPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 40, Groups: 3})
	all, _ := e.srv.GroupID("All Users")
	items, pages, _ := e.deltaRound("/groups/delta", map[string]string{"Prefer": "odata.maxpagesize=2"})
	appearances := 0
	for _, it := range items {
		if it["id"] == all {
			appearances++
			if n := len(it["members@delta"].([]any)); n > 5 {
				t.Errorf("a page carries %d member links, more than 2.5 × the page size", n)
			}
		}
	}
	if appearances < 2 {
		t.Errorf("All Users appeared on %d pages; a group larger than a page must be split", appearances)
	}
	added, _ := memberIDs(byID(t, items)[all])
	if !slices.Equal(added, sorted(e.srv.UserIDs()...)) {
		t.Errorf("merged members@delta: %d members, want %d", len(added), 42)
	}
	if pages < appearances {
		t.Errorf("%d pages for %d appearances", pages, appearances)
	}
}

func TestDeltaSkipsObjectsStillReplicating(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3})
	e.admin()
	e.srv.SetFaults(sim.Faults{ReplicationDelay: 400 * time.Millisecond})
	fresh := e.srv.CreateUser("Late Arrival")
	items, _, link := e.deltaRound("/users/delta", nil)
	if byID(t, items)[fresh] != nil {
		t.Fatalf("a user inside the replication delay was listed")
	}
	time.Sleep(450 * time.Millisecond)
	items, _, _ = e.deltaRound(link, nil)
	if byID(t, items)[fresh] == nil {
		t.Errorf("the user skipped while replicating never arrived: %v", items)
	}
}

func TestDeltaTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3})
	_, _, link := e.deltaRound("/users/delta?$select=displayName,jobTitle", nil)
	e.srv.SetFaults(sim.Faults{DeltaTokenTTL: time.Millisecond})
	time.Sleep(10 * time.Millisecond)
	r := e.send(http.MethodGet, link, e.admin(), nil, nil)
	if r.status != http.StatusGone {
		t.Fatalf("expired deltaLink: %s, want 410", r)
	}
	if code := graphError(t, r); code != "syncStateNotFound" {
		t.Errorf("code %q, want syncStateNotFound", code)
	}
	loc := r.header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, e.info.GraphURL+"/users/delta?") {
		t.Fatalf("Location %q", loc)
	}
	if v, ok := u.Query()["$deltatoken"]; !ok || v[0] != "" || u.Query().Get("$select") != "displayName,jobTitle" {
		t.Errorf("Location %q: want an empty $deltatoken and the original $select", loc)
	}
	e.srv.SetFaults(sim.Faults{})
	if items, _, _ := e.deltaRound(loc, nil); len(items) != 5 {
		t.Errorf("full resync from Location: %d items, want 5", len(items))
	}
}

func TestDeltaRoundSurvivesChangesMidRound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 30, Groups: 2})
	users := e.srv.UserIDs()
	all, _ := e.srv.GroupID("All Users")
	hdr := map[string]string{"Prefer": "odata.maxpagesize=4"}
	for _, set := range []string{"users", "groups"} {
		t.Run(set, func(t *testing.T) {
			e := e.with(t)
			body := e.get("/"+set+"/delta", hdr)
			seen := byID(t, values(t, body))
			// Deleting users already listed shifts everything after them.
			for _, id := range users[2:5] {
				if seen[id] != nil || set == "groups" {
					e.srv.DeleteUser(id)
				}
			}
			if set == "users" {
				users = slices.DeleteFunc(slices.Clone(users), func(id string) bool { return seen[id] != nil })
			}
			items, _, link := e.deltaRound(body["@odata.nextLink"].(string), hdr)
			for id, it := range byID(t, items) {
				if seen[id] == nil {
					seen[id] = it
				} else if m, ok := it["members@delta"].([]any); ok {
					prev, _ := seen[id]["members@delta"].([]any)
					seen[id]["members@delta"] = append(prev, m...)
				}
			}
			if set == "users" {
				for _, id := range e.srv.UserIDs() {
					if seen[id] == nil {
						t.Errorf("user %s was skipped by the round", id)
					}
				}
			} else {
				added, _ := memberIDs(seen[all])
				for _, id := range e.srv.UserIDs() {
					if !slices.Contains(added, id) {
						t.Errorf("member %s of All Users was skipped by the round", id)
					}
				}
			}
			// Whatever changed during the round comes again in the next.
			next, _, _ := e.deltaRound(link, nil)
			if len(next) == 0 {
				t.Errorf("changes made during the round are not replayed in the next")
			}
		})
	}
}
