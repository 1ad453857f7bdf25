package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
)

// TestSetupAndRotationRecordEveryWrite: the change record of a setup and
// of a rotation lists every write the sim's request log shows, with its
// request-id, who did it, and the secret's key ID, never its value (the
// leak check of newCLI reads every file under the config directory).
func TestSetupAndRotationRecordEveryWrite(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	tn.ResetRequests()
	r, _ := c.mustSetup("sso-sync")
	setupReqs := tn.Requests()
	mustContain(t, r.stderr, "Change record (for your change ticket): ", "Calendar reminder of the secret's expiry")
	records, _ := filepath.Glob(filepath.Join(c.dir, "records", "*-setup-*.md"))
	if len(records) != 1 {
		t.Fatalf("setup wrote %d change records", len(records))
	}
	conn := c.conn()
	if notes, _ := tn.get(t, "/applications/"+conn.App.ObjectID)["notes"].(string); !strings.Contains(notes, "Managed by entrawiz for "+conn.App.DisplayName) {
		t.Errorf("the app's notes say %q, not who manages it for which product", notes)
	}
	checkRecord(t, records[0], setupReqs, tn.info.AdminUPN, conn.App.AppID, steps.ActiveSecret(&conn).KeyID)

	tn.ResetRequests()
	place := filepath.Join(t.TempDir(), "ticket-4711.md")
	c.run("rotate", "--remove-old-after", "0s", "--record", place).mustSucceed(t)
	conn = c.conn()
	checkRecord(t, place, tn.Requests(), tn.info.AdminUPN, steps.ActiveSecret(&conn).KeyID)
	b, _ := os.ReadFile(place)
	mustContain(t, string(b), "rotation of", "removed client secret")

	// The reminder names the app and tenant, parses back, and rings 30 and
	// 7 days before the new secret's end.
	f, err := os.Open(app.ReminderPath(c.dir, conn.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cal, err := ics.ParseCalendar(f)
	if err != nil {
		t.Fatalf("the reminder does not parse: %v", err)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	start, err := evs[0].GetStartAt()
	act := steps.ActiveSecret(&conn)
	if err != nil || !start.Equal(act.End.Truncate(time.Second)) {
		t.Errorf("event starts %v (%v), the secret ends %v", start, err, act.End)
	}
	summary := evs[0].GetProperty(ics.ComponentPropertySummary).Value
	desc := evs[0].GetProperty(ics.ComponentPropertyDescription).Value
	mustContain(t, summary+desc, conn.App.DisplayName, conn.Tenant.DisplayName, conn.App.AppID)
	var triggers []string
	for _, al := range evs[0].Alarms() {
		trig := al.GetProperty(ics.ComponentPropertyTrigger).Value
		triggers = append(triggers, trig)
		d, _ := steps.ParseDays(strings.TrimSuffix(strings.TrimPrefix(trig, "-P"), "D") + "d")
		if !strings.HasPrefix(trig, "-P") || d <= 0 || !start.Add(-d).Before(start) {
			t.Errorf("alarm %q does not ring before the expiry", trig)
		}
	}
	if strings.Join(triggers, ",") != "-P30D,-P7D" {
		t.Errorf("alarms %v, want 30 and 7 days before", triggers)
	}
}

// checkRecord reads a record and checks it against the tenant's request log.
func checkRecord(t *testing.T, path string, reqs []sim.LoggedRequest, want ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	mustContain(t, text, want...)
	n := 0
	for _, q := range reqs {
		if q.Service != "graph" || q.Method == http.MethodGet {
			continue
		}
		n++
		if !strings.Contains(text, "| "+q.Method+" | "+q.Path+" | ") {
			t.Errorf("%s lacks the write %s %s", filepath.Base(path), q.Method, q.Path)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| POST |") || strings.HasPrefix(line, "| PATCH |") || strings.HasPrefix(line, "| DELETE |") {
			if !requestID.MatchString(line) {
				t.Errorf("a write without its request-id: %s", line)
			}
		}
	}
	if n == 0 {
		t.Errorf("the sim saw no write: nothing to check")
	}
}

var requestID = regexp.MustCompile(`\| [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} \|$`)
