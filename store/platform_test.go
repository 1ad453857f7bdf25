package store

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// checkPerm checks a file's Unix permission bits. Windows has none to
// check: Go reports 0666 (0444 when read-only) whatever the ACL says, and
// what keeps the files private there is the ACL they inherit from the
// user's profile directory (docs/platforms.md).
func checkPerm(t *testing.T, fi fs.FileInfo, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", fi.Name(), fi.Mode().Perm(), want)
	}
}

// TestConfigInAProfileWithSpacesAndNonASCII keeps the config, the token
// cache and the directory database under a user name with spaces and
// letters outside ASCII, as Windows (C:\Users\Zoë Ångström\AppData\Roaming)
// and macOS (~/Library/Application Support) lay out a config directory.
func TestConfigInAProfileWithSpacesAndNonASCII(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Zoë Ångström 山田", "Application Support", "entrawiz")
	c := &Config{}
	c.Put(Connection{Name: "contoso.onmicrosoft.com/directory-sync", Profile: "directory-sync"})
	if err := SaveConfig(dir, c); err != nil {
		t.Fatalf("save: %v", err)
	}
	got, err := LoadConfig(dir)
	if err != nil || got.Connection("contoso.onmicrosoft.com/directory-sync") == nil {
		t.Fatalf("load: %+v, %v", got, err)
	}
	tc := &TokenCache{Path: filepath.Join(dir, "token-cache.bin"), Secrets: NewMemKeyring()}
	if err := tc.Save([]byte("cache")); err != nil {
		t.Fatalf("token cache save: %v", err)
	}
	if b, err := tc.Load(); err != nil || string(b) != "cache" {
		t.Fatalf("token cache load: %q, %v", b, err)
	}
	db, err := OpenDirectory(filepath.Join(dir, "directories", "contoso.onmicrosoft.com directory-sync"))
	if err != nil {
		t.Fatalf("directory database: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFileAtomicReplacesAFileAnotherHolds replaces a file while
// another handle holds it open for reading, as another entrawiz, a virus
// scanner or the search indexer does. On Windows the rename is refused for
// as long as that handle is open and replaceFile tries again; elsewhere it
// succeeds at once. Either way the writer succeeds and a reader sees the
// old file or the new one, never a mix.
func TestWriteFileAtomicReplacesAFileAnotherHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	oldData, newData := bytes.Repeat([]byte("o"), 4096), bytes.Repeat([]byte("n"), 8192)
	if err := WriteFileAtomic(path, oldData); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		held.Close()
		close(released)
	}()
	if err := WriteFileAtomic(path, newData); err != nil {
		t.Fatalf("replace while another handle holds the file: %v", err)
	}
	<-released
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, newData) {
		t.Fatalf("after replace: %d bytes, %v; want the new %d bytes", len(got), err, len(newData))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("%d files left in the directory, want only config.json", len(entries))
	}
}
