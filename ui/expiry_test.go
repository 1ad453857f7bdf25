package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/store"
)

// TestExpiryIsTheSameEverywhere: at and around day boundaries, the
// dashboard, `status` and `status --json` give a secret the same days left
// and the same state.
func TestExpiryIsTheSameEverywhere(t *testing.T) {
	end := time.Date(2027, 12, 2, 3, 17, 0, 0, time.UTC)
	conn := store.Connection{Name: "contoso.onmicrosoft.com/directory-sync", Profile: "directory-sync",
		Secrets: []store.Secret{{KeyID: "k1", Hint: "abc", Status: "active", End: end}}}
	days := regexp.MustCompile(`(\d+) days`)
	for _, before := range []time.Duration{
		365 * 24 * time.Hour, 364*24*time.Hour + time.Second, 364*24*time.Hour - time.Second,
		30 * 24 * time.Hour, 30*24*time.Hour - time.Second, 30*24*time.Hour + time.Second,
		24 * time.Hour, time.Second, 0, -time.Second,
	} {
		now := end.Add(-before)
		var js struct{ Connections []app.ConnectionStatus }
		var text bytes.Buffer
		WriteStatus(&text, []app.ConnectionStatus{app.DescribeConnection(&conn, now, nil)})
		b, _ := json.Marshal(map[string]any{"connections": []app.ConnectionStatus{app.DescribeConnection(&conn, now, nil)}})
		if err := json.Unmarshal(b, &js); err != nil {
			t.Fatal(err)
		}
		want := js.Connections[0].Secret
		facts, _ := connectionFacts(conn, now, "", nil)
		var dash fact
		for _, f := range facts {
			if f.label == "Secret" {
				dash = f
			}
		}
		at := fmt.Sprintf("%s before the end", before)
		if want.State == "expired" {
			if !dash.alert || !regexp.MustCompile(`EXPIRED`).MatchString(dash.value) {
				t.Errorf("%s: status says expired, the dashboard %q", at, dash.value)
			}
			continue
		}
		for surface, s := range map[string]string{"dashboard": dash.value, "status": text.String()} {
			m := days.FindStringSubmatch(s)
			if m == nil {
				t.Errorf("%s: %s shows no days: %q", at, surface, s)
				continue
			}
			if n, _ := strconv.Atoi(m[1]); n != want.DaysLeft {
				t.Errorf("%s: %s shows %d days, status --json %d", at, surface, n, want.DaysLeft)
			}
		}
		if dash.alert != (want.State == "expiring") {
			t.Errorf("%s: dashboard alert %v, status state %s", at, dash.alert, want.State)
		}
	}
}
