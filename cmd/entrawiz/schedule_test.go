package main

// The "done when": an admin runs setup and `schedule install` and
// never comes back; when the secret nears its end, what the schedule runs
// warns and rotates it with overlap. The test moves the secret's end in the
// simulated tenant and runs the exact command line of the generated unit.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// runExact runs one command line exactly as a scheduler would give it
// (args[0] is the binary), with the test's keyring and no terminal.
func (c *cli) runExact(line []string, sched app.Scheduler) *result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	errOut := &syncBuffer{}
	f := &factory{Global: &globalOptions{}, In: strings.NewReader(""), Out: &out, ErrOut: errOut,
		Secrets: func() store.Secrets { return c.keys }, Now: time.Now, Backoff: c.backoff, OnDeviceCode: c.onDeviceCode,
		Scheduler: sched, Exe: "/usr/local/bin/entrawiz"}
	root := newRootCmd(ctx, f)
	root.SetArgs(line[1:])
	err := root.ExecuteContext(ctx)
	if err != nil {
		printError(errOut, err)
	}
	r := &result{args: line, stdout: out.String(), stderr: errOut.String(), err: err, code: exitCode(err)}
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
	return r
}

// execStart reads the command line of a systemd service file: its
// ExecStart words, unquoted and unescaped as systemd does.
func execStart(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "ExecStart=")
		if !ok {
			continue
		}
		var words []string
		for _, w := range strings.Split(rest, `" "`) {
			w = strings.Trim(w, `"`)
			w = strings.NewReplacer(`\"`, `"`, `\\`, `\`, "%%", "%", "$$", "$").Replace(w)
			words = append(words, w)
		}
		return words
	}
	t.Fatalf("%s has no ExecStart", path)
	return nil
}

func TestScheduledRunsWarnAndRotateBeforeTheSecretEnds(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")

	home := t.TempDir()
	var ran []string
	sched := app.Scheduler{GOOS: "linux", Home: home, Run: func(name string, args ...string) (string, error) {
		ran = append(ran, name+" "+strings.Join(args, " "))
		return "", nil
	}}
	base := []string{"entrawiz", "--login-url", tn.info.LoginURL, "--graph-url", tn.info.GraphURL, "--ca-file", tn.info.CAFile, "--config-dir", c.dir}
	r := c.runExact(append(base, "schedule", "install"), sched)
	r.mustSucceed(t)
	mustContain(t, r.stdout, "sync", "5m0s", "rotate", "daily")
	if !strings.Contains(strings.Join(ran, "\n"), "enable --now entrawiz-rotate-") {
		t.Errorf("install did not enable the timers: %v", ran)
	}
	unit := filepath.Join(home, ".config", "systemd", "user", "entrawiz-rotate-contoso.onmicrosoft.com-directory-sync.service")
	line := execStart(t, unit)
	if line[0] != "/usr/local/bin/entrawiz" {
		t.Errorf("the unit runs %s", line[0])
	}

	// Nothing to do while the secret is far from its end.
	before := c.conn()
	old := *steps.ActiveSecret(&before)
	r = c.runExact(line, sched)
	r.mustSucceed(t)
	if n := len(c.appSecrets()); n != 1 {
		t.Fatalf("the daily run made a secret a year before the end: %d on the app", n)
	}
	if c.deviceCodes() != 1 {
		t.Errorf("the scheduled run asked for a sign-in (%d device codes)", c.deviceCodes())
	}

	// The secret now ends in ten days (changed in the tenant, not here).
	if err := tn.SetSecretEnd(before.App.AppID, old.KeyID, time.Now().Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.run("status", "--check").mustFail(t, exitAdminAction)

	r = c.runExact(line, sched)
	r.mustSucceed(t)
	mustContain(t, r.stderr, "Warning: the client secret was within 30d of its end, so it was rotated")
	after := c.conn()
	act := steps.ActiveSecret(&after)
	if act == nil || strings.EqualFold(act.KeyID, old.KeyID) {
		t.Fatalf("no new active secret after the scheduled run")
	}
	if !strings.Contains(act.DisplayName, "replaces "+old.KeyID[:8]) {
		t.Errorf("the new secret's name %q does not say which it replaces", act.DisplayName)
	}
	// Overlap: the old secret is still on the app, to go in a week.
	ids := keyIDs(c.appSecrets())
	if len(ids) != 2 {
		t.Errorf("want the old and the new secret on the app, have %v", ids)
	}
	for _, s := range after.Secrets {
		if strings.EqualFold(s.KeyID, old.KeyID) && (s.Status != steps.SecretRetiring || s.RemoveAfter.Sub(time.Now()) < 6*24*time.Hour) {
			t.Errorf("old secret: %s, removed after %s", s.Status, s.RemoveAfter)
		}
	}
	c.assertWorking("after the scheduled rotation")
	if c.deviceCodes() != 1 {
		t.Errorf("the scheduled runs asked for a sign-in (%d device codes)", c.deviceCodes())
	}
	c.run("status", "--check").mustSucceed(t)

	// status shows the schedule; remove takes it away.
	st := c.runExact(append(base, "schedule", "show"), sched)
	st.mustSucceed(t)
	mustContain(t, st.stdout, "Installed on this machine", unit)
	rm := c.runExact(append(base, "schedule", "remove"), sched)
	rm.mustSucceed(t)
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after remove")
	}
}

// TestScheduledRotationNeverWaitsForASignIn: with no saved sign-in, the
// scheduled rotation exits 3 at once instead of showing a device code.
func TestScheduledRotationNeverWaitsForASignIn(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	os.Remove(filepath.Join(c.dir, "signin-cache.bin"))
	r := c.run("rotate", "--if-expiring-within", "30d", "--no-prompt")
	out := r.mustFail(t, exitAdminAction)
	mustContain(t, out, "saved admin sign-in no longer works")
	if c.deviceCodes() != 1 {
		t.Errorf("--no-prompt showed a device code")
	}
}

// TestSecretShowPrintsTheKeyringsValueOnce: exactly the stored value, once,
// and only with --yes when not in a terminal.
func TestSecretShowPrintsTheKeyringsValueOnce(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	c.run("secret", "show").mustFail(t, exitUsage)
	r := c.run("secret", "show", "--yes")
	r.mustSucceed(t)
	r.reveals = true
	conn := c.conn()
	want := c.keyringValue(steps.ActiveSecret(&conn).KeyringName)
	if r.stdout != want+"\n" {
		t.Errorf("secret show printed %d bytes, not exactly the keyring's value and a newline", len(r.stdout))
	}
	if strings.Count(r.stdout, want) != 1 || strings.Contains(r.stderr, want) {
		t.Errorf("the secret is printed more than once, or on stderr")
	}
}

// TestRevealSecretNeverMakesAnother: a re-run of rotate --reveal-secret
// while the rotation is pending shows its secret and adds none.
func TestRevealSecretNeverMakesAnother(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	c.mustSetup("directory-sync")
	r1 := c.run("rotate", "--reveal-secret", "--json")
	r1.mustSucceed(t)
	r1.reveals = true
	r2 := c.run("rotate", "--reveal-secret", "--json")
	r2.mustSucceed(t)
	r2.reveals = true
	if n := len(c.appSecrets()); n != 2 {
		t.Errorf("two rotate --reveal-secret runs left %d secrets on the app, want 2 (old and new)", n)
	}
	conn := c.conn()
	want := c.keyringValue(steps.ActiveSecret(&conn).KeyringName)
	if !strings.Contains(r1.stdout, want) || !strings.Contains(r2.stdout, want) {
		t.Errorf("the runs did not both reveal the new secret")
	}
	mustContain(t, r2.stdout, "no other secret is made")
}
