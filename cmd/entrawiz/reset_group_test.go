package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// TestResetSaysWhatItDeletesAndCanDeleteTheGroup: reset lists what it will
// and will not delete, the created group among them, and deletes the group
// only with --delete-group; each reset leaves a change record.
func TestResetSaysWhatItDeletesAndCanDeleteTheGroup(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	prof := filepath.Join(t.TempDir(), "print-server.json")
	os.WriteFile(prof, []byte(`{"name": "print-server", "appName": "Print Server Sync",
  "applicationPermissions": ["User.Read.All"], "grantAdminConsent": true, "secret": {"lifetimeDays": 365},
  "assignmentRequired": true, "createGroup": {"displayName": "Print Server Users", "assign": true},
  "handoff": ["tenantId", "clientId", "clientSecret"]}`), 0o600)

	// Forget only: the app and the group stay, and reset says so.
	c1 := newCLI(t, tn)
	c1.mustSetup(prof)
	r := c1.run("reset", "--yes")
	r.mustSucceed(t)
	mustContain(t, r.stderr, "Will not delete:", "the app registration Print Server Sync", "the group Print Server Users", "--delete-group deletes it")
	if _, err := tn.GroupID("Print Server Users"); err != nil {
		t.Fatalf("reset without --delete-group deleted the group: %v", err)
	}

	// Delete both.
	c2 := newCLI(t, tn)
	c2.mustSetup(prof)
	tn.ResetRequests()
	r = c2.run("reset", "--delete-app", "--delete-group", "--yes")
	r.mustSucceed(t)
	mustContain(t, r.stderr, "Will delete:", "the group Print Server Users", "with its enterprise app")
	if _, err := tn.GroupID("Print Server Users"); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("the group is still in the tenant after --delete-group: %v", err)
	}
	records, _ := filepath.Glob(filepath.Join(c2.dir, "records", "*-reset-*.md"))
	if len(records) != 1 {
		t.Fatalf("reset wrote %d change records", len(records))
	}
	checkRecord(t, records[0], tn.Requests(), "deleted the group Print Server Users", tn.info.AdminUPN)
}
