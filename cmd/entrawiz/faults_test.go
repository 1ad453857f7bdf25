package main

// Every fault the headless procedure can meet, injected in the simulated
// tenant or the machine: each must end with a clear message that says what
// to do, the exit code exitcode.go defines, and nothing lost or half made
// that a re-run cannot finish. After each fault is cleared, setup is run
// again and must finish.

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/store/storetest"
)

// assertNoGraphWrites checks that nothing was written to the tenant.
func assertNoGraphWrites(t *testing.T, reqs []sim.LoggedRequest) {
	t.Helper()
	for _, r := range reqs {
		if r.IsGraphWrite() {
			t.Errorf("a write reached Graph: %s %s %d", r.Method, r.Path, r.Status)
		}
	}
}

// mustFinish clears nothing itself: it runs setup again after the test
// cleared the fault, and checks the tenant holds what the profile asks.
func mustFinish(t *testing.T, tn *tenant, c *cli, profile string) setupResult {
	t.Helper()
	_, res := c.mustSetup(profile)
	prof, err := steps.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	checkTenantMatchesProfile(t, tn, c, prof, res)
	return res
}

// TestFaultNonAdminAccount: a plain user signs in. Setup stops at the plan
// with exit 3 and names the roles that can grant consent and the manual
// path; nothing is created. The admin then signs in and setup finishes.
func TestFaultNonAdminAccount(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.approveAs(tn.info.UserUPN)
	msg := c.setup("directory-sync").mustFail(t, exitAdminAction)
	mustContain(t, msg, tn.info.UserUPN+" cannot grant admin consent", "Privileged Role Administrator", "Global Administrator", "--manual")
	assertNoGraphWrites(t, tn.Requests())
	if apps := tn.appsTagged(t, "entrawiz:directory-sync"); len(apps) != 0 {
		t.Errorf("a refused plan created %d apps", len(apps))
	}

	c.approveAs(tn.info.AdminUPN)
	r, _ := c.mustSetup("directory-sync")
	mustContain(t, r.stderr, "Signed in as "+tn.info.AdminUPN)
	if n := c.deviceCodes(); n != 2 {
		t.Errorf("%d device codes: the admin must be asked to sign in after the plain user was refused", n)
	}
	mustFinish(t, tn, c, "directory-sync")
}

// TestFaultSignIn: the device code is declined, expires, or Conditional
// Access blocks the device-code flow. Nothing reaches Graph; after the
// fault is cleared setup finishes.
func TestFaultSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		approve string // "admin" approves as the Global Administrator
		faults  sim.Faults
		code    int
		want    []string
	}{
		{"declined", "decline", sim.Faults{}, exitError, []string{"declined", "start again and approve it"}},
		{"expired", "expire", sim.Faults{}, exitError, []string{"expired", "start the sign-in again"}},
		{"conditional access", "admin", sim.Faults{BlockDeviceCode: true}, exitAdminAction,
			[]string{"Conditional Access", "AADSTS53003", "sign in with the browser"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := startTenant(t, tc.faults)
			c := newCLI(t, tn)
			if tc.approve != "admin" {
				c.approveAs(tc.approve)
			}
			// The device-code flow alone: with auto, a block goes on with
			// the browser (signin_e2e_test.go).
			msg := c.setup("directory-sync", "--sign-in", "device").mustFail(t, tc.code)
			mustContain(t, msg, tc.want...)
			for _, r := range tn.Requests() {
				if r.Service == "graph" {
					t.Errorf("Graph was called before a sign-in: %s %s", r.Method, r.Path)
				}
			}
			if _, err := os.Stat(store.ConfigPath(c.dir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed sign-in saved a config: %v", err)
			}

			tn.SetFaults(sim.Faults{})
			c.approveAs(tn.info.AdminUPN)
			mustFinish(t, tn, c, "directory-sync")
		})
	}
}

// TestFaultTenant: a tenant that does not exist is reported as such; a
// malformed tenant or client ID is a usage error (exit 2) before any
// request.
func TestFaultTenant(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)

	r := c.run("setup", "--profile", "directory-sync", "--tenant", "nosuch.onmicrosoft.com", "--yes", "--json")
	if r.code == exitOK || r.code == exitUsage {
		t.Fatalf("unknown tenant: exit %d, want a failure other than usage\n%s", r.code, r.stderr)
	}
	mustContain(t, r.stderr, "nosuch.onmicrosoft.com", "not found", "--tenant")
	assertNoGraphWrites(t, tn.Requests())

	tn.ResetRequests()
	msg := c.run("setup", "--profile", "directory-sync", "--tenant", "not a tenant", "--yes").mustFail(t, exitUsage)
	mustContain(t, msg, "--tenant", "neither a tenant ID (GUID) nor a domain")
	msg = c.runStdin("Abc8Q~"+strings.Repeat("z", 34)+"\n", "setup", "--manual", "--profile", "directory-sync",
		"--tenant", tn.info.TenantID, "--client-id", "not-a-guid", "--secret-stdin").mustFail(t, exitUsage)
	mustContain(t, msg, "--client-id must look like 00000000-0000-0000-0000-000000000000")
	msg = c.run("setup", "--profile", "directory-sync", "--tenant", tn.info.TenantDomain).mustFail(t, exitUsage)
	mustContain(t, msg, "--yes is required when not running interactively")
	if reqs := tn.Requests(); len(reqs) != 0 {
		t.Errorf("usage errors made requests:\n%s", describeRequests(reqs))
	}

	mustFinish(t, tn, c, "directory-sync")
}

// TestFaultGraphDownMidStep: Graph starts failing (503 on every request)
// right after the app registration is created. Setup fails with the cause
// and a remedy; run again, with the same config or from a new machine, it
// finds the app (by saved ID or by its tag) and finishes with exactly one.
func TestFaultGraphDownMidStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fresh bool // re-run with a new config directory: the app is found by its tag
	}{{"resume", false}, {"new machine", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The latency gives the watcher time to break Graph between the
			// create and the next request (which waits out the latency
			// before the sim looks at its faults).
			tn := startTenant(t, sim.Faults{Latency: 100 * time.Millisecond})
			c := newCLI(t, tn)
			stop, broke := make(chan struct{}), make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					for _, r := range tn.Requests() {
						if r.Service == "graph" && r.Method == http.MethodPost && r.Path == "/v1.0/applications" && r.Status == http.StatusCreated {
							tn.SetFaults(sim.Faults{ServerErrorEvery: 1, RetryAfter: 50 * time.Millisecond})
							close(broke)
							return
						}
					}
				}
			}()
			r := c.setup("directory-sync")
			close(stop)
			select {
			case <-broke:
			default:
				t.Fatalf("the app was never created:\n%s", r.stderr)
			}
			msg := r.mustFail(t, exitError)
			mustContain(t, msg, "✗", "create the enterprise app", "service error", "HTTP 503", "try again")
			tn.SetFaults(sim.Faults{})
			apps := tn.appsTagged(t, "entrawiz:directory-sync")
			if len(apps) != 1 {
				t.Fatalf("%d apps after the failure, want the 1 created", len(apps))
			}
			if status, _ := tn.graph(t, http.MethodGet, "/servicePrincipals(appId='"+apps[0]["appId"].(string)+"')", nil); status != http.StatusNotFound {
				t.Errorf("the enterprise app exists (%d), yet setup said it failed", status)
			}

			again := c
			if tc.fresh {
				again = newCLI(t, tn)
			}
			_, res := again.mustSetup("directory-sync")
			if res.App.ObjectID != apps[0]["id"] {
				t.Errorf("the re-run used app %s, want the one made before %v", res.App.ObjectID, apps[0]["id"])
			}
			for _, it := range res.Plan {
				if strings.HasPrefix(it.Object, "App registration") && it.Action == "create" {
					t.Errorf("the re-run planned a new app: %+v", it)
				}
			}
			prof, _ := steps.LoadProfile("directory-sync")
			checkTenantMatchesProfile(t, tn, again, prof, res) // exactly one tagged app
		})
	}
}

// TestFaultThrottleStorm: every second Graph request is throttled (429,
// Retry-After 200ms), batch items included; setup still finishes, and the
// re-run once the storm is over changes nothing.
func TestFaultThrottleStorm(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{ThrottleEvery: 2, RetryAfter: 200 * time.Millisecond})
	c := newCLI(t, tn)
	r, res := c.mustSetup("directory-sync", "--debug")
	var throttled int
	for _, q := range tn.Requests() {
		if q.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatalf("no request was throttled: the fault was not exercised")
	}
	mustContain(t, r.stderr, " 429 ", "retry-after=")
	t.Logf("%d requests throttled; setup took %s", throttled, r.took.Round(time.Millisecond))

	tn.SetFaults(sim.Faults{})
	prof, _ := steps.LoadProfile("directory-sync")
	checkTenantMatchesProfile(t, tn, c, prof, res)
	tn.ResetRequests()
	_, res2 := c.mustSetup("directory-sync")
	assertReadOnly(t, tn.Requests())
	if res2.App != res.App {
		t.Errorf("the re-run changed the app: %+v, then %+v", res.App, res2.App)
	}
}

// TestFaultReplication: with Entra's replication delay (new objects
// invisible to reads and sign-in for 5s) setup waits it out and finishes
// within the delay plus 3s; with a reference delay (writes naming a new
// object fail for 2s) it also finishes. The production backoff is used.
func TestFaultReplication(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		faults  sim.Faults
		profile string
		within  time.Duration
	}{
		{"replication delay 5s", sim.Faults{ReplicationDelay: 5 * time.Second}, "directory-sync", 8 * time.Second},
		// Three writes in a chain name a new object (service principal,
		// consent, group assignment): each waits out the delay on its own.
		{"reference delay 2s", sim.Faults{ReferenceDelay: 2 * time.Second}, "legal-ai", 3 * (2*time.Second + 2*time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := startTenant(t, tc.faults)
			c := newCLI(t, tn)
			c.backoff = replicationBackoff()
			profile := tc.profile
			if profile == "legal-ai" {
				profile = "../../docs/profiles/legal-ai.json" // assignment and a group: more references
			}
			r, res := c.mustSetup(profile)
			mustContain(t, r.stderr, "waiting for Entra to replicate")
			if r.took > tc.within {
				t.Errorf("setup took %s, want at most %s", r.took, tc.within)
			}
			t.Logf("%s: setup took %s", tc.name, r.took.Round(time.Millisecond))
			tn.SetFaults(sim.Faults{})
			prof, _ := steps.LoadProfile(profile)
			checkTenantMatchesProfile(t, tn, c, prof, res)
			c.mustSetup(profile)
		})
	}
}

// TestFaultKeyring: no keyring on the machine, or a locked one that never
// answers. Setup fails with what to do before anything is written to the
// tenant; with a working keyring the re-run finishes.
func TestFaultKeyring(t *testing.T) {
	t.Parallel()
	noKeyringRemedy := strings.TrimSuffix((&store.NoKeyringError{Err: errors.New("x")}).Error(), " (x)")
	for _, tc := range []struct {
		name    string
		keyring store.Secrets
		want    []string
	}{
		{"missing", storetest.NoKeyring{}, []string{noKeyringRemedy}},
		{"locked", &storetest.LockedKeyring{Timeout: 300 * time.Millisecond}, []string{"did not answer in time (is it locked?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := startTenant(t, sim.Faults{})
			c := newCLI(t, tn)
			c.keys.Use(tc.keyring)
			msg := c.setup("directory-sync").mustFail(t, exitError)
			mustContain(t, msg, append([]string{"nothing was changed in the tenant"}, tc.want...)...)
			assertNoGraphWrites(t, tn.Requests())
			if apps := tn.appsTagged(t, "entrawiz:directory-sync"); len(apps) != 0 {
				t.Fatalf("%d apps, want none", len(apps))
			}
			c.keys.Use(store.NewMemKeyring())
			mustFinish(t, tn, c, "directory-sync")
		})
	}
}

// TestFaultConfigUnreadable: a damaged config.json is reported with its
// path by every command and left as it is; nothing is asked of the tenant.
func TestFaultConfigUnreadable(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	path := store.ConfigPath(c.dir)
	damaged := []byte(`{"version": 1, "connections": [{"name": "contoso`)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"setup", "--profile", "directory-sync", "--tenant", tn.info.TenantDomain, "--yes", "--json"},
		{"status", "--json"}, {"test"}, {"reset", "--yes"},
	} {
		msg := c.run(args...).mustFail(t, exitError)
		mustContain(t, msg, path, "damaged", "left untouched")
		if b, err := os.ReadFile(path); err != nil || string(b) != string(damaged) {
			t.Fatalf("entrawiz %s changed the damaged config: %q, %v", args[0], b, err)
		}
	}
	if reqs := tn.Requests(); len(reqs) != 0 {
		t.Errorf("with a damaged config, requests were made:\n%s", describeRequests(reqs))
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mustFinish(t, tn, c, "directory-sync")
}

// TestFaultAppDeletedInPortal: the app registration was deleted since the
// last run. Setup never makes another while the config names one (it may
// be replicating): after waiting for it, it stops before any write and
// says how to start afresh; after `reset`, setup makes a new app.
func TestFaultAppDeletedInPortal(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.backoff.Budget = 3 * time.Second
	_, old := c.mustSetup("sso-sync")
	if status, body := tn.graph(t, http.MethodDelete, "/applications/"+old.App.ObjectID, nil); status != http.StatusNoContent {
		t.Fatalf("delete the app: %d %v", status, body)
	}

	tn.ResetRequests()
	msg := c.setup("sso-sync").mustFail(t, exitError)
	mustContain(t, msg, old.App.AppID, "is not in the tenant", "entrawiz reset --connection "+old.Connection,
		"is not visible yet; waiting for Entra to replicate it") // the wait is said, not silent
	assertNoGraphWrites(t, tn.Requests())
	if apps := tn.appsTagged(t, "entrawiz:sso-sync"); len(apps) != 0 {
		t.Fatalf("%d apps made while the config names the deleted one", len(apps))
	}

	c.run("reset", "--yes").mustSucceed(t)
	_, res := c.mustSetup("sso-sync")
	if res.App.ObjectID == old.App.ObjectID || res.App.AppID == old.App.AppID {
		t.Errorf("the new app has the deleted one's IDs: %+v", res.App)
	}
	prof, _ := steps.LoadProfile("sso-sync")
	checkTenantMatchesProfile(t, tn, c, prof, res)
	conns := c.config().Connections
	if len(conns) != 1 || conns[0].App != res.App {
		t.Errorf("config connections %+v, want the new app", conns)
	}
}

// TestFaultPermissionRemoved: an application permission was removed since
// the last run. `entrawiz test` fails and names it; setup grants it again.
func TestFaultPermissionRemoved(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	_, res := c.mustSetup("directory-sync")
	assignment := tn.graphRolesOf(t, res.App.ServicePrincipalID)[graphRoleIDs["GroupMember.Read.All"]]
	if assignment == "" {
		t.Fatalf("GroupMember.Read.All was not granted")
	}
	path := "/servicePrincipals/" + tn.graphSPID(t) + "/appRoleAssignedTo/" + assignment
	if status, body := tn.graph(t, http.MethodDelete, path, nil); status != http.StatusNoContent {
		t.Fatalf("remove the permission: %d %v", status, body)
	}

	r := c.run("test", "--json")
	if r.code != exitAdminAction && r.code != exitError {
		t.Fatalf("test with a permission removed: exit %d, want 3 or 1\n%s", r.code, r.stderr)
	}
	var tr struct {
		Result steps.TestResult
		Error  map[string]string
	}
	r.decode(t, &tr)
	if tr.Result.Passed || tr.Error == nil || !strings.Contains(tr.Error["message"], "GroupMember.Read.All") || tr.Error["remedy"] == "" {
		t.Errorf("test result %+v, error %v: want a failure naming GroupMember.Read.All, with a remedy", tr.Result, tr.Error)
	}
	var st struct{ Connections []app.ConnectionStatus }
	sr := c.run("status", "--json")
	sr.decode(t, &st)
	if len(st.Connections) != 1 || st.Connections[0].LastTest == nil || st.Connections[0].LastTest.Passed {
		t.Errorf("status after a failed test: %+v", st.Connections)
	}
	mustContain(t, sr.stdout, "the last connection test failed")

	r2, res2 := c.mustSetup("directory-sync")
	var granted bool
	for _, s := range res2.Steps {
		if s.Step == "grant-consent" && s.Result == "done" && strings.Contains(s.Detail, "GroupMember.Read.All") {
			granted = true
		}
	}
	if !granted {
		t.Errorf("the re-run did not grant GroupMember.Read.All again: %+v\n%s", res2.Steps, r2.stderr)
	}
	prof, _ := steps.LoadProfile("directory-sync")
	checkTenantMatchesProfile(t, tn, c, prof, res2)
	c.run("test").mustSucceed(t)
}
