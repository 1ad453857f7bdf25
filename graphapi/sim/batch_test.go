package sim_test

import (
	"net/http"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestBatch(t *testing.T) {
	e := newEnv(t, sim.Options{Seed: 3, Users: 10, Groups: 3})
	e.srv.SetFaults(sim.Faults{})
	r := e.send(http.MethodPost, e.graph("/$batch"), e.admin(), nil, map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/organization?$select=id,displayName", "body": nil},
		{"id": "2", "method": "GET", "url": "users?$top=2&$select=id", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
		{"id": "3", "method": "POST", "url": "/groups", "headers": map[string]string{"Content-Type": "application/json"},
			"body": map[string]any{"displayName": "Batch Group", "mailEnabled": false, "mailNickname": "batch-group", "securityEnabled": true}},
		{"id": "4", "method": "GET", "url": "/groups/not-there"},
		{"id": "5", "method": "GET", "url": "/users/$count", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
		{"id": "6", "method": "GET", "url": "/organization", "dependsOn": []string{"4"}},
	}})
	if r.status != http.StatusOK {
		t.Fatalf("batch: %s", r)
	}
	got := map[string]map[string]any{}
	for _, item := range values(t, map[string]any{"value": r.json(t)["responses"]}) {
		got[item["id"].(string)] = item
	}
	want := map[string]int{"1": 200, "2": 200, "3": 201, "4": 404, "5": 200, "6": 424}
	for id, status := range want {
		if s, _ := got[id]["status"].(float64); int(s) != status {
			t.Errorf("request %s: status %v, want %d (%v)", id, got[id]["status"], status, got[id])
		}
	}
	if body, _ := got["2"]["body"].(map[string]any); body == nil || len(body["value"].([]any)) != 2 || body["@odata.nextLink"] == nil {
		t.Errorf("request 2 body: %v", got["2"]["body"])
	}
	if err, _ := got["4"]["body"].(map[string]any); err == nil || err["error"].(map[string]any)["code"] != "Request_ResourceNotFound" {
		t.Errorf("request 4 body: %v", got["4"]["body"])
	}
	if got["5"]["body"] != "12" {
		t.Errorf("request 5 ($count: the admin, the plain user and 10 generated): body %v", got["5"]["body"])
	}

	for _, tc := range []struct {
		name string
		body any
	}{
		{"empty", map[string]any{"requests": []any{}}},
		{"too many", map[string]any{"requests": func() []map[string]any {
			var l []map[string]any
			for i := range 21 {
				l = append(l, map[string]any{"id": string(rune('a' + i)), "method": "GET", "url": "/me"})
			}
			return l
		}()}},
		{"duplicate id", map[string]any{"requests": []map[string]any{
			{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}}}},
	} {
		if r := e.send(http.MethodPost, e.graph("/$batch"), e.admin(), nil, tc.body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", tc.name, r)
		}
	}
}
