package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// ConfigVersion is the schema version this build writes.
const ConfigVersion = 1

// Config is everything entrawiz remembers about its connections. It never
// holds a secret: secrets are in the keyring, named by SecretRef.KeyringName.
type Config struct {
	Version     int          `json:"version"`
	Connections []Connection `json:"connections"`
}

// Connection is one tenant + profile set up by entrawiz.
type Connection struct {
	Name     string    `json:"name"` // "<tenant domain>/<profile>"
	Profile  string    `json:"profile"`
	Cloud    string    `json:"cloud,omitempty"`
	LoginURL string    `json:"loginUrl,omitempty"`
	GraphURL string    `json:"graphUrl,omitempty"`
	Tenant   Tenant    `json:"tenant"`
	App      App       `json:"app"`
	Secrets  []Secret  `json:"secrets,omitempty"`
	Enabled  bool      `json:"enabled"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// State is what each step recorded, so a run can be resumed and a
	// re-run can tell what is already done.
	State State `json:"state"`
}

// Tenant identifies the customer's directory.
type Tenant struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName,omitempty"`
	PrimaryDomain string `json:"primaryDomain,omitempty"`
	InitialDomain string `json:"initialDomain,omitempty"`
}

// App is the app registration and its service principal.
type App struct {
	ObjectID           string `json:"objectId,omitempty"`
	AppID              string `json:"appId,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	DisplayName        string `json:"displayName,omitempty"`
}

// Secret describes a client secret without its value: the value is in the
// keyring under KeyringName.
type Secret struct {
	KeyID       string    `json:"keyId"`
	Hint        string    `json:"hint,omitempty"`
	DisplayName string    `json:"displayName,omitempty"`
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
	KeyringName string    `json:"keyringName,omitempty"`
	Status      string    `json:"status,omitempty"` // active, next (rotation in progress), retiring
	// RemoveAfter is when a retiring secret is due to be removed (zero:
	// only when the admin confirms with `entrawiz rotate --finish`).
	RemoveAfter time.Time `json:"removeAfter,omitempty"`
}

// CorruptError means the config file exists but cannot be read as a config.
// The file is left as it is.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("config file %s is damaged and was left untouched (%v); move it aside to start afresh, or fix it", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ConfigPath is where the config lives in a config directory.
func ConfigPath(dir string) string { return filepath.Join(dir, "config.json") }

// LoadConfig reads the config; a missing file is an empty config.
func LoadConfig(dir string) (*Config, error) {
	path := ConfigPath(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Version: ConfigVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var probe struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	if probe.Version > ConfigVersion {
		return nil, fmt.Errorf("config file %s was written by a newer entrawiz (schema %d, this one reads %d): upgrade entrawiz", path, probe.Version, ConfigVersion)
	}
	if probe.Version < 1 {
		return nil, &CorruptError{Path: path, Err: errors.New("no schema version")}
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	return &c, nil
}

// SaveConfig writes the config atomically with mode 0600, creating the
// directory (0700) if needed. It refuses to replace a damaged file.
func SaveConfig(dir string, c *Config) error {
	if _, err := LoadConfig(dir); err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	c.Version = ConfigVersion
	sort.SliceStable(c.Connections, func(i, j int) bool { return c.Connections[i].Name < c.Connections[j].Name })
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return WriteFileAtomic(ConfigPath(dir), append(b, '\n'))
}

// Connection returns the named connection, or nil.
func (c *Config) Connection(name string) *Connection {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i]
		}
	}
	return nil
}

// Put adds or replaces a connection by name.
func (c *Config) Put(conn Connection) {
	if old := c.Connection(conn.Name); old != nil {
		*old = conn
		return
	}
	c.Connections = append(c.Connections, conn)
}

// Remove deletes a connection by name; it reports whether one was there.
func (c *Config) Remove(name string) bool {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			c.Connections = append(c.Connections[:i], c.Connections[i+1:]...)
			return true
		}
	}
	return false
}

// WriteFileAtomic writes data to a temporary file in path's directory with
// mode 0600, syncs it, and renames it over path, so readers see the old or
// the new file and never half of one.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := replaceFile(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// replaceFile renames tmp over path. On Windows a rename over a file that
// another process has open (another entrawiz reading the config, a virus
// scanner, the search indexer) is refused for as long as it stays open, so
// it is tried again for up to two seconds, as the Go toolchain does.
func replaceFile(tmp, path string) error {
	deadline := time.Now().Add(2 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := os.Rename(tmp, path)
		if err == nil || runtime.GOOS != "windows" || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}
