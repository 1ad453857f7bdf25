package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// globalOptions are the flags every command shares; each has an ENTRAWIZ_*
// environment equivalent.
type globalOptions struct {
	Cloud         string
	LoginURL      string
	GraphURL      string
	CAFile        string
	ConfigDir     string
	AdminClientID string
	NoColor       bool
	Accessible    bool
	Debug         bool
}

// factory gives commands their dependencies; tests replace the parts that
// touch the machine (keyring, terminal, clock).
type factory struct {
	Global  *globalOptions
	In      io.Reader
	Out     io.Writer // --json output and results: stdout
	ErrOut  io.Writer // progress, prompts, device codes: stderr
	IsTTY   bool      // stdin and stdout are terminals
	Secrets func() store.Secrets
	Now     func() time.Time
	Backoff graphapi.Backoff
	// Approve, in tests, is told the device code so it can be approved.
	OnDeviceCode func(code string)
	// ShortSyncIntervals, in tests, allows sync --every below a minute.
	ShortSyncIntervals bool
}

func (f *factory) addGlobalFlags(fs *pflag.FlagSet) {
	g := f.Global
	env := func(name, def string) string {
		if v, ok := os.LookupEnv("ENTRAWIZ_" + name); ok {
			return v
		}
		return def
	}
	envBool := func(name string) bool {
		v := strings.ToLower(env(name, ""))
		return v == "1" || v == "true" || v == "yes"
	}
	defaultDir := ""
	if d, err := os.UserConfigDir(); err == nil {
		defaultDir = filepath.Join(d, "entrawiz")
	}
	fs.StringVar(&g.Cloud, "cloud", env("CLOUD", "public"), "national cloud: "+strings.Join(graphapi.CloudNames(), ", "))
	fs.StringVar(&g.LoginURL, "login-url", env("LOGIN_URL", ""), "sign-in endpoint (overrides --cloud), e.g. the simulated tenant's login_url")
	fs.StringVar(&g.GraphURL, "graph-url", env("GRAPH_URL", ""), "Microsoft Graph endpoint with /v1.0 (overrides --cloud)")
	fs.StringVar(&g.CAFile, "ca-file", env("CA_FILE", ""), "extra trusted root certificate (PEM), e.g. the simulated tenant's ca_file")
	fs.StringVar(&g.ConfigDir, "config-dir", env("CONFIG_DIR", defaultDir), "where the config and the encrypted sign-in cache live")
	fs.StringVar(&g.AdminClientID, "admin-client-id", env("ADMIN_CLIENT_ID", graphapi.GraphCLIToolsClientID),
		"public client used for your sign-in (default: Microsoft Graph Command Line Tools)")
	fs.BoolVar(&g.NoColor, "no-color", envBool("NO_COLOR") || os.Getenv("NO_COLOR") != "", "no colour in output")
	fs.BoolVar(&g.Accessible, "accessible", envBool("ACCESSIBLE") || os.Getenv("TERM") == "dumb", "plain line prompts for screen readers")
	fs.BoolVar(&g.Debug, "debug", envBool("DEBUG"), "trace every identity and Graph call (method, path, status, request-id, time) on stderr; never tokens or secrets")
}

func (f *factory) cloud() (graphapi.Cloud, error) {
	c, err := graphapi.NewCloud(f.Global.Cloud, f.Global.LoginURL, f.Global.GraphURL, f.Global.CAFile)
	if err != nil {
		return c, usageError{err}
	}
	return c, nil
}

func (f *factory) tracer() *graphapi.Tracer {
	if !f.Global.Debug {
		return nil
	}
	return graphapi.NewTracer(f.ErrOut)
}

func (f *factory) configDir() (string, error) {
	if f.Global.ConfigDir == "" {
		return "", usageError{errors.New("no config directory: give --config-dir")}
	}
	return f.Global.ConfigDir, nil
}

func (f *factory) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// session is the admin's signed-in access to Graph.
type session struct {
	admin    *graphapi.Admin
	graph    *graphapi.Client
	identity graphapi.Identity
}

// newAdmin prepares the admin's sign-in with the persisted, encrypted
// token cache.
func (f *factory) newAdmin(tenant string, scopes []string) (*graphapi.Admin, *graphapi.PersistentCache, error) {
	cloud, err := f.cloud()
	if err != nil {
		return nil, nil, err
	}
	dir, err := f.configDir()
	if err != nil {
		return nil, nil, err
	}
	cache := graphapi.NewPersistentCache(&store.TokenCache{Path: filepath.Join(dir, "signin-cache.bin"), Secrets: f.Secrets()})
	admin, err := graphapi.NewAdmin(graphapi.AdminOptions{Cloud: cloud, Tenant: tenant, ClientID: f.Global.AdminClientID,
		Scopes: scopes, Cache: cache, Tracer: f.tracer()})
	return admin, cache, err
}

// newSession wraps a signed-in admin with a Graph client.
func (f *factory) newSession(admin *graphapi.Admin, id graphapi.Identity) (*session, error) {
	cloud, err := f.cloud()
	if err != nil {
		return nil, err
	}
	graph, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: cloud, Tokens: admin, Tracer: f.tracer()})
	if err != nil {
		return nil, err
	}
	return &session{admin: admin, graph: graph, identity: id}, nil
}

// signIn signs the admin in: silently from the saved cache when it can,
// else with a device code shown on stderr.
func (f *factory) signIn(ctx context.Context, tenant string, scopes []string) (*session, error) {
	sess, cache, err := f.signInWith(ctx, tenant, scopes, func(dc *graphapi.DeviceCodeSignIn) {
		fmt.Fprintf(f.ErrOut, "\nTo sign in, open %s and enter the code %s\n(the code expires at %s)\n\n",
			dc.VerificationURL, dc.UserCode, dc.ExpiresOn.Local().Format("15:04"))
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f.ErrOut, "Signed in as %s\n", sess.identity.UPN)
	if err := cache.Err(); err != nil {
		fmt.Fprintf(f.ErrOut, "Note: this sign-in will not be remembered: %v\n", err)
	}
	return sess, nil
}

// signInWith signs the admin in silently from the saved cache when it
// can, else with a device code that show presents. The cache says whether
// the sign-in could be remembered.
func (f *factory) signInWith(ctx context.Context, tenant string, scopes []string, show func(*graphapi.DeviceCodeSignIn)) (*session, *graphapi.PersistentCache, error) {
	admin, cache, err := f.newAdmin(tenant, scopes)
	if err != nil {
		return nil, nil, err
	}
	id, err := admin.SignInSilent(ctx)
	if err != nil {
		if !needsInteractiveSignIn(err) {
			return nil, nil, err
		}
		dc, err := admin.StartDeviceCode(ctx)
		if err != nil {
			return nil, nil, err
		}
		show(dc)
		if f.OnDeviceCode != nil {
			f.OnDeviceCode(dc.UserCode)
		}
		if id, err = dc.Wait(ctx); err != nil {
			return nil, nil, err
		}
	}
	sess, err := f.newSession(admin, id)
	return sess, cache, err
}

// needsInteractiveSignIn reports whether a failed silent sign-in should be
// followed by a device code.
func needsInteractiveSignIn(err error) bool {
	return graphapi.IsKind(err, graphapi.KindSignInRequired, graphapi.KindConsentNeeded, graphapi.KindSignIn)
}

// newAppClient makes the app-only client for the steps.
func (f *factory) newAppClient(tenant string) func(clientID, secret string) (steps.AppClient, error) {
	return func(clientID, secret string) (steps.AppClient, error) {
		cloud, err := f.cloud()
		if err != nil {
			return nil, err
		}
		return graphapi.NewAppSession(graphapi.AppOptions{Cloud: cloud, Tenant: tenant, ClientID: clientID, Secret: secret, Tracer: f.tracer()})
	}
}

// loadConfig reads the config.
func (f *factory) loadConfig() (*store.Config, string, error) {
	dir, err := f.configDir()
	if err != nil {
		return nil, "", err
	}
	c, err := store.LoadConfig(dir)
	return c, dir, err
}

// openConnection loads the config and picks the named connection, or the
// only one.
func (f *factory) openConnection(name string) (*store.Config, string, *store.Connection, error) {
	cfg, dir, err := f.loadConfig()
	if err != nil {
		return nil, "", nil, err
	}
	conn, err := pickConnection(cfg, name)
	if err != nil {
		return nil, "", nil, err
	}
	return cfg, dir, conn, nil
}

// openDirectory opens the connection's directory database. The one
// database an earlier version kept for all connections is taken over by
// the connection whose groups it last synced, or by the only connection
// that syncs.
func openDirectory(cfg *store.Config, dir string, conn *store.Connection) (*store.DirDB, error) {
	connDir := store.ConnectionDirectory(dir, conn.Name)
	if _, err := os.Stat(store.DirectoryPath(connDir)); err != nil {
		set, err := store.LegacyGroupSet(dir)
		if err != nil {
			return nil, err
		}
		syncing := 0
		for i := range cfg.Connections {
			if len(steps.PickedGroupIDs(&cfg.Connections[i])) > 0 {
				syncing++
			}
		}
		picked := steps.PickedGroupIDs(conn)
		if set != "" && len(picked) > 0 && (set == steps.GroupSetKey(picked) || syncing == 1) {
			if err := store.AdoptLegacyDirectory(dir, connDir); err != nil {
				return nil, err
			}
		}
	}
	return store.OpenDirectory(connDir)
}

// saver returns the steps' Save: the connection is put into cfg and the
// config written atomically to dir.
func saver(cfg *store.Config, dir string) func(*store.Connection) error {
	return func(c *store.Connection) error {
		cfg.Put(*c)
		return store.SaveConfig(dir, cfg)
	}
}

// pickConnection returns the named connection, or the only one.
func pickConnection(c *store.Config, name string) (*store.Connection, error) {
	if name != "" {
		if conn := c.Connection(name); conn != nil {
			return conn, nil
		}
		return nil, usageError{fmt.Errorf("no connection %q (have: %s)", name, connectionNames(c))}
	}
	switch len(c.Connections) {
	case 0:
		return nil, errors.New("no connection is set up yet: run `entrawiz setup` first")
	case 1:
		return &c.Connections[0], nil
	}
	return nil, usageError{fmt.Errorf("several connections exist; name one with --connection (%s)", connectionNames(c))}
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

// requireFlag is the error for an input missing in a headless run.
func requireFlag(cmd *cobra.Command, flag string) error {
	return usageError{fmt.Errorf("--%s is required when not running interactively\nRun '%s --help' for usage.", flag, cmd.CommandPath())}
}
