// Package store keeps what entrawiz must remember between runs: the config
// file (never a secret), secrets in the OS keyring, and the admin's token
// cache encrypted with a key that lives in the keyring.
package store

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// KeyringService is the keyring service name every entrawiz item is filed
// under.
const KeyringService = "entrawiz"

// MaxSecretBytes is the largest value entrawiz puts in one keyring item:
// Windows Credential Manager keeps at most 2,560 bytes in a credential
// (CRED_MAX_CREDENTIAL_BLOB_SIZE, 5×512), the smallest of the three
// keyrings. macOS takes a little more (go-keyring base64-encodes the value
// into one `security -i` line of at most 4,096 bytes) and the Secret
// Service far more. Every store enforces it on every platform, so a value
// that would fail only on an admin's Windows laptop fails in every test.
//
// What fits: a client secret (40 characters; 128 at most by hand), the
// token cache's key (44), a PEM PKCS#8 private key of RSA-2048 (about 1,700
// bytes), RSA-3072 (about 2,500) or any EC curve. What does not: an
// RSA-4096 key (about 3,300 bytes) or the admin's token cache; keep those
// as TokenCache keeps its cache, in a file encrypted under a key that lives
// in the keyring.
const MaxSecretBytes = 2560

// MaxKeyringNameBytes is the longest item name entrawiz uses. Windows allows
// far longer target names, but on macOS the name shares the 4,096-byte
// `security -i` line with the base64 of up to MaxSecretBytes (3,416 bytes).
const MaxKeyringNameBytes = 512

// TooBigError means a value or an item name exceeds what every OS keyring
// can keep (MaxSecretBytes, MaxKeyringNameBytes). It is entrawiz's own
// mistake, never the admin's, and nothing was stored.
type TooBigError struct {
	What  string // "value" or "name"
	Size  int
	Limit int
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("the item's %s is %d bytes, more than the %d bytes the Windows and macOS keyrings keep in one item; "+
		"nothing was stored: this is a bug in entrawiz, please report it", e.What, e.Size, e.Limit)
}

// checkItemSize refuses a name or value that would not fit in every OS
// keyring.
func checkItemSize(name, value string) error {
	switch {
	case len(value) > MaxSecretBytes:
		return &TooBigError{What: "value", Size: len(value), Limit: MaxSecretBytes}
	case len(name) > MaxKeyringNameBytes:
		return &TooBigError{What: "name", Size: len(name), Limit: MaxKeyringNameBytes}
	}
	return nil
}

var (
	// ErrNotFound means the keyring has no item under that name.
	ErrNotFound = errors.New("not found in the keyring")
	// ErrKeyringTimeout means the keyring did not answer in time, usually
	// because it is locked and waiting for a password prompt nobody sees.
	ErrKeyringTimeout = errors.New("the OS keyring did not answer in time (is it locked?)")
	// ErrKeyringLocked means the keyring is there but locked and could not
	// be unlocked (no one to type its password).
	ErrKeyringLocked = errors.New("the OS keyring is locked: unlock it (log in to the desktop session, or `gnome-keyring-daemon --unlock`) and try again")
)

// NoKeyringError says that no keyring service is available and how to get
// one. entrawiz never falls back to storing secrets in plain files.
type NoKeyringError struct{ Err error }

func (e *NoKeyringError) Error() string {
	return "no OS keyring is available to keep the client secret: " + keyringRemedy() + " (" + e.Err.Error() + ")"
}

func (e *NoKeyringError) Unwrap() error { return e.Err }

func keyringRemedy() string {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd":
		return "install and start a Secret Service provider such as gnome-keyring or KeePassXC " +
			"(headless: apt-get install gnome-keyring dbus, then run entrawiz inside " +
			"`dbus-run-session` after unlocking with `gnome-keyring-daemon --unlock`)"
	case "darwin":
		return "unlock the login keychain (security unlock-keychain)"
	case "windows":
		return "make sure the Windows Credential Manager service is running"
	}
	return "this platform has no supported keyring"
}

// Secrets is a keyring: small named secrets.
type Secrets interface {
	Get(name string) (string, error)
	Set(name, value string) error
	Delete(name string) error
}

// SecretsPlace names where s keeps secrets, for messages: "the OS keyring"
// unless s says otherwise with a Place method.
func SecretsPlace(s Secrets) string {
	if p, ok := s.(interface{ Place() string }); ok {
		return p.Place()
	}
	return "the OS keyring"
}

// OSKeyring is the operating system's keyring (Secret Service, macOS
// Keychain, Windows Credential Manager) with a timeout on every call.
type OSKeyring struct {
	Timeout time.Duration // default 10s
}

func (k OSKeyring) timeout() time.Duration {
	if k.Timeout > 0 {
		return k.Timeout
	}
	return 10 * time.Second
}

// Get returns the named secret, or ErrNotFound.
func (k OSKeyring) Get(name string) (string, error) {
	var v string
	err := k.call("read", name, func() error {
		var err error
		v, err = keyring.Get(KeyringService, name)
		return err
	})
	return v, err
}

// Set stores the named secret, replacing any previous value. A value over
// MaxSecretBytes or a name over MaxKeyringNameBytes is refused with a
// *TooBigError before the keyring is asked, on every platform.
func (k OSKeyring) Set(name, value string) error {
	if err := checkItemSize(name, value); err != nil {
		return fmt.Errorf("keyring write %q: %w", name, err)
	}
	return k.call("write", name, func() error { return keyring.Set(KeyringService, name, value) })
}

// Delete removes the named secret; deleting a missing one is not an error.
func (k OSKeyring) Delete(name string) error {
	err := k.call("delete", name, func() error { return keyring.Delete(KeyringService, name) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// call runs f with a timeout and maps the keyring's errors. A call that
// times out is left running: the keyring APIs cannot be cancelled.
func (k OSKeyring) call(op, name string, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return mapKeyringErr(op, name, err)
	case <-time.After(k.timeout()):
		return fmt.Errorf("keyring %s %q: %w", op, name, ErrKeyringTimeout)
	}
}

func mapKeyringErr(op, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("keyring %s %q: %w", op, name, ErrNotFound)
	case errors.Is(err, keyring.ErrUnsupportedPlatform) || isNoServiceErr(err):
		return fmt.Errorf("keyring %s %q: %w", op, name, &NoKeyringError{Err: err})
	case strings.Contains(err.Error(), "failed to unlock"):
		return fmt.Errorf("keyring %s %q: %w (%v)", op, name, ErrKeyringLocked, err)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring %s %q: the value is too big for this keyring: %w", op, name, err)
	}
	return fmt.Errorf("keyring %s %q: %w", op, name, err)
}

// isNoServiceErr recognises D-Bus failures that mean no Secret Service is
// running, which the library reports only as text.
func isNoServiceErr(err error) bool {
	msg := err.Error()
	for _, s := range []string{"org.freedesktop.secrets", "DBUS_SESSION_BUS_ADDRESS", "dbus", "D-Bus", "ServiceUnknown", "no such file or directory"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// MemKeyring is an in-memory keyring for tests and `entrawiz demo`.
type MemKeyring struct {
	mu    sync.Mutex
	items map[string]string
}

// Place says the secrets are in memory only.
func (m *MemKeyring) Place() string { return "memory only (gone when entrawiz exits)" }

// NewMemKeyring returns an empty in-memory keyring.
func NewMemKeyring() *MemKeyring { return &MemKeyring{items: map[string]string{}} }

// Get returns the named secret, or ErrNotFound.
func (m *MemKeyring) Get(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[name]
	if !ok {
		return "", fmt.Errorf("keyring read %q: %w", name, ErrNotFound)
	}
	return v, nil
}

// Set stores the named secret; it refuses what OSKeyring would refuse on
// any platform (see MaxSecretBytes).
func (m *MemKeyring) Set(name, value string) error {
	if err := checkItemSize(name, value); err != nil {
		return fmt.Errorf("keyring write %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[name] = value
	return nil
}

// Delete removes the named secret.
func (m *MemKeyring) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, name)
	return nil
}

// Names returns the names of the stored secrets, for tests.
func (m *MemKeyring) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.items {
		out = append(out, k)
	}
	return out
}
