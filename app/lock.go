package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/entrawiz/entrawiz/store"
)

// Lock is an operation lock held by this process: an OS file lock, so a
// lock whose process was killed is released by the operating system and
// taken over by the next run without anyone deleting a file.
type Lock struct {
	f    *flock.Flock
	info string
}

// Holder is who holds a lock, as the holder wrote it down.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Host    string    `json:"host,omitempty"`
}

// BusyError says that another entrawiz holds the lock an operation needs.
type BusyError struct {
	What   string // e.g. "a sync of contoso.onmicrosoft.com/directory-sync"
	Holder *Holder
}

func (e *BusyError) Error() string {
	if e.Holder == nil || e.Holder.PID == 0 {
		return e.What + " is already running in another entrawiz"
	}
	cmd := e.Holder.Command
	if cmd == "" {
		cmd = "entrawiz"
	}
	return fmt.Sprintf("%s is already running: process %d (%s), started %s", e.What, e.Holder.PID, cmd,
		e.Holder.Started.Local().Format("2006-01-02 15:04:05"))
}

// Remedy says what the admin can do.
func (e *BusyError) Remedy() string {
	return "Wait for it to finish, or stop it (Ctrl-C in its terminal) and run this again; a run that was killed releases its lock by itself."
}

// lockPath names the lock file of key in the config directory.
func lockPath(dir, key string) string {
	return filepath.Join(dir, "locks", safeName(key)+".lock")
}

// safeName turns a lock key (a connection name or a tenant and profile)
// into a file name on every OS.
func safeName(key string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// tryLock takes the lock named key at once, or returns a *BusyError naming
// the process that holds it. what describes the operation for that error.
func tryLock(dir, key, what, command string, now time.Time) (*Lock, error) {
	path := lockPath(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", what, err)
	}
	f := flock.New(path, flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", what, err)
	}
	info := path + ".holder"
	if !ok {
		return nil, &BusyError{What: what, Holder: readHolder(info)}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Command: command, Started: now, Host: host})
	// Who holds the lock is kept beside it: Windows forbids reading a
	// locked file. A holder file left by a killed run is read only while
	// the lock is held; in the instant between a new holder taking the
	// lock and writing this, a refused run may still name the killed one.
	if err := store.WriteFileAtomic(info, b); err != nil {
		f.Unlock()
		return nil, fmt.Errorf("lock %s: %w", what, err)
	}
	return &Lock{f: f, info: info}, nil
}

// waitLock takes the lock named key, waiting up to timeout for a holder
// that is expected to be brief (a config write).
func waitLock(dir, key string, timeout time.Duration) (*Lock, error) {
	path := lockPath(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f := flock.New(path, flock.SetPermissions(0o600))
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		ok, err := f.TryLock()
		if err != nil {
			return nil, err
		}
		if ok {
			return &Lock{f: f}, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("another entrawiz kept the config locked for " + timeout.String())
		}
		time.Sleep(delay)
	}
}

// Release lets the next run take the lock.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	if l.info != "" {
		os.Remove(l.info)
	}
	l.f.Unlock()
}

func readHolder(path string) *Holder {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}
