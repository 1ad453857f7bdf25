package main

// End-to-end tests of the live `status` against the simulated tenant: what
// the tenant did behind entrawiz's back (a secret expired early or removed,
// consent revoked, the app deleted) is what status says, and `status
// --check` exits 3 — with nothing written, here or in the tenant.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
)

type statusJSON struct {
	Connections []app.ConnectionStatus `json:"connections"`
}

type checkJSON struct {
	OK       bool          `json:"ok"`
	Problems []app.Problem `json:"problems"`
}

func TestStatusSaysWhatTheTenantSays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// change does to the tenant what an admin (or time) did.
		change func(t *testing.T, tn *tenant, appID, keyID string)
		// code is the problem `status --check` must name.
		code string
		// state is the secret's state status must show ("" to skip).
		state string
		text  string
	}{
		{"secret expired early", func(t *testing.T, tn *tenant, appID, keyID string) {
			if err := tn.SetSecretEnd(appID, keyID, time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, "SecretExpired", "expired", "has expired"},
		{"secret ends in ten days", func(t *testing.T, tn *tenant, appID, keyID string) {
			if err := tn.SetSecretEnd(appID, keyID, time.Now().Add(10*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, "SecretExpiring", "expiring", "expires in"},
		{"secret removed", func(t *testing.T, tn *tenant, appID, keyID string) {
			if err := tn.RemoveSecret(appID, keyID); err != nil {
				t.Fatal(err)
			}
		}, "SecretRemoved", "removed", "no longer on the app"},
		{"consent revoked", func(t *testing.T, tn *tenant, appID, keyID string) {
			if n, err := tn.RevokeConsent(appID); err != nil || n == 0 {
				t.Fatalf("revoke consent: %d removed, %v", n, err)
			}
		}, "ConsentRevoked", "ok", "admin consent is missing"},
		{"app deleted", func(t *testing.T, tn *tenant, appID, keyID string) {
			if err := tn.DeleteApp(appID); err != nil {
				t.Fatal(err)
			}
		}, "AppDeleted", "", "app registration is gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := startTenant(t, sim.Faults{})
			c := newCLI(t, tn)
			c.mustSetup("directory-sync")
			c.run("status", "--check").mustSucceed(t)

			conn := c.conn()
			act := steps.ActiveSecret(&conn)
			tc.change(t, tn, conn.App.AppID, act.KeyID)
			before := readConfigFiles(t, c.dir)
			tn.ResetRequests()

			r := c.run("status", "--json")
			r.mustSucceed(t)
			var st statusJSON
			r.decode(t, &st)
			if len(st.Connections) != 1 {
				t.Fatalf("status shows %d connections", len(st.Connections))
			}
			s := st.Connections[0]
			if !s.Live.Checked() {
				t.Fatalf("status did not ask the tenant: %+v", s)
			}
			if tc.state != "" && (s.Secret == nil || s.Secret.State != tc.state) {
				t.Errorf("secret state %+v, want %s", s.Secret, tc.state)
			}
			mustContain(t, strings.Join(s.Warnings, "\n"), tc.text)

			text := c.run("status")
			text.mustSucceed(t)
			if tc.state != "ok" && (strings.Contains(text.stdout, "(ok, 3") || strings.Contains(text.stdout, "(ok, 36")) {
				t.Errorf("status text still says the secret is ok for most of a year:\n%s", text.stdout)
			}

			chk := c.run("status", "--check")
			out := chk.mustFail(t, exitAdminAction)
			mustContain(t, chk.stdout, tc.code)
			if lines := strings.Count(strings.TrimSpace(chk.stdout), "\n") + 1; lines < 1 {
				t.Errorf("status --check printed no problem line:\n%s", out)
			}
			js := c.run("status", "--check", "--json")
			js.mustFail(t, exitAdminAction)
			var cj checkJSON
			js.decode(t, &cj)
			if cj.OK || len(cj.Problems) == 0 || cj.Problems[0].Code == "" {
				t.Errorf("status --check --json: %+v", cj)
			}

			assertReadOnly(t, tn.Requests())
			if after := readConfigFiles(t, c.dir); !bytes.Equal(before, after) {
				t.Errorf("status changed the config directory")
			}
		})
	}
}

// TestStatusCheckWithinIsTheAdminsWindow: a secret ending in ten days is a
// problem within 30 days, not within 5.
func TestStatusCheckWithinIsTheAdminsWindow(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	conn := c.conn()
	if err := tn.SetSecretEnd(conn.App.AppID, "", time.Now().Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.run("status", "--check", "--within", "5d").mustSucceed(t)
	c.run("status", "--check", "--within", "30d").mustFail(t, exitAdminAction)
	// The local record alone says nothing is wrong: --local shows it so.
	c.run("status", "--check", "--local").mustSucceed(t)
}

// TestStatusSaysWhenItCanOnlyShowTheLocalRecord: with no stored secret and
// no saved sign-in, status says why it shows the local record.
func TestStatusSaysWhenItCanOnlyShowTheLocalRecord(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	conn := c.conn()
	// Forget the admin's sign-in and the stored secret.
	os.Remove(filepath.Join(c.dir, "signin-cache.bin"))
	c.keys.Delete(steps.ActiveSecret(&conn).KeyringName)
	tn.ResetRequests()
	r := c.run("status")
	r.mustSucceed(t)
	mustContain(t, r.stdout, "only the local record", "no saved admin sign-in", "keyring")
	if n := len(tn.Requests()); n > 2 {
		t.Errorf("status made %d requests with nothing to sign in with", n)
	}
}

// readConfigFiles is every file under dir but the locks, in one blob.
func readConfigFiles(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.Contains(path, string(filepath.Separator)+"locks"+string(filepath.Separator)) {
			return nil
		}
		b, _ := os.ReadFile(path)
		all = append(append(all, path...), b...)
		return nil
	})
	return all
}
