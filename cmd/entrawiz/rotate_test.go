package main

// End-to-end tests of `entrawiz rotate` and the secret lifecycle against the
// simulated tenant over TLS: expiry, overlap rotation, the lifetime policy,
// replication delay, and a fault injected after each sub-step of a rotation.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

// rotateJSON is `rotate --json` as the tests read it.
type rotateJSON struct {
	steps.RotateResult
	Steps   []ui.StepLine        `json:"steps"`
	Handoff []steps.HandoffValue `json:"handoff"`
	Error   map[string]string    `json:"error"`
}

// runOpts change how one command runs: a moved clock, and a stop (the
// context cancelled, as a killed process) once stderr shows a line.
type runOpts struct {
	now    func() time.Time
	stopAt string
	// at, when stderr first shows onLine, runs once (e.g. to inject a fault).
	onLine string
	at     func()
}

// cancelWriter cancels the command's context when the text appears.
type cancelWriter struct {
	syncBuffer
	once, hook sync.Once
	at         string
	cancel     context.CancelFunc
	onLine     string
	do         func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	text := w.syncBuffer.String()
	if w.onLine != "" && strings.Contains(text, w.onLine) {
		w.hook.Do(w.do)
	}
	if w.at != "" && strings.Contains(text, w.at) {
		w.once.Do(w.cancel)
	}
	return n, err
}

// runWith runs one command as runStdin does, with runOpts.
func (c *cli) runWith(o runOpts, args ...string) *result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	errOut := &cancelWriter{at: o.stopAt, cancel: cancel, onLine: o.onLine, do: o.at}
	now := o.now
	if now == nil {
		now = time.Now
	}
	f := &factory{Global: &globalOptions{}, In: strings.NewReader(""), Out: &out, ErrOut: errOut, IsTTY: false,
		Secrets: func() store.Secrets { return c.keys }, Now: now, Backoff: c.backoff, OnDeviceCode: c.onDeviceCode}
	root := newRootCmd(ctx, f)
	root.SetArgs(append(slices.Clone(args), "--login-url", c.tn.info.LoginURL, "--graph-url", c.tn.info.GraphURL,
		"--ca-file", c.tn.info.CAFile, "--config-dir", c.dir))
	err := root.ExecuteContext(ctx)
	if err != nil {
		printError(errOut, err)
	}
	r := &result{args: args, stdout: out.String(), stderr: errOut.String(), err: err, code: exitCode(err)}
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
	return r
}

func (c *cli) rotate(o runOpts, extra ...string) (*result, rotateJSON) {
	c.t.Helper()
	r := c.runWith(o, append([]string{"rotate", "--json"}, extra...)...)
	var out rotateJSON
	if strings.TrimSpace(r.stdout) != "" {
		r.decode(c.t, &out)
	}
	return r, out
}

func (c *cli) conn() store.Connection {
	c.t.Helper()
	cfg := c.config()
	if len(cfg.Connections) != 1 {
		c.t.Fatalf("want one connection, have %d", len(cfg.Connections))
	}
	return cfg.Connections[0]
}

// appSecrets lists the app's password credentials as Graph shows them.
func (c *cli) appSecrets() []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for _, p := range c.tn.get(c.t, "/applications/"+c.conn().App.ObjectID)["passwordCredentials"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func keyIDs(creds []map[string]any) []string {
	var out []string
	for _, p := range creds {
		out = append(out, strings.ToLower(p["keyId"].(string)))
	}
	return out
}

// assertWorking checks the invariant of every rotation: the keyring's
// active secret gets an app-only token from the sim's token endpoint.
func (c *cli) assertWorking(when string) store.Secret {
	c.t.Helper()
	conn := c.conn()
	act := steps.ActiveSecret(&conn)
	if act == nil {
		c.t.Fatalf("%s: no active secret in the config", when)
	}
	status, body := c.tn.clientCredentials(c.t, conn.App.AppID, c.keyringValue(act.KeyringName))
	if status != http.StatusOK {
		c.t.Fatalf("%s: the active secret %s gets no token: %d %v", when, act.KeyID, status, body)
	}
	return *act
}

// addOutsideSecret adds a secret as another tool would, straight through
// Graph, with its own display name; it returns the key ID.
func (c *cli) addOutsideSecret() string {
	c.t.Helper()
	status, body := c.tn.graph(c.t, http.MethodPost, "/applications/"+c.conn().App.ObjectID+"/addPassword",
		map[string]any{"passwordCredential": map[string]any{"displayName": "vendor backup key"}})
	if status != http.StatusOK {
		c.t.Fatalf("add an outside secret: %d %v", status, body)
	}
	c.mustNotLeak(body["secretText"].(string))
	return strings.ToLower(body["keyId"].(string))
}

func TestRotateExpiredSecret(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	outside := c.addOutsideSecret()
	old := c.assertWorking("after setup")
	if err := tn.ExpireSecrets(c.conn().App.AppID); err != nil {
		t.Fatal(err)
	}
	msg := c.run("test").mustFail(t, exitAdminAction)
	mustContain(t, msg, "expired", "entrawiz rotate")

	r, out := c.rotate(runOpts{})
	r.mustSucceed(t)
	if !out.Rotated || out.Secret == nil || out.Secret.KeyID == old.KeyID {
		t.Fatalf("rotate did not make a new active secret: %+v", out.RotateResult)
	}
	c.assertWorking("after rotate")
	c.run("test").mustSucceed(t)
	// Without --remove-old-after or --finish the old secret stays.
	ids := keyIDs(c.appSecrets())
	if !slices.Contains(ids, strings.ToLower(old.KeyID)) || !slices.Contains(ids, outside) {
		t.Fatalf("the old or the outside secret was removed: %v", ids)
	}
	if len(out.Retiring) != 1 || !out.Retiring[0].RemoveAfter.IsZero() {
		t.Fatalf("want the old secret retiring until --finish: %+v", out.Retiring)
	}
	var st struct {
		Connections []app.ConnectionStatus `json:"connections"`
	}
	sr := c.run("status", "--json")
	sr.mustSucceed(t)
	sr.decode(t, &st)
	madeBy := map[string]string{}
	for _, cr := range st.Connections[0].Credentials {
		madeBy[strings.ToLower(cr.KeyID)] = cr.MadeBy + "/" + cr.State
	}
	if madeBy[outside] != "outside/expired" || madeBy[strings.ToLower(out.Secret.KeyID)] != "entrawiz/ok" {
		t.Fatalf("status credentials: %v", madeBy)
	}

	r, out = c.rotate(runOpts{}, "--finish")
	r.mustSucceed(t)
	ids = keyIDs(c.appSecrets())
	if slices.Contains(ids, strings.ToLower(old.KeyID)) || !slices.Contains(ids, outside) {
		t.Fatalf("--finish: want the old secret gone and the outside one kept: %v", ids)
	}
	if _, err := c.keys.Get(old.KeyringName); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("--finish left the old secret in the keyring: %v", err)
	}
	c.assertWorking("after --finish")
}

// assertNoLostCredential checks that every entrawiz-made credential on the
// app is one the config and the keyring hold (or is reported as left by a
// stopped run), and that the outside secret is still there.
func (c *cli) assertNoLostCredential(when, outside string, reported []steps.Leftover) {
	c.t.Helper()
	conn := c.conn()
	ids := keyIDs(c.appSecrets())
	if !slices.Contains(ids, outside) {
		c.t.Fatalf("%s: the secret made outside entrawiz is gone: %v", when, ids)
	}
	for _, p := range c.appSecrets() {
		id := strings.ToLower(p["keyId"].(string))
		if id == outside {
			continue
		}
		held := false
		for _, s := range conn.Secrets {
			if strings.EqualFold(s.KeyID, id) {
				_, err := c.keys.Get(s.KeyringName)
				held = err == nil
			}
		}
		for _, l := range reported {
			held = held || strings.EqualFold(l.KeyID, id)
		}
		if !held {
			c.t.Errorf("%s: credential %s (%v) is on the app but neither held nor reported", when, id, p["displayName"])
		}
	}
}

func TestRotateIfExpiringWithin(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync") // 365 days
	outside := c.addOutsideSecret()
	old := c.assertWorking("after setup")
	later := func() time.Time { return time.Now().AddDate(0, 0, 355) } // 10 days left
	r, out := c.rotate(runOpts{now: later}, "--if-expiring-within", "5d")
	r.mustSucceed(t)
	if out.Rotated || out.Skipped == "" || !strings.Contains(out.Skipped, "not within") {
		t.Fatalf("--if-expiring-within 5d with 10 days left should be a no-op: %+v", out.RotateResult)
	}
	if n := len(c.appSecrets()); n != 2 {
		t.Fatalf("the no-op added or removed a secret: %d on the app", n)
	}
	st := c.runWith(runOpts{now: later}, "status")
	st.mustSucceed(t)
	mustContain(t, st.stdout, "expiring, 10 days", "outside")

	r, out = c.rotate(runOpts{now: later}, "--if-expiring-within", "30d", "--remove-old-after", "0s")
	r.mustSucceed(t)
	if !out.Rotated || out.Secret.KeyID == old.KeyID {
		t.Fatalf("--if-expiring-within 30d should rotate: %+v", out.RotateResult)
	}
	if !slices.Contains(out.Removed, old.KeyID) {
		t.Fatalf("--remove-old-after 0s should remove the old secret at once: removed %v", out.Removed)
	}
	c.assertWorking("after rotate")
	c.assertNoLostCredential("after rotate", outside, nil)
	if ids := keyIDs(c.appSecrets()); slices.Contains(ids, strings.ToLower(old.KeyID)) || len(ids) != 2 {
		t.Fatalf("want the new and the outside secret: %v", ids)
	}
}

func TestRotateRemoveOldAfterDuration(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	outside := c.addOutsideSecret()
	old := c.assertWorking("after setup")
	r, out := c.rotate(runOpts{}, "--remove-old-after", "48h")
	r.mustSucceed(t)
	if len(out.Retiring) != 1 || out.Retiring[0].RemoveAfter.IsZero() {
		t.Fatalf("want the old secret retiring with a date: %+v", out.Retiring)
	}
	// A cron run the next day: nothing due, nothing to rotate.
	r, out = c.rotate(runOpts{now: func() time.Time { return time.Now().Add(24 * time.Hour) }}, "--if-expiring-within", "30d")
	r.mustSucceed(t)
	if !slices.Contains(keyIDs(c.appSecrets()), strings.ToLower(old.KeyID)) || len(out.Removed) != 0 {
		t.Fatalf("the old secret was removed before it was due: %v", out.Removed)
	}
	// Three days later it is due, and the next run removes it.
	r, out = c.rotate(runOpts{now: func() time.Time { return time.Now().Add(72 * time.Hour) }}, "--if-expiring-within", "30d")
	r.mustSucceed(t)
	if !slices.Contains(out.Removed, old.KeyID) || out.Rotated {
		t.Fatalf("the due old secret should be removed, nothing rotated: %+v", out.RotateResult)
	}
	c.assertWorking("after removal")
	c.assertNoLostCredential("after removal", outside, nil)
	// --remove names a secret made outside entrawiz: only then is it removed.
	r, out = c.rotate(runOpts{}, "--finish", "--remove", outside)
	r.mustSucceed(t)
	if slices.Contains(keyIDs(c.appSecrets()), outside) {
		t.Fatal("--remove KEYID did not remove the named secret")
	}
	c.assertWorking("after --remove")
	// The active secret cannot be removed by name.
	act := c.assertWorking("before")
	mustContain(t, c.runWith(runOpts{}, "rotate", "--remove", act.KeyID).mustFail(t, exitError), "active secret")
}

func TestRotateLifetimePolicy(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync") // asks 365 days
	tn.SetSecretMaxLifetime(90 * 24 * time.Hour)
	r, out := c.rotate(runOpts{}, "--remove-old-after", "0s")
	r.mustSucceed(t)
	if out.Secret == nil || out.Secret.End.After(time.Now().Add(90*24*time.Hour)) {
		t.Fatalf("the new secret outlives the 90-day policy: %+v", out.Secret)
	}
	if len(out.Notes) == 0 || !strings.Contains(out.Notes[0], "at most 90 days (P90D)") || !strings.Contains(out.Notes[0], "365") {
		t.Fatalf("want a note naming the cap: %v", out.Notes)
	}
	c.assertWorking("after a capped rotation")
	// Entra's own refusal, as a client that ignores the policy meets it.
	status, body := tn.graph(t, http.MethodPost, "/applications/"+c.conn().App.ObjectID+"/addPassword",
		map[string]any{"passwordCredential": map[string]any{"displayName": "too long"}})
	e, _ := body["error"].(map[string]any)
	if status != http.StatusBadRequest || e["code"] != "CredentialInvalidLifetimeAsPerAppPolicy" {
		t.Fatalf("an addPassword beyond the policy: %d %v", status, body)
	}
}

func TestRotateWaitsOutReplication(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	tn.SetFaults(sim.Faults{ReplicationDelay: 2 * time.Second})
	r, out := c.rotate(runOpts{}, "--remove-old-after", "0s")
	r.mustSucceed(t)
	if !out.Rotated {
		t.Fatalf("not rotated: %+v", out.RotateResult)
	}
	mustContain(t, r.stderr, "waiting for Entra to replicate")
	tn.SetFaults(sim.Faults{})
	c.assertWorking("after a rotation with replication delay")
}

// failingSet is a keyring whose writes fail (reads and deletes work), as a
// keyring that locks mid-run does; before runs first when set.
type failingSet struct {
	inner  store.Secrets
	before func()
}

func (k failingSet) Get(name string) (string, error) { return k.inner.Get(name) }
func (k failingSet) Delete(name string) error        { return k.inner.Delete(name) }
func (k failingSet) Set(name, value string) error {
	if strings.HasPrefix(name, "write-check/") {
		return k.inner.Set(name, value) // it locks after entrawiz checked it
	}
	if k.before != nil {
		k.before()
	}
	return errors.New("keyring write " + name + ": " + store.ErrKeyringLocked.Error())
}

// TestRotateFaults injects a fault after each sub-step of a rotation. Each
// leaves a working secret and no lost credential; the next run (with
// --clean-up) finishes or cleans up, and the outside secret survives all.
func TestRotateFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// fault runs the faulty rotation; it returns the exit code wanted.
		fault func(t *testing.T, c *cli) (runOpts, []string, int)
		after func(t *testing.T, c *cli) // undo the fault before the next run
		// wantNext: the stopped run left a verified-or-not "next" secret
		// the next run finishes; wantLeftover: the next run reports one.
		wantNext, wantLeftover bool
	}{
		{name: "keyring write fails", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			c.keys.Use(failingSet{inner: c.keys.Current()})
			return runOpts{}, nil, exitError
		}, after: func(t *testing.T, c *cli) { c.keys.Use(c.keys.Current().(failingSet).inner) }},
		{name: "keyring write fails and Graph fails so the new secret cannot be taken back", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			c.keys.Use(failingSet{inner: c.keys.Current(), before: func() { c.tn.SetFaults(sim.Faults{ServerErrorEvery: 1}) }})
			return runOpts{}, nil, exitError
		}, after: func(t *testing.T, c *cli) {
			c.tn.SetFaults(sim.Faults{})
			c.keys.Use(c.keys.Current().(failingSet).inner)
		}, wantLeftover: true},
		{name: "Graph fails (503) between add and verify", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{onLine: "added, ends", at: func() { c.tn.SetFaults(sim.Faults{ServerErrorEvery: 1}) }}, nil, exitError
		}, after: func(t *testing.T, c *cli) { c.tn.SetFaults(sim.Faults{}) }, wantNext: true},
		{name: "stopped after add, before verify", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{stopAt: "added, ends"}, nil, exitInterrupted
		}, wantNext: true},
		{name: "stopped after verify, before activation", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{stopAt: "the new secret works"}, nil, exitInterrupted
		}, wantNext: true},
		{name: "hand-off (--deliver-cmd) fails", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{}, []string{"--deliver-cmd", "cat >/dev/null; exit 3"}, exitError
		}, wantNext: true},
		{name: "stopped after activation, before removing the old secret", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{stopAt: "is active;"}, []string{"--remove-old-after", "0s"}, exitInterrupted
		}},
		{name: "old secret removed in the portal (stale keyring entry)", fault: func(t *testing.T, c *cli) (runOpts, []string, int) {
			return runOpts{onLine: "is active;", at: func() {
				conn := c.conn()
				for _, s := range conn.Secrets {
					if s.Status == steps.SecretRetiring {
						c.tn.graph(t, http.MethodPost, "/applications/"+conn.App.ObjectID+"/removePassword", map[string]any{"keyId": s.KeyID})
					}
				}
			}}, nil, exitOK
		}, wantLeftover: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := startTenant(t, sim.Faults{})
			c := newCLI(t, tn)
			c.backoff.Budget = 3 * time.Second
			c.mustSetup("directory-sync")
			outside := c.addOutsideSecret()
			before := c.assertWorking("before the fault")
			o, extra, code := tc.fault(t, c)
			r, _ := c.rotate(o, extra...)
			if r.code != code {
				t.Fatalf("faulty run: exit %d, want %d\n%s\n%s", r.code, code, r.stderr, r.stdout)
			}
			if tc.after != nil {
				tc.after(t, c)
			}
			got := c.assertWorking("after the fault")
			if code != exitOK && !strings.Contains(tc.name, "activation,") && got.KeyID != before.KeyID {
				t.Fatalf("the active secret changed although the rotation failed")
			}
			// The next run reports what the stopped one left.
			r, out := c.rotate(runOpts{}, "--finish")
			r.mustSucceed(t)
			if tc.wantNext != out.Resumed {
				t.Errorf("next run resumed=%v, want %v", out.Resumed, tc.wantNext)
			}
			if tc.wantLeftover != (len(out.Leftovers) > 0) {
				t.Errorf("next run leftovers %+v, want some: %v", out.Leftovers, tc.wantLeftover)
			}
			for _, l := range out.Leftovers {
				if l.Removed {
					t.Errorf("removed %s without --clean-up", l.KeyID)
				}
			}
			c.assertWorking("after the next run")
			c.assertNoLostCredential("after the next run", outside, out.Leftovers)
			// --clean-up removes them; the outside secret stays.
			r, out = c.rotate(runOpts{}, "--finish", "--clean-up")
			r.mustSucceed(t)
			for _, l := range out.Leftovers {
				if !l.Removed {
					t.Errorf("--clean-up left %+v", l)
				}
			}
			r, out = c.rotate(runOpts{}, "--finish")
			r.mustSucceed(t)
			if len(out.Leftovers) > 0 {
				t.Errorf("leftovers after --clean-up: %+v", out.Leftovers)
			}
			c.assertWorking("at the end")
			c.assertNoLostCredential("at the end", outside, nil)
			c.run("test").mustSucceed(t)
			if n := len(c.appSecrets()); n != 2 {
				t.Errorf("at the end want the active and the outside secret, have %d", n)
			}
		})
	}
}

// TestWizardRotateRestoresExpired is the dashboard's rotate action (the
// wizard backend's Rotate) on a connection whose secret the sim expired.
func TestWizardRotateRestoresExpired(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	old := c.assertWorking("after setup")
	if err := tn.ExpireSecrets(c.conn().App.AppID); err != nil {
		t.Fatal(err)
	}
	c.run("test").mustFail(t, exitAdminAction)
	errOut := &syncBuffer{}
	f := &factory{Global: &globalOptions{Cloud: "public", LoginURL: tn.info.LoginURL, GraphURL: tn.info.GraphURL, CAFile: tn.info.CAFile,
		ConfigDir: c.dir, AdminClientID: sim.GraphCLIToolsID}, In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: errOut,
		Secrets: func() store.Secrets { return c.keys }, Now: time.Now, Backoff: c.backoff, OnDeviceCode: c.onDeviceCode}
	var events []steps.Event
	res, err := wizardBackend(t, f).Rotate(context.Background(), c.conn().Name, func(ev steps.Event) { events = append(events, ev) })
	if err != nil {
		t.Fatalf("dashboard rotate: %v", err)
	}
	if !res.Rotated || res.Secret == nil || res.Secret.KeyID == old.KeyID {
		t.Fatalf("dashboard rotate made no new secret: %+v", res)
	}
	c.assertWorking("after the dashboard's rotate")
	c.run("test").mustSucceed(t)
	if !slices.Contains(keyIDs(c.appSecrets()), strings.ToLower(old.KeyID)) {
		t.Fatal("the dashboard's rotate removed the old secret without --finish")
	}
	if len(events) == 0 {
		t.Fatal("no events reported")
	}
}

// TestSetupUnderLifetimePolicy: setup asks the profile's 365 days, Entra
// refuses, setup reads the policy and makes the secret within it.
func TestSetupUnderLifetimePolicy(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	tn.SetSecretMaxLifetime(180 * 24 * time.Hour)
	c := newCLI(t, tn)
	r, res := c.mustSetup("directory-sync")
	if res.Secret == nil || res.Secret.End.After(time.Now().Add(180*24*time.Hour)) {
		t.Fatalf("setup's secret outlives the policy: %+v", res.Secret)
	}
	mustContain(t, r.stderr, "at most 180 days (P180D)")
	c.assertWorking("after setup under a policy")
}
