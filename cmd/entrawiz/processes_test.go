//go:build unix

package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/internal/ci"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// TestProcessesOverlap is D1 with real processes, as an admin's cron and
// terminal would run them: the built binary, the OS keyring, one config
// directory. A sync has read the config and is frozen (SIGSTOP) mid-run
// while a rotation with delivery runs to the end in another process; the
// sync then finishes and saves. The delivered secret must stay recorded,
// in the keyring and working, and a clean-up must leave it alone; a second
// sync started while the first is frozen is refused, naming it.
func TestProcessesOverlap(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGSTOP is POSIX")
	}
	if !ci.Running() {
		// The processes use the OS keyring under entrawiz's own item names
		// (the sign-in cache's key among them): only a keyring of its own,
		// as CI's is, may take them.
		t.Skip("runs in CI only, where the OS keyring is a fresh one (see .ci/run)")
	}
	t.Parallel()
	bin := tuiBuild(t)
	tn := startTenant(t, sim.Faults{})
	dir := t.TempDir()
	env := append(os.Environ(), "ENTRAWIZ_LOGIN_URL="+tn.info.LoginURL, "ENTRAWIZ_GRAPH_URL="+tn.info.GraphURL,
		"ENTRAWIZ_CA_FILE="+tn.info.CAFile, "ENTRAWIZ_CONFIG_DIR="+dir)
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	// approve answers every device code waiting, as the admin would.
	approve := func() {
		for _, code := range tn.PendingDeviceCodes() {
			tn.ApproveDeviceCode(code, tn.info.AdminUPN)
		}
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		c := command(args...)
		var out, errOut bytes.Buffer
		c.Stdout, c.Stderr = &out, &errOut
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("entrawiz %s: %v\n%s\n%s", strings.Join(args, " "), err, errOut.String(), out.String())
				}
				return out.String(), errOut.String()
			case <-time.After(100 * time.Millisecond):
				approve()
			}
		}
	}
	var setup struct {
		Connection string
		App        struct{ AppID string }
	}
	out, _ := run("setup", "--profile", "directory-sync", "--tenant", tn.info.TenantDomain, "--yes", "--json")
	if err := json.Unmarshal([]byte(out), &setup); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { command("reset", "--yes").Run() }) // its secrets leave the OS keyring
	all, _ := tn.GroupID("All Users")
	run("groups", "pick", all)

	// The sync reads the config, then is frozen at its first page.
	tn.SetFaults(sim.Faults{Latency: 300 * time.Millisecond})
	sync := command("sync")
	stderr, _ := sync.StderrPipe()
	if err := sync.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sync.Process.Kill(); sync.Wait() })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if countPath(tn.Requests(), "/delta") > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err := sync.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	tn.SetFaults(sim.Faults{})

	// A second sync is refused at once, naming the frozen one.
	second := command("sync")
	msg, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), fmt.Sprintf("process %d", sync.Process.Pid)) {
		t.Fatalf("a second sync beside a running one: %v\n%s", err, msg)
	}

	hashFile := filepath.Join(t.TempDir(), "delivered.sha256")
	var rot struct {
		Secret struct{ KeyID, KeyringName string }
	}
	out, _ = run("rotate", "--json", "--deliver-cmd", "sha256sum | cut -d' ' -f1 > "+hashFile)
	if err := json.Unmarshal([]byte(out), &rot); err != nil || rot.Secret.KeyID == "" {
		t.Fatalf("rotate: %v\n%s", err, out)
	}

	if err := sync.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	rest := bufio.NewScanner(stderr)
	for rest.Scan() {
	}
	if err := sync.Wait(); err != nil {
		t.Fatalf("the frozen sync, resumed: %v", err)
	}
	// The sync saved last: the rotation's secret must still be the active
	// one (a clean-up would recover it otherwise, hiding a lost record).
	if conn := readConnection(t, dir); steps.ActiveSecret(conn) == nil || steps.ActiveSecret(conn).KeyID != rot.Secret.KeyID {
		t.Fatalf("after the sync saved, the active secret is %+v, want the delivered %s", steps.ActiveSecret(conn), rot.Secret.KeyID)
	}

	out, _ = run("rotate", "--json", "--clean-up", "--finish")
	if strings.Contains(out, rot.Secret.KeyID) && strings.Contains(out, `"removed"`) {
		var res struct{ Removed []string }
		json.Unmarshal([]byte(out), &res)
		for _, id := range res.Removed {
			if strings.EqualFold(id, rot.Secret.KeyID) {
				t.Fatalf("the clean-up removed the delivered secret %s", id)
			}
		}
	}
	conn := readConnection(t, dir)
	active := steps.ActiveSecret(conn)
	if active == nil || active.KeyID != rot.Secret.KeyID || conn.State.Sync == nil {
		t.Fatalf("after the clean-up: active %+v, want the delivered %s; last sync %+v", active, rot.Secret.KeyID, conn.State.Sync)
	}
	secret, err := (store.OSKeyring{}).Get(active.KeyringName)
	if err != nil {
		t.Fatalf("the delivered secret is not in the OS keyring: %v", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if delivered, _ := os.ReadFile(hashFile); strings.TrimSpace(string(delivered)) != hex.EncodeToString(sum[:]) {
		t.Fatalf("the keyring's secret is not the one delivered")
	}
	if status, body := tn.clientCredentials(t, setup.App.AppID, secret); status != http.StatusOK {
		t.Fatalf("the delivered secret no longer signs in: %d %v", status, body)
	}
}

// countPath counts the logged requests whose path contains s.
func countPath(reqs []sim.LoggedRequest, s string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.Path, s) {
			n++
		}
	}
	return n
}

// readConnection reads the one connection of the config in dir.
func readConnection(t *testing.T, dir string) *store.Connection {
	t.Helper()
	cfg, err := store.LoadConfig(dir)
	if err != nil || len(cfg.Connections) != 1 {
		t.Fatalf("config: %v, %d connections", err, len(cfg.Connections))
	}
	return &cfg.Connections[0]
}
