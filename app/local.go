package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/entrawiz/entrawiz/store"
)

// LocalError is a local precondition that failed before anything was
// written to the tenant: the secret store or the config directory.
type LocalError struct {
	What   string // "the secret store", "the config directory"
	Err    error
	Remedy string
}

func (e *LocalError) Error() string {
	return fmt.Sprintf("%s cannot be used, so nothing was changed in the tenant: %v", e.What, e.Err)
}

func (e *LocalError) Unwrap() error { return e.Err }

// checkLocal checks what an operation that writes to the tenant relies on
// afterwards: a config directory it can write, a config file it can read,
// and (withSecrets) a secret store that keeps a value and gives it back.
// It runs before the first tenant write, so that a machine without a
// keyring, or with a read-only config directory, changes nothing.
func (a *App) checkLocal(withSecrets bool) error {
	dir := a.o.ConfigDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &LocalError{What: "the config directory " + dir, Err: err, Remedy: "Give a writable directory with --config-dir."}
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return &LocalError{What: "the config directory " + dir, Err: err, Remedy: "Make it writable, or give another with --config-dir."}
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	if _, err := store.LoadConfig(dir); err != nil {
		return err
	}
	if withSecrets {
		if err := probeSecrets(a.o.Secrets); err != nil {
			remedy := "Unlock the OS keyring, or start one, and run this again."
			var nk *store.NoKeyringError
			if errors.As(err, &nk) {
				remedy = "See the message above for how to get a keyring on this machine."
			}
			return &LocalError{What: store.SecretsPlace(a.o.Secrets), Err: err, Remedy: remedy}
		}
	}
	return nil
}

// probeSecrets writes a random value, reads it back and deletes it.
func probeSecrets(s store.Secrets) error {
	var b [16]byte
	rand.Read(b[:])
	name, value := "write-check/"+hex.EncodeToString(b[:4]), hex.EncodeToString(b[4:])
	if err := s.Set(name, value); err != nil {
		return err
	}
	got, err := s.Get(name)
	s.Delete(name)
	if err != nil {
		return err
	}
	if got != value {
		return errors.New("it gave back a different value than was stored")
	}
	return nil
}
