// Package storetest holds fakes of the store's secret store (store.Secrets)
// for tests, next to what they fake: a machine without a keyring, a locked
// keyring, a keyring that records every value, and one that files items
// under a prefix. Production code never imports it.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entrawiz/entrawiz/store"
)

// errNoSecretService is what a Linux machine without a Secret Service says.
var errNoSecretService = errors.New("The name org.freedesktop.secrets was not provided by any .service files")

// NoKeyring is a machine without a keyring: every call fails as
// store.OSKeyring reports it there.
type NoKeyring struct{}

// Get fails.
func (NoKeyring) Get(name string) (string, error) {
	return "", fmt.Errorf("keyring read %q: %w", name, &store.NoKeyringError{Err: errNoSecretService})
}

// Set fails.
func (NoKeyring) Set(name, _ string) error {
	return fmt.Errorf("keyring write %q: %w", name, &store.NoKeyringError{Err: errNoSecretService})
}

// Delete fails.
func (NoKeyring) Delete(name string) error {
	return fmt.Errorf("keyring delete %q: %w", name, &store.NoKeyringError{Err: errNoSecretService})
}

// LockedKeyring is a keyring that is locked and waits for a password
// prompt nobody sees: every call hangs and is cut off after Timeout with the
// error store.OSKeyring gives then (its backend cannot be replaced, so its
// timeout is reproduced here).
type LockedKeyring struct {
	Timeout time.Duration
	calls   atomic.Int32
}

// Calls is how many calls were made.
func (k *LockedKeyring) Calls() int { return int(k.calls.Load()) }

func (k *LockedKeyring) hang(op, name string) error {
	k.calls.Add(1)
	time.Sleep(k.Timeout)
	return fmt.Errorf("keyring %s %q: %w", op, name, store.ErrKeyringTimeout)
}

// Get hangs, then times out.
func (k *LockedKeyring) Get(name string) (string, error) { return "", k.hang("read", name) }

// Set hangs, then times out.
func (k *LockedKeyring) Set(name, _ string) error { return k.hang("write", name) }

// Delete hangs, then times out.
func (k *LockedKeyring) Delete(name string) error { return k.hang("delete", name) }

// Failing is a secret store whose every call fails with Err.
type Failing struct{ Err error }

// Get fails.
func (k Failing) Get(string) (string, error) { return "", k.Err }

// Set fails.
func (k Failing) Set(string, string) error { return k.Err }

// Delete fails.
func (k Failing) Delete(string) error { return k.Err }

// Prefixed files every item under Prefix, so a test that uses the real OS
// keyring cannot touch the items of an entrawiz the developer uses.
type Prefixed struct {
	Inner  store.Secrets
	Prefix string
}

// Get reads the prefixed item.
func (k Prefixed) Get(name string) (string, error) { return k.Inner.Get(k.Prefix + name) }

// Set writes the prefixed item.
func (k Prefixed) Set(name, value string) error { return k.Inner.Set(k.Prefix+name, value) }

// Delete deletes the prefixed item.
func (k Prefixed) Delete(name string) error { return k.Inner.Delete(k.Prefix + name) }

// Recording passes every call to the store in use and remembers every value
// ever stored, so a test can look for them where no secret may be. The
// store in use can be swapped, to start or clear a keyring fault.
type Recording struct {
	mu    sync.Mutex
	inner store.Secrets
	seen  []string
}

// NewRecording records what goes to inner.
func NewRecording(inner store.Secrets) *Recording { return &Recording{inner: inner} }

// Use swaps the store in use.
func (k *Recording) Use(inner store.Secrets) {
	k.mu.Lock()
	k.inner = inner
	k.mu.Unlock()
}

// Current is the store in use.
func (k *Recording) Current() store.Secrets {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.inner
}

// Get reads from the store in use.
func (k *Recording) Get(name string) (string, error) { return k.Current().Get(name) }

// Set records the value and writes it to the store in use.
func (k *Recording) Set(name, value string) error {
	k.mu.Lock()
	k.seen = append(k.seen, value)
	inner := k.inner
	k.mu.Unlock()
	return inner.Set(name, value)
}

// Delete deletes from the store in use.
func (k *Recording) Delete(name string) error { return k.Current().Delete(name) }

// Values are the values ever given to Set.
func (k *Recording) Values() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.seen)
}
