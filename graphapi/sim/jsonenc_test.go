package sim

import (
	"bytes"
	"encoding/json"
	"testing"
)

// appendJSON must write exactly what encoding/json writes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, 0, -42, int64(1) << 40, 3.25, "",
		"plain ascii", "quote \" and \\ backslash", "ctl \x00\x01\b\f\n\r\t\x1f", "<html> & 'x'",
		"é ü 漢字 🙂", "bad \xff utf8 \xc3", "line\u2028sep\u2029", []any{}, []string{"a", "b"}, []string(nil),
		map[string]any{"b": 1, "a": []any{"x", nil, map[string]any{"z": false, "@odata.type": "#t"}}, "é": "ü"},
		[]map[string]any{{"id": "1"}, {}}, struct{ A int }{7}, map[string]any(nil), map[string]any{"a": map[string]any(nil)},
	}
	for _, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got := string(appendJSON(nil, v)) + "\n"
		if got != want.String() {
			t.Errorf("appendJSON(%#v) = %s, want %s", v, got, want.String())
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got := string(appendJSONString(nil, s)) + "\n"; got != b.String() {
			t.Errorf("appendJSONString(%q) = %s, want %s (%s)", s, got, b.String(), want)
		}
	})
}

// A user member written straight to JSON is the same object memberRender
// and $select projection give.
func TestUserAppendJSONMatchesRender(t *testing.T) {
	u := &user{ID: "u1", DisplayName: `Zoë "Z" O'Neil`, GivenName: "Zoë", Surname: "O'Neil", UPN: "zoe@contoso.example",
		Mail: "zoe@contoso.example", JobTitle: "Engineer", Department: "R&D", Enabled: true}
	for _, sel := range [][]string{
		{"id", "displayName"},
		{"userPrincipalName", "DISPLAYNAME", "displayName", "accountEnabled", "jobTitle", "department", "mail", "givenName", "surname"},
		{"noSuchProperty", "businessPhones", "companyName"},
	} {
		want := query{sel: sel}.project(func() map[string]any {
			m := u.render(sel)
			m["@odata.type"] = "#microsoft.graph.user"
			return m
		}())
		var got map[string]any
		if err := json.Unmarshal(u.appendJSON(nil, sel), &got); err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(got)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("$select=%v:\n got %s\nwant %s", sel, gotJSON, wantJSON)
		}
	}
}
