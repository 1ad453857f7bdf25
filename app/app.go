// Package app is entrawiz's application layer: it owns the config
// directory, the secret store, the cloud and the admin's sign-in, and
// offers the product's operations — setup (as a session), test, rotate,
// pick groups, sync, status, reset — to the wizard and to every headless
// command alike. Each operation checks the local preconditions before its
// first write to the tenant, takes the lock it needs so that two runs never
// step on each other, and saves only what it changed, merged into the
// config as it is on disk when it saves.
package app

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// Options is what an App is made of; the command line fills it.
type Options struct {
	ConfigDir     string
	Secrets       store.Secrets
	Cloud         string // public, usgov, usgov-dod, china
	LoginURL      string // overrides Cloud's sign-in endpoint
	GraphURL      string // overrides Cloud's Graph endpoint
	CAFile        string // an extra trusted root
	AdminClientID string
	Tracer        *graphapi.Tracer // nil: no trace
	Now           func() time.Time
	// Backoff bounds every wait for Entra's replication.
	Backoff graphapi.Backoff
	// Command names this process in the locks it takes ("entrawiz sync").
	Command string
	// OnDeviceCode, in tests, is told each device code so it can approve it.
	OnDeviceCode func(code string)
	// SignIn is how the admin signs in: auto (""), device or browser.
	SignIn string
	// NoBrowser shows the browser sign-in address instead of opening a
	// browser (also the case over SSH or without a display).
	NoBrowser bool
	// OnSignInURL is told the browser sign-in address when no browser is
	// opened; headless it is printed on stderr.
	OnSignInURL func(url string)
	// PasteFrom, headless, is where the admin may paste the address the
	// browser ended on; nil in the wizard.
	PasteFrom io.Reader
	// AllowPlaceholders accepts placeholder redirect URIs (example.com,
	// .test, localhost) on Microsoft's clouds; the demo sets it. On a
	// tenant at another address (a simulated one) they are accepted.
	AllowPlaceholders bool
	// Scheduler is the OS scheduler `entrawiz schedule` uses; zero: this
	// machine's.
	Scheduler Scheduler
	// RecordFile, when set, is where the change record of this run goes
	// (--record); else the config directory's records folder.
	RecordFile string
	// DebugTo, when set, gets the --debug trace (Tracer, if set, wins).
	DebugTo io.Writer
}

// App runs entrawiz's operations. It is safe for concurrent use.
type App struct {
	o     Options
	cloud graphapi.Cloud

	mu   sync.Mutex
	apps map[string]*graphapi.Client // app-only clients by connection

	pasteOnce sync.Once
	paste     chan string // lines read from PasteFrom, shared by every sign-in
	// writes are the tenant writes this App made, for change records.
	writes *writeLog
}

// New checks the options and makes an App.
func New(o Options) (*App, error) {
	cloud, err := graphapi.NewCloud(o.Cloud, o.LoginURL, o.GraphURL, o.CAFile)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	if err := checkSignInMode(o.SignIn); err != nil {
		return nil, err
	}
	if o.ConfigDir == "" {
		return nil, &InputError{Err: errors.New("no config directory: give --config-dir")}
	}
	if o.Secrets == nil {
		o.Secrets = store.OSKeyring{}
	}
	if o.AdminClientID == "" {
		o.AdminClientID = graphapi.GraphCLIToolsClientID
	}
	if o.Command == "" {
		o.Command = "entrawiz"
	}
	writes := &writeLog{}
	if o.Tracer == nil {
		// The trace is always taken, for the change records' request-ids;
		// it is printed only with --debug.
		var w io.Writer = writes
		if o.DebugTo != nil {
			w = io.MultiWriter(o.DebugTo, writes)
		}
		o.Tracer = graphapi.NewTracer(w)
	}
	return &App{o: o, cloud: cloud, writes: writes}, nil
}

// Options are the options the App was made with.
func (a *App) Options() Options { return a.o }

func (a *App) now() time.Time {
	if a.o.Now != nil {
		return a.o.Now()
	}
	return time.Now()
}

// InputError is a mistake in what the admin asked for (a flag, a name, a
// file): the command line maps it to the usage exit code.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// inputErrorf is an InputError from a format.
func inputErrorf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// ErrConnectionRemoved means another entrawiz forgot the connection while
// this run was using it; this run's changes were not saved over that.
var ErrConnectionRemoved = errors.New("the connection was removed by another entrawiz run (reset) while this one ran; nothing was saved")

// ErrNoConnection means nothing is set up yet in this config directory.
var ErrNoConnection = errors.New("no connection is set up yet: run `entrawiz setup` first")

// Connections are the saved connections.
func (a *App) Connections() ([]store.Connection, error) {
	cfg, err := store.LoadConfig(a.o.ConfigDir)
	if err != nil {
		return nil, err
	}
	return cfg.Connections, nil
}

// Connection returns the named connection, or the only one.
func (a *App) Connection(name string) (*store.Connection, error) {
	cfg, err := store.LoadConfig(a.o.ConfigDir)
	if err != nil {
		return nil, err
	}
	return pickConnection(cfg, name)
}

// pickConnection returns a copy of the named connection, or of the only one.
func pickConnection(c *store.Config, name string) (*store.Connection, error) {
	if name != "" {
		if conn := c.Connection(name); conn != nil {
			return cloneConnection(conn), nil
		}
		return nil, inputErrorf("no connection %q (have: %s)", name, connectionNames(c))
	}
	switch len(c.Connections) {
	case 0:
		return nil, ErrNoConnection
	case 1:
		return cloneConnection(&c.Connections[0]), nil
	}
	return nil, inputErrorf("several connections exist; name one with --connection (%s)", connectionNames(c))
}

func connectionNames(c *store.Config) string {
	var names []string
	for _, conn := range c.Connections {
		names = append(names, conn.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// profileOf is the profile a connection was set up with, as saved then, so
// later operations need neither the file nor the same entrawiz version.
func profileOf(conn *store.Connection) (*steps.Profile, error) {
	if p := steps.SavedProfile(conn); p != nil {
		return p, nil
	}
	p, err := steps.LoadProfile(conn.Profile)
	if err != nil {
		return nil, fmt.Errorf("the connection's profile cannot be found: %w", err)
	}
	return p, nil
}

// updateConfig runs change on the config as it is on disk, under the
// config lock, and writes the result atomically.
func (a *App) updateConfig(change func(cfg *store.Config) error) error {
	lock, err := waitLock(a.o.ConfigDir, "config", 30*time.Second)
	if err != nil {
		return fmt.Errorf("save the config: %w", err)
	}
	defer lock.Release()
	cfg, err := store.LoadConfig(a.o.ConfigDir)
	if err != nil {
		return err
	}
	if err := change(cfg); err != nil {
		return err
	}
	return store.SaveConfig(a.o.ConfigDir, cfg)
}

// saver returns a save for a connection that writes only what changed in
// it since the last save (or since it was read), merged into the connection
// as it is on disk now. read is the connection as read from disk, nil for a
// new one.
func (a *App) saver(read *store.Connection) func(*store.Connection) error {
	var mu sync.Mutex
	existed, base := read != nil, &store.Connection{}
	if read != nil {
		base = cloneConnection(read)
	}
	return func(c *store.Connection) error {
		mu.Lock()
		defer mu.Unlock()
		err := a.updateConfig(func(cfg *store.Config) error {
			theirs := cfg.Connection(c.Name)
			switch {
			case theirs == nil && existed:
				return ErrConnectionRemoved
			case theirs == nil:
				theirs = &store.Connection{}
			}
			cfg.Put(mergeConnection(base, c, theirs))
			return nil
		})
		if err == nil {
			existed, base = true, cloneConnection(c)
		}
		return err
	}
}

// env is what the steps need, for a connection, reporting to report.
func (a *App) env(g steps.Graph, tenant string, report func(steps.Event), save func(*store.Connection) error) *steps.Env {
	return &steps.Env{Graph: g, Secrets: a.o.Secrets, NewAppClient: a.newAppClient(tenant), Report: report,
		Now: a.o.Now, Backoff: a.o.Backoff, Save: save, NewCertAppClient: a.newCertAppClient(tenant), LoginURL: a.cloud.LoginURL}
}

// newCertAppClient makes the steps' app-only client for a client ID and
// certificate.
func (a *App) newCertAppClient(tenant string) func(clientID string, cert *graphapi.Certificate) (steps.AppClient, error) {
	return func(clientID string, cert *graphapi.Certificate) (steps.AppClient, error) {
		return graphapi.NewAppSession(graphapi.AppOptions{Cloud: a.cloud, Tenant: tenant, ClientID: clientID, Certificate: cert, Tracer: a.o.Tracer})
	}
}

// newAppClient makes the steps' app-only client for a client ID and secret.
func (a *App) newAppClient(tenant string) func(clientID, secret string) (steps.AppClient, error) {
	return func(clientID, secret string) (steps.AppClient, error) {
		return graphapi.NewAppSession(graphapi.AppOptions{Cloud: a.cloud, Tenant: tenant, ClientID: clientID, Secret: secret, Tracer: a.o.Tracer})
	}
}

// lockConnection takes the lock of a connection's writes (setup, rotate,
// reset) at once, or says who holds it. The lock is named after the
// connection, which a setup knows from its plan: two setups of one profile
// in one tenant plan the same name.
func (a *App) lockConnection(name string) (*Lock, error) {
	return tryLock(a.o.ConfigDir, "connection-"+name, "a setup, rotation or reset of "+name, a.o.Command, a.now())
}
