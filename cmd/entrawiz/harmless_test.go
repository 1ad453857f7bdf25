package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// TestJSONErrorsHaveOneShape: every command's --json failure is one object
// on stdout, {"error": {kind, code, message, remedy, requestId}}, and the
// exit code is the error's.
func TestJSONErrorsHaveOneShape(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	for _, tc := range []struct {
		args []string
		code int
		kind string
	}{
		{[]string{"status", "--json", "--connection", "nosuch/x"}, exitUsage, "usage"},
		{[]string{"groups", "list", "--json", "--top", "5000"}, exitUsage, "usage"},
		{[]string{"sync", "--json", "--every", "5s"}, exitUsage, "usage"},
		{[]string{"test", "--json"}, exitError, "not set up"},
		{[]string{"rotate", "--json"}, exitError, "not set up"},
		{[]string{"sync", "--json"}, exitError, "not set up"},
		{[]string{"groups", "list", "--json"}, exitError, "not set up"},
		{[]string{"groups", "pick", "--json", "00000000-0000-0000-0000-000000000001"}, exitError, "not set up"},
		{[]string{"setup", "--json", "--yes", "--profile", "directory-sync", "--tenant", "nosuch.onmicrosoft.com"}, exitError, ""},
	} {
		r := c.run(tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, r.code, tc.code, r.stderr)
			continue
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Errorf("%v: stdout is not one JSON object: %v\n%s", tc.args, err, r.stdout)
			continue
		}
		var e struct{ Kind, Code, Message, Remedy, RequestID string }
		if err := json.Unmarshal(out["error"], &e); err != nil || e.Kind == "" || e.Message == "" {
			t.Errorf("%v: error %s is not {kind, code, message, remedy}", tc.args, out["error"])
			continue
		}
		if tc.kind != "" && e.Kind != tc.kind {
			t.Errorf("%v: kind %q, want %q", tc.args, e.Kind, tc.kind)
		}
		if !strings.Contains(r.stderr, e.Message) {
			t.Errorf("%v: stderr does not say the error too:\n%s", tc.args, r.stderr)
		}
	}
}

// TestTenantTextIsHarmless is D4: a display name with ESC, BEL and a bidi
// override, and another that is a spreadsheet formula, reach the terminal
// as visible escapes and the CSV export as inert cells.
func TestTenantTextIsHarmless(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	sales, _ := tn.GroupID("Sales Team 1")
	evil := "Evil\x1b]0;pwned\x07\x1b[2J\u202egnp.exe"
	formula := "=cmd|' /C calc'!A0"
	for _, name := range []string{evil, formula} {
		if err := tn.AddMember(sales, tn.CreateUser(name)); err != nil {
			t.Fatal(err)
		}
	}
	c.run("groups", "pick", sales).mustSucceed(t)

	r := c.run("sync", "--dry-run")
	r.mustSucceed(t)
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Fatalf("raw control characters reached the terminal:\n%q", out)
		}
	}
	mustContain(t, r.stdout, `Evil\x1b]0;pwned\x07\x1b[2J\u202egnp.exe`)

	c.run("sync").mustSucceed(t)
	r = c.run("export", "--format", "csv")
	r.mustSucceed(t)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	found := 0
	for _, row := range rows[1:] {
		for _, cell := range row {
			if strings.ContainsAny(cell, "\x1b\x07\u202e") {
				t.Errorf("a CSV cell holds a control character: %q", cell)
			}
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a CSV cell would run as a formula: %q", cell)
			}
			if cell == "'"+formula {
				found++
			}
		}
	}
	if found != 1 {
		t.Errorf("the formula display name was not exported as the inert cell %q", "'"+formula)
	}
	var users []map[string]any
	r = c.run("export", "--format", "json")
	r.mustSucceed(t)
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil {
		t.Fatalf("the JSON export: %v", err)
	}
	names := map[string]bool{}
	for _, u := range users {
		names[u["displayName"].(string)] = true
	}
	if !names[evil] || !names[formula] {
		t.Errorf("the JSON export does not keep the names as they are in Entra")
	}
}
