package graphapi

import (
	"encoding/json"
	"testing"
)

func TestNextLinkOfFindsThePagesLinkOnly(t *testing.T) {
	link := "https://graph.example/v1.0/groups/g/transitiveMembers/microsoft.graph.user?$top=999&$skiptoken=RFNwdAIA"
	// A user whose name spells the key, quotes and all. Graph and the sim
	// write the link before the value (encoding/json sorts it there too).
	user := map[string]any{"id": "1", "displayName": `"@odata.nextLink": "https://evil.example"`}
	cases := []struct {
		name string
		page map[string]any
		want string
	}{
		{"link and a user who spells it", map[string]any{"value": []any{user}, "@odata.nextLink": link}, link},
		{"last page", map[string]any{"value": []any{user}}, ""},
		{"empty", map[string]any{"value": []any{}}, ""},
	}
	for _, tc := range cases {
		body, err := json.Marshal(tc.page)
		if err != nil {
			t.Fatal(err)
		}
		got, err := nextLinkOf(body)
		if err != nil || got != tc.want {
			t.Errorf("%s: nextLinkOf = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// After the value (as a delta page's deltaLink is), and with spaces
	// before the colon, it is still the page's link.
	body := []byte(`{"value":[{"displayName":"x \"@odata.nextLink\": y"}] , "@odata.nextLink" : "` + link + `"}`)
	if got, err := nextLinkOf(body); err != nil || got != link {
		t.Errorf("nextLinkOf = %q, %v; want %q", got, err, link)
	}
	if _, err := nextLinkOf([]byte(`{"@odata.nextLink": 12}`)); err == nil {
		t.Error("a link that is not a string was accepted")
	}
}
