package sim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestPagingReturnsEveryItemOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 25, Groups: 9})
	for _, tc := range []struct {
		path  string
		total int
	}{
		{"/users?$top=7&$select=id,displayName", 27},
		{"/groups?$top=4&$select=id,displayName", 10},
		{"/users?$top=999", 27},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e := e.with(t)
			orig, _ := url.Parse(e.graph(tc.path))
			seen := map[string]int{}
			pages := 0
			for next := e.graph(tc.path); next != ""; {
				pages++
				body := e.get(next, nil)
				for _, v := range values(t, body) {
					seen[v["id"].(string)]++
				}
				next, _ = body["@odata.nextLink"].(string)
				if next == "" {
					break
				}
				if !strings.HasPrefix(next, e.info.GraphURL+"/") {
					t.Fatalf("nextLink %q is not absolute under %s", next, e.info.GraphURL)
				}
				u, err := url.Parse(next)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range orig.Query() {
					if !slices.Equal(u.Query()[k], v) {
						t.Errorf("nextLink %q lost %s=%v", next, k, v)
					}
				}
				if u.Query().Get("$skiptoken") == "" {
					t.Errorf("nextLink %q has no $skiptoken", next)
				}
			}
			if len(seen) != tc.total {
				t.Errorf("got %d distinct items, want %d", len(seen), tc.total)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s returned %d times", id, n)
				}
			}
			top, _ := strconv.Atoi(orig.Query().Get("$top"))
			if want := (tc.total + top - 1) / top; pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3, Groups: 2})
	ids := make([]string, 51)
	for i := range ids {
		ids[i] = fmt.Sprintf("id eq '%d'", i)
	}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		code, msg  string
	}{
		{"top above 999", "/users?$top=1000", nil, 400, "Request_UnsupportedQuery",
			"Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"top zero", "/groups?$top=0", nil, 400, "Request_UnsupportedQuery", "Invalid page size specified: '0'."},
		{"search without ConsistencyLevel", `/users?$search="displayName:megan"`, nil, 400, "Request_UnsupportedQuery",
			"Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"},
		{"count segment without ConsistencyLevel", "/users/$count", nil, 400, "Request_BadRequest", "$count is not currently supported."},
		{"endsWith without advanced query", "/users?$filter=" + url.QueryEscape("endsWith(mail,'@contoso.example.com')"), nil, 400,
			"Request_UnsupportedQuery", "Operator 'endsWith' is not supported because the required parameters might be missing."},
		{"skip", "/users?$skip=5", nil, 400, "Request_BadRequest", "'$skip' is not supported"},
		{"delta top", "/users/delta?$top=5", nil, 400, "Request_UnsupportedQuery", "$top"},
		{"delta orderby", "/users/delta?$orderby=displayName", nil, 400, "Request_UnsupportedQuery", "$orderby"},
		{"delta filter on a property", "/users/delta?$filter=" + url.QueryEscape("displayName eq 'x'"), nil, 400, "Request_UnsupportedQuery", "id eq"},
		{"delta filter on 51 ids", "/groups/delta?$filter=" + url.QueryEscape(strings.Join(ids, " or ")), nil, 400, "Request_UnsupportedQuery", "50"},
		{"delta expand", "/groups/delta?$expand=owners", nil, 400, "Request_UnsupportedQuery", "$expand"},
		{"delta select stored outside the directory", "/users/delta?$select=skills", nil, 501, "NotImplemented", ""},
		{"delta bad token", "/users/delta?$deltatoken=garbage", nil, 400, "Request_BadRequest", ""},
		{"delta token of the other set", "", nil, 400, "Request_BadRequest", ""},
		{"transitive cast without advanced query", "/groups/{all}/transitiveMembers/microsoft.graph.user", nil, 400, "Request_UnsupportedQuery", "$count=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			path := tc.path
			if path == "" {
				// A users deltaLink replayed against groups.
				link := e.get("/users/delta?$deltatoken=latest", nil)["@odata.deltaLink"].(string)
				path = "/groups/delta?" + strings.SplitN(link, "?", 2)[1]
			}
			if strings.Contains(path, "{all}") {
				all, _ := e.srv.GroupID("All Users")
				path = strings.ReplaceAll(path, "{all}", all)
			}
			r := e.send(http.MethodGet, e.graph(path), e.admin(), tc.hdr, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code := graphError(t, r); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
			if !strings.Contains(string(r.body), tc.msg) {
				t.Errorf("message does not contain %q: %s", tc.msg, r.body)
			}
		})
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 40, Groups: 3})
	tok := e.admin()

	body := e.get("/users?$count=true", nil)
	if _, ok := body["@odata.count"]; ok {
		t.Errorf("$count=true without ConsistencyLevel: @odata.count present, want it ignored")
	}
	body = e.get("/users?$count=true&$top=5", eventual)
	if n, _ := body["@odata.count"].(float64); n != 42 {
		t.Errorf("@odata.count = %v, want 42", body["@odata.count"])
	}
	next := body["@odata.nextLink"].(string)
	if _, ok := e.get(next, eventual)["@odata.count"]; ok {
		t.Errorf("@odata.count on the second page; it belongs on the first only")
	}

	r := e.send(http.MethodGet, e.graph("/users/$count"), tok, eventual, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || string(r.body) != "42" {
		t.Errorf("/users/$count with ConsistencyLevel: %d %q %q, want 200 text/plain 42", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = e.send(http.MethodGet, e.graph("/users/$count"), tok, nil, nil)
	if r.status != http.StatusBadRequest || graphError(t, r) != "Request_BadRequest" {
		t.Errorf("/users/$count without ConsistencyLevel: %s", r)
	}
}

func TestTransitiveMembersCastListsEachUserOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 6})
	users := e.srv.UserIDs()
	mk := func(name string) string {
		r := e.send(http.MethodPost, e.graph("/groups"), e.admin(), nil, map[string]any{
			"displayName": name, "mailNickname": strings.ToLower(name), "mailEnabled": false, "securityEnabled": true})
		if r.status != http.StatusCreated {
			t.Fatalf("create group: %s", r)
		}
		return r.json(t)["id"].(string)
	}
	outer, mid, inner := mk("Outer"), mk("Middle"), mk("Inner")
	for _, m := range [][2]string{
		{outer, users[2]}, {outer, users[3]}, {outer, mid},
		{mid, users[3]}, {mid, users[4]}, {mid, inner},
		{inner, users[4]}, {inner, users[5]}, {inner, outer}, // a cycle back to the top
	} {
		if err := e.srv.AddMember(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	path := "/groups/" + outer + "/transitiveMembers/microsoft.graph.user?$count=true&$top=2&$select=id,displayName"
	seen := map[string]int{}
	for next := e.graph(path); next != ""; {
		body := e.get(next, eventual)
		for _, v := range values(t, body) {
			seen[v["id"].(string)]++
			if typ, ok := v["@odata.type"]; ok && typ != "#microsoft.graph.user" {
				t.Errorf("item %v: @odata.type %v", v["id"], v["@odata.type"])
			}
		}
		next, _ = body["@odata.nextLink"].(string)
	}
	want := []string{users[2], users[3], users[4], users[5]}
	if len(seen) != len(want) {
		t.Errorf("got %d users, want %d: %v", len(seen), len(want), seen)
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("user %s listed %d times, want once", id, seen[id])
		}
	}
	for _, v := range values(t, e.get("/groups/"+outer+"/members?$select=id", nil)) {
		if v["@odata.type"] != "#microsoft.graph.user" && v["@odata.type"] != "#microsoft.graph.group" {
			t.Errorf("member %v under $select lost its @odata.type", v)
		}
	}
	r := e.send(http.MethodGet, e.graph("/groups/"+outer+"/transitiveMembers/$count"), e.admin(), eventual, nil)
	if string(r.body) != "6" { // four users and two groups
		t.Errorf("transitiveMembers/$count = %q, want 6", r.body)
	}
}

func TestThrottlingAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	tok := e.admin()
	e.srv.SetFaults(sim.Faults{ThrottleEvery: 2, RetryAfter: 2128 * time.Millisecond})
	var statuses []int
	for range 6 {
		r := e.send(http.MethodGet, e.graph("/users?$top=1"), tok, nil, nil)
		statuses = append(statuses, r.status)
		if r.status != http.StatusTooManyRequests {
			continue
		}
		if ra := r.header.Get("Retry-After"); ra != "2.128" {
			t.Errorf("Retry-After %q, want 2.128", ra)
		}
		if code := graphError(t, r); code != "TooManyRequests" {
			t.Errorf("429 code %q", code)
		}
	}
	n := 0
	for i, s := range statuses {
		if s == http.StatusTooManyRequests {
			n++
			if i > 0 && statuses[i-1] == http.StatusTooManyRequests {
				t.Errorf("two 429s in a row with ThrottleEvery 2: %v", statuses)
			}
		}
	}
	if n != 3 {
		t.Errorf("statuses %v: want every second request throttled", statuses)
	}
}

func TestGzipRequestBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprint(zw, `{"displayName":"Zipped","mailNickname":"zipped","mailEnabled":false,"securityEnabled":true}`)
	zw.Close()
	r := e.send(http.MethodPost, e.graph("/groups"), e.admin(),
		map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, buf.Bytes())
	if r.status != http.StatusCreated || r.json(t)["displayName"] != "Zipped" {
		t.Errorf("gzip body: %s", r)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	tok := e.admin()
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 0xff
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	idToken := e.tok["id_token"].(string) // signed by the tenant, but for the client, not Graph

	e.srv.SetFaults(sim.Faults{TokenLifetime: time.Second})
	short := e.deviceCode(e.info.AdminUPN, sim.GraphCLIToolsID, adminScopes)["access_token"].(string)
	e.srv.SetFaults(sim.Faults{})
	reader := e.newApp("reader", "User.Read.All")
	noRoles := e.newApp("no roles")
	readerTok, noRolesTok := e.appToken(reader), e.appToken(noRoles)
	time.Sleep(2100 * time.Millisecond) // let the short token expire

	for _, tc := range []struct {
		name, token, path string
		status            int
		code              string
	}{
		{"no token", "", "/users", 401, "InvalidAuthenticationToken"},
		{"bad signature", tampered, "/users", 401, "InvalidAuthenticationToken"},
		{"wrong audience", idToken, "/users", 401, "InvalidAuthenticationToken"},
		{"expired", short, "/users", 401, "InvalidAuthenticationToken"},
		{"app without the role", noRolesTok, "/users", 403, "Authorization_RequestDenied"},
		{"app with User.Read.All reads users", readerTok, "/users", 200, ""},
		{"app with User.Read.All reads groups", readerTok, "/groups", 403, "Authorization_RequestDenied"},
		{"app without the role on delta", noRolesTok, "/users/delta", 403, "Authorization_RequestDenied"},
		{"admin", tok, "/users", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			r := e.send(http.MethodGet, e.graph(tc.path), tc.token, nil, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if code := graphError(t, r); code != tc.code {
					t.Errorf("code %q, want %q", code, tc.code)
				}
			}
		})
	}
}

func TestRequestLogCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	a := e.newApp("counted", "User.Read.All")
	e.srv.ResetRequests()
	tok := e.appToken(a)
	for range 3 {
		e.send(http.MethodGet, e.graph("/users?$top=1"), tok, nil, nil)
	}
	e.send(http.MethodGet, e.graph("/groups"), tok, nil, nil)
	reqs := e.srv.Requests()
	count := map[string]int{}
	for _, r := range reqs {
		count[r.Service]++
	}
	if len(reqs) != 5 || count["login"] != 1 || count["graph"] != 4 {
		t.Fatalf("request log %+v, want 1 login and 4 graph requests", reqs)
	}
	if reqs[0].Grant != "client_credentials" || reqs[0].Status != 200 {
		t.Errorf("token request logged as %+v", reqs[0])
	}
	if last := reqs[4]; last.Path != "/v1.0/groups" || last.Status != 403 {
		t.Errorf("last request logged as %+v", last)
	}
	e.srv.ResetRequests()
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}
