package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
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
	SignIn        string // auto, device or browser
	NoBrowser     bool
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
	// OnDeviceCode, in tests, is told the device code so it can be approved.
	OnDeviceCode func(code string)
	// ShortSyncIntervals, in tests, allows sync --every below a minute.
	ShortSyncIntervals bool
	// OnSignInURL, in tests, is told the browser sign-in address so it can
	// be followed.
	OnSignInURL func(url string)

	shownCode bool // a device code was shown: a browser sign-in after it is the fallback

	// Exe, in tests, is the binary `schedule install` schedules (default:
	// this one); Scheduler is the OS scheduler it installs into.
	Exe       string
	Scheduler app.Scheduler
	// RecordFile is where --record puts this run's change record.
	RecordFile string
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
	fs.StringVar(&f.RecordFile, "record", env("RECORD", ""), "write the change record of a setup, rotation or reset to this file (default: the config directory's records folder)")
	fs.BoolVar(&g.Debug, "debug", envBool("DEBUG"), "trace every identity and Graph call (method, path, status, request-id, time) on stderr; never tokens or secrets")
	fs.StringVar(&g.SignIn, "sign-in", env("SIGN_IN", "auto"), "how you sign in: auto (device code; the browser when Conditional Access blocks it), device, or browser")
	fs.BoolVar(&g.NoBrowser, "no-browser", envBool("NO_BROWSER"), "print the browser sign-in address instead of opening a browser (also automatic over SSH or without a display)")
}

// app makes the application layer for a command from the global flags.
func (f *factory) app(cmd *cobra.Command) (*app.App, error) {
	g := f.Global
	var debugTo io.Writer
	if g.Debug {
		debugTo = f.ErrOut
	}
	var paste io.Reader
	if cmd.HasParent() {
		// Headless: the admin may paste the address the browser ended on.
		// The wizard (the root command) reads the terminal itself.
		paste = f.In
	}
	return app.New(app.Options{ConfigDir: g.ConfigDir, Secrets: f.Secrets(), Cloud: g.Cloud, LoginURL: g.LoginURL,
		GraphURL: g.GraphURL, CAFile: g.CAFile, AdminClientID: g.AdminClientID, DebugTo: debugTo, RecordFile: f.RecordFile, Now: f.Now,
		Backoff: f.Backoff, Command: cmd.CommandPath(), OnDeviceCode: f.OnDeviceCode, Scheduler: f.Scheduler,
		SignIn: g.SignIn, NoBrowser: g.NoBrowser, OnSignInURL: f.showSignInURL, PasteFrom: paste})
}

// showSignInURL prints a browser sign-in address on stderr, on a line of
// its own so it can be copied whole.
func (f *factory) showSignInURL(url string) {
	if f.shownCode {
		fmt.Fprintln(f.ErrOut, "Conditional Access blocks the device-code sign-in in this tenant; continuing with the browser.")
	}
	fmt.Fprintf(f.ErrOut, "\nTo sign in, open this address in a browser:\n\n%s\n\n%s\nWaiting for the sign-in...\n\n", url, app.SignInURLHelp("an administrator of the tenant", true))
	if f.OnSignInURL != nil {
		f.OnSignInURL(url)
	}
}

func (f *factory) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// showDeviceCode prints a device code for the admin on stderr.
func (f *factory) showDeviceCode(dc app.DeviceCode) {
	f.shownCode = true
	fmt.Fprintf(f.ErrOut, "\nTo sign in, open %s and enter the code %s\n(the code expires at %s)\n\n",
		dc.URL, dc.Code, dc.Expires.Local().Format("15:04"))
}

// writeJSON writes v as indented JSON on stdout.
func (f *factory) writeJSON(v any) error {
	enc := json.NewEncoder(ui.RawWriter(f.Out))
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeResult writes a --json result with the error, if any, in the one
// shape every command uses; a failure written so is not printed again.
func (f *factory) writeResult(v map[string]any, err error) error {
	if err != nil {
		v["error"] = app.Describe(err)
	}
	if werr := f.writeJSON(v); werr != nil {
		return werr
	}
	if err != nil {
		return errorReported{err}
	}
	return nil
}

// loadProfileFiles reads the profile files named with --profile, so a bad
// file is reported before anything starts.
func loadProfileFiles(paths []string) ([]*steps.Profile, error) {
	var out []*steps.Profile
	for _, path := range paths {
		p, err := steps.LoadProfile(path)
		if err != nil {
			return nil, &app.InputError{Err: fmt.Errorf("--profile: %w", err)}
		}
		out = append(out, p)
	}
	return out, nil
}

// requireFlag is the error for an input missing in a headless run.
func requireFlag(cmd *cobra.Command, flag string) error {
	return &app.InputError{Err: fmt.Errorf("--%s is required when not running interactively\nRun '%s --help' for usage.", flag, cmd.CommandPath())}
}

// runE is a command's run: runF when a test gives one (to see the options
// the flags made), else run, with a --json failure written in the one
// error shape.
func runE[O any](f *factory, opts *O, jsonOut *bool, runF func(*O) error, run func(*cobra.Command, *factory, *O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if runF != nil {
			return runF(opts)
		}
		return f.jsonErrors(jsonOut != nil && *jsonOut, run(cmd, f, opts))
	}
}

// connectionFlags are the flags of a command that acts on one connection.
func connectionFlags(fl *pflag.FlagSet, connection *string, jsonOut *bool) {
	fl.StringVar(connection, "connection", "", "the connection, as entrawiz status names it (when there are several)")
	if jsonOut != nil {
		fl.BoolVar(jsonOut, "json", false, "print the result as JSON on stdout")
	}
}
