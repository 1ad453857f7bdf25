package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/internal/ci"
)

func TestConfigRoundTripIsPrivateAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "entrawiz")
	c, err := LoadConfig(dir)
	if err != nil || len(c.Connections) != 0 {
		t.Fatalf("missing config: got %+v, %v; want empty config", c, err)
	}
	end := time.Date(2027, 11, 23, 0, 0, 0, 0, time.UTC)
	c.Put(Connection{Name: "contoso.onmicrosoft.com/directory-sync", Profile: "directory-sync",
		Tenant: Tenant{ID: "t1"}, App: App{AppID: "a1"}, Secrets: []Secret{{KeyID: "k1", Hint: "abc", End: end, KeyringName: "contoso/directory-sync"}}})
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	checkPerm(t, st, 0o600)
	dst, _ := os.Stat(dir)
	checkPerm(t, dst, 0o700)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("config dir holds %d files, want only config.json (no temp files left)", len(entries))
	}
	back, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Connection("contoso.onmicrosoft.com/directory-sync")
	if got == nil || got.App.AppID != "a1" || !got.Secrets[0].End.Equal(end) || back.Version != ConfigVersion {
		t.Fatalf("round trip lost data: %+v", back)
	}
	if !back.Remove(got.Name) || back.Connection(got.Name) != nil {
		t.Error("Remove did not remove the connection")
	}
}

func TestCorruptConfigIsReportedAndKept(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"not json", "{\"version\": 1, \"connections\": ["},
		{"no version", "{}"},
		{"wrong types", `{"version": 1, "connections": "nope"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(ConfigPath(dir), []byte(tc.content), 0o600)
			_, err := LoadConfig(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != ConfigPath(dir) || !strings.Contains(err.Error(), ConfigPath(dir)) {
				t.Fatalf("LoadConfig error = %v, want a CorruptError naming the path", err)
			}
			if err := SaveConfig(dir, &Config{}); !errors.As(err, &ce) {
				t.Fatalf("SaveConfig over a damaged file: %v, want CorruptError", err)
			}
			if b, _ := os.ReadFile(ConfigPath(dir)); string(b) != tc.content {
				t.Error("the damaged file was changed")
			}
		})
	}
}

func TestNewerConfigIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(ConfigPath(dir), []byte(`{"version": 99}`), 0o600)
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "newer entrawiz") {
		t.Fatalf("err = %v, want a newer-version error", err)
	}
}

func TestTokenCacheIsEncryptedUnderAKeyringKey(t *testing.T) {
	kr := NewMemKeyring()
	path := filepath.Join(t.TempDir(), "token-cache.bin")
	tc := &TokenCache{Path: path, Secrets: kr}
	if got, err := tc.Load(); err != nil || got != nil {
		t.Fatalf("empty cache: %q, %v", got, err)
	}
	plain := []byte(`{"RefreshToken":{"x":{"secret":"refresh-token-value-1234567890"}}}`)
	if err := tc.Save(plain); err != nil {
		t.Fatal(err)
	}
	sealed, _ := os.ReadFile(path)
	if bytes.Contains(sealed, []byte("refresh-token-value")) {
		t.Fatal("the token cache file holds the token in plain text")
	}
	st, _ := os.Stat(path)
	checkPerm(t, st, 0o600)
	got, err := tc.Load()
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Load = %q, %v", got, err)
	}
	// Without the key the cache is as good as none: sign in again.
	kr.Delete("token-cache-key")
	if got, err := tc.Load(); err != nil || got != nil {
		t.Fatalf("cache without its key: %q, %v; want nothing", got, err)
	}
	if err := tc.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("Clear left the file")
	}
}

func TestMemKeyringNotFound(t *testing.T) {
	kr := NewMemKeyring()
	if _, err := kr.Get("x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// TestOSKeyring uses the real OS keyring. CI runs it inside a D-Bus session
// with gnome-keyring unlocked and it must not be skipped there.
func TestOSKeyring(t *testing.T) {
	kr := OSKeyring{Timeout: 20 * time.Second}
	b := make([]byte, 8)
	rand.Read(b)
	name := "entrawiz-test-" + hex.EncodeToString(b)
	value := "s3cr3t~value." + hex.EncodeToString(b)
	err := kr.Set(name, value)
	var nk *NoKeyringError
	if (errors.As(err, &nk) || errors.Is(err, ErrKeyringLocked)) && !ci.Running() {
		t.Skipf("no OS keyring on this machine (CI runs this test with one): %v", err)
	}
	if err != nil {
		t.Fatalf("keyring set: %v", err)
	}
	t.Cleanup(func() { kr.Delete(name) })
	got, err := kr.Get(name)
	if err != nil || got != value {
		t.Fatalf("keyring get: matches=%v, %v", got == value, err)
	}
	if err := kr.Delete(name); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get(name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := kr.Delete(name); err != nil {
		t.Fatalf("deleting a missing item: %v, want nil", err)
	}
	// The token cache works on the real keyring too.
	tc := &TokenCache{Path: filepath.Join(t.TempDir(), "c.bin"), Secrets: kr, KeyName: name + "-key"}
	t.Cleanup(func() { tc.Clear() })
	if err := tc.Save([]byte("cache")); err != nil {
		t.Fatal(err)
	}
	if got, err := tc.Load(); err != nil || string(got) != "cache" {
		t.Fatalf("token cache on the OS keyring: %q, %v", got, err)
	}
	// The largest value entrawiz stores goes into the real keyring whole
	// (on Windows, Credential Manager's own limit).
	big := strings.Repeat(value, MaxSecretBytes/len(value)+1)[:MaxSecretBytes]
	if err := kr.Set(name+"-big", big); err != nil {
		t.Fatalf("keyring set of %d bytes: %v", len(big), err)
	}
	t.Cleanup(func() { kr.Delete(name + "-big") })
	if got, err := kr.Get(name + "-big"); err != nil || got != big {
		t.Fatalf("keyring get of %d bytes: matches=%v (%d bytes), %v", len(big), got == big, len(got), err)
	}
}
