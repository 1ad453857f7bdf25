package main

// Helpers for the end-to-end tests of the headless procedure: a simulated
// tenant per test, the commands run in-process through newRootCmd with a test
// factory, and an independent look at the tenant through plain HTTP calls to
// the simulator's Graph and token endpoints (no product code on that side).

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/store/storetest"
	"github.com/entrawiz/entrawiz/ui"
)

// The Microsoft Graph resource and its permission IDs, as the Microsoft
// Graph permissions reference publishes them. They are written out here so
// that the tests check the product's run-time resolution against the real
// IDs, not against the product's own lookup.
const graphResourceAppID = "00000003-0000-0000-c000-000000000000"

var graphRoleIDs = map[string]string{
	"AccessReview.Read.All": "d07a8cc0-3d51-4b77-b3b0-32704d1f69fa",
	"Directory.Read.All":    "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
	"Group.Read.All":        "5b567255-7703-4780-807c-7be8301ae99b",
	"GroupMember.Read.All":  "98830695-27a2-44f7-8c18-0c3ebc9698f6",
	"User.Read.All":         "df021288-bdef-4463-88db-98f22de89214",
}

var graphScopeIDs = map[string]string{
	"User.Read":      "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
	"openid":         "37f7f235-527c-4136-accd-4a02d197296e",
	"profile":        "14dad69e-099b-42c9-810b-d002981feec1",
	"email":          "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
	"offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
}

// defaultAccessRoleID is the app role of an assignment to an app that
// publishes no roles.
const defaultAccessRoleID = "00000000-0000-0000-0000-000000000000"

// ---------------------------------------------------------------------------
// The simulated tenant, and an independent look at it.

// tenant is a simulated tenant for one test, with a plain HTTP client that
// trusts its CA.
type tenant struct {
	*sim.Server
	info sim.Info
	hc   *http.Client

	mu    sync.Mutex
	token string // the inspector's delegated admin token
}

// startTenant starts a small simulated tenant (manual device-code approval)
// that is closed when the test ends. Its HTTP client is built here from the
// CA file, not taken from the harness, so the independent look at the
// tenant shares no product code.
func startTenant(t *testing.T, faults sim.Faults) *tenant {
	t.Helper()
	sv := simtest.Start(t, sim.Options{Users: 20, Groups: 5, Approve: "manual", Faults: faults})
	info := sv.Info
	pemBytes, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatalf("read the sim's CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("the sim's CA file holds no certificate")
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(hc.CloseIdleConnections) // runs before srv.Close
	return &tenant{Server: sv.Srv, info: info, hc: hc}
}

// postForm sends a form to the sim's identity endpoints and decodes the JSON
// answer.
func (tn *tenant) postForm(t *testing.T, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := tn.hc.PostForm(tn.info.LoginURL+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: %d, body is not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// adminToken is a delegated Graph token of the Global Administrator, got
// from the sim's own device-code and token endpoints by hand.
func (tn *tenant) adminToken(t *testing.T) string {
	t.Helper()
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if tn.token != "" {
		return tn.token
	}
	base := "/" + tn.info.TenantID + "/oauth2/v2.0/"
	status, dc := tn.postForm(t, base+"devicecode", url.Values{"client_id": {sim.GraphCLIToolsID},
		"scope": {"Application.ReadWrite.All AppRoleAssignment.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All Directory.Read.All Group.ReadWrite.All User.Read"}})
	if status != http.StatusOK {
		t.Fatalf("inspector device code: %d %v", status, dc)
	}
	if err := tn.ApproveDeviceCode(dc["user_code"].(string), tn.info.AdminUPN); err != nil {
		t.Fatalf("inspector approval: %v", err)
	}
	status, tok := tn.postForm(t, base+"token", url.Values{"client_id": {sim.GraphCLIToolsID},
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}})
	if status != http.StatusOK {
		t.Fatalf("inspector token: %d %v", status, tok)
	}
	tn.token = tok["access_token"].(string)
	return tn.token
}

// graph calls Graph as the administrator; path is relative to /v1.0.
func (tn *tenant) graph(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	target := path
	if !strings.HasPrefix(path, "https://") {
		target = tn.info.GraphURL + path
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+tn.adminToken(t))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tn.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out
}

// get reads one Graph object; the test fails unless it is there.
func (tn *tenant) get(t *testing.T, path string) map[string]any {
	t.Helper()
	status, body := tn.graph(t, http.MethodGet, path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, body)
	}
	return body
}

// list reads a whole Graph collection, following @odata.nextLink.
func (tn *tenant) list(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for path != "" {
		page := tn.get(t, path)
		items, _ := page["value"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		path, _ = page["@odata.nextLink"].(string)
	}
	return out
}

// appsTagged lists the app registrations that carry tag (filtered here, not
// by the sim's $filter).
func (tn *tenant) appsTagged(t *testing.T, tag string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, a := range tn.list(t, "/applications") {
		if slices.Contains(strs(a["tags"]), tag) {
			out = append(out, a)
		}
	}
	return out
}

// graphSPID is the object ID of Microsoft Graph's service principal.
func (tn *tenant) graphSPID(t *testing.T) string {
	t.Helper()
	return tn.get(t, "/servicePrincipals(appId='"+graphResourceAppID+"')")["id"].(string)
}

// grantsOf lists the delegated permission grants of a client service
// principal.
func (tn *tenant) grantsOf(t *testing.T, clientSpID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, g := range tn.list(t, "/oauth2PermissionGrants") {
		if g["clientId"] == clientSpID {
			out = append(out, g)
		}
	}
	return out
}

// graphRolesOf returns the Microsoft Graph app role IDs assigned to a
// service principal, with the assignments' IDs.
func (tn *tenant) graphRolesOf(t *testing.T, spID string) map[string]string {
	t.Helper()
	graphSP := tn.graphSPID(t)
	out := map[string]string{}
	for _, a := range tn.list(t, "/servicePrincipals/"+spID+"/appRoleAssignments") {
		if a["resourceId"] == graphSP && a["principalId"] == spID {
			out[strings.ToLower(a["appRoleId"].(string))] = a["id"].(string)
		}
	}
	return out
}

// clientCredentials asks the sim's token endpoint for an app-only Graph
// token with a client secret, as the product would.
func (tn *tenant) clientCredentials(t *testing.T, appID, secret string) (int, map[string]any) {
	t.Helper()
	return tn.postForm(t, "/"+tn.info.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}})
}

// jwtClaims decodes a JWT's payload without checking it.
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}

// strs turns a JSON array into strings.
func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// sameStrings compares two lists as sets, ignoring case.
func sameStrings(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// ---------------------------------------------------------------------------
// The request log.

// isDeviceCodePoll reports whether a logged request is a device-code token
// poll.
func isDeviceCodePoll(r sim.LoggedRequest) bool {
	return strings.HasSuffix(r.Path, "/oauth2/v2.0/token") &&
		(r.Grant == "device_code" || r.Grant == "urn:ietf:params:oauth:grant-type:device_code")
}

// describeRequests lists requests one per line, for failure messages and
// the figures.
func describeRequests(reqs []sim.LoggedRequest) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "  %s %s %s %d", r.Service, r.Method, r.Path, r.Status)
		if r.Grant != "" {
			fmt.Fprintf(&b, " grant=%s", r.Grant)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// assertReadOnly checks that a run made no write: Graph saw only GETs and
// the read-only $batch of the connection test, and the token endpoint only
// refreshed the admin's sign-in or signed the app in; no device code.
func assertReadOnly(t *testing.T, reqs []sim.LoggedRequest) {
	t.Helper()
	for _, r := range reqs {
		switch {
		case (r.Service == "graph" || r.Service == "graph-batch") && r.Method == http.MethodGet:
		case r.Service == "graph" && r.Method == http.MethodPost && r.Path == "/v1.0/$batch":
		case r.Service == "login" && r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/openid-configuration"):
		case r.Service == "login" && r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/discovery/instance"):
		case r.Service == "login" && strings.HasSuffix(r.Path, "/oauth2/v2.0/token") &&
			(r.Grant == "refresh_token" || r.Grant == "client_credentials"):
		default:
			t.Errorf("a re-run made a request that is not a read: %s %s %s (grant %q, status %d)\nall requests:\n%s",
				r.Service, r.Method, r.Path, r.Grant, r.Status, describeRequests(reqs))
		}
	}
}

// ---------------------------------------------------------------------------
// Keyrings.

// ---------------------------------------------------------------------------
// Running the commands.

// testBackoff is short but shaped like the real one: it doubles from 100ms
// to 1s, for at most 20s.
func testBackoff() graphapi.Backoff {
	return graphapi.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Budget: 20 * time.Second, Multiplier: 2}
}

// cli runs entrawiz commands in-process against one tenant, with one config
// directory and one keyring, as an admin on one machine would.
type cli struct {
	t       *testing.T
	tn      *tenant
	dir     string
	keys    *storetest.Recording
	backoff graphapi.Backoff

	mu      sync.Mutex
	approve string // who approves device codes: a UPN, "decline" or "expire"
	codes   int    // device codes shown
	runs    []*result
	secrets []string // more values that must not leak (e.g. a wrong secret typed in)
	// browse, when set, follows a browser sign-in address as the admin's
	// browser would.
	browse func(url string)
}

// result is one command run.
type result struct {
	args   []string
	stdout string
	stderr string
	err    error
	code   int
	took   time.Duration
	// reveals marks the one run allowed to print the client secret.
	reveals bool
}

// newCLI returns a runner approving device codes as the tenant's Global
// Administrator with an in-memory keyring. When the test ends, every value
// stored in the keyring is looked for in each run's output and in every
// file under the config directory.
func newCLI(t *testing.T, tn *tenant) *cli {
	c := &cli{t: t, tn: tn, dir: t.TempDir(), keys: storetest.NewRecording(store.NewMemKeyring()),
		backoff: testBackoff(), approve: tn.info.AdminUPN}
	t.Cleanup(c.assertNoSecretLeaks)
	return c
}

// approveAs sets who approves the next device codes.
func (c *cli) approveAs(who string) {
	c.mu.Lock()
	c.approve = who
	c.mu.Unlock()
}

// deviceCodes is how many device codes the commands have shown.
func (c *cli) deviceCodes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codes
}

func (c *cli) onDeviceCode(code string) {
	c.mu.Lock()
	c.codes++
	who := c.approve
	c.mu.Unlock()
	var err error
	switch who {
	case "decline":
		err = c.tn.DeclineDeviceCode(code)
	case "expire":
		err = c.tn.ExpireDeviceCode(code)
	default:
		err = c.tn.ApproveDeviceCode(code, who)
	}
	if err != nil {
		c.t.Errorf("device code %s: %v", code, err)
	}
}

// syncBuffer collects stderr, which the --debug tracer writes from the
// HTTP clients' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs one command with empty stdin.
func (c *cli) run(args ...string) *result { return c.runStdin("", args...) }

// runStdin runs one command, as main does: through newRootCmd, the error
// printed on stderr, the exit code from exitCode. The global flags point
// the command at the tenant and the config directory.
func (c *cli) runStdin(stdin string, args ...string) *result {
	c.t.Helper()
	return c.runReader(strings.NewReader(stdin), args...)
}

// runReader is runStdin with stdin read from in.
func (c *cli) runReader(in io.Reader, args ...string) *result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	errOut := &syncBuffer{}
	f := &factory{
		Global:       &globalOptions{},
		In:           in,
		Out:          &out,
		ErrOut:       errOut,
		IsTTY:        false,
		Secrets:      func() store.Secrets { return c.keys },
		Now:          time.Now,
		Backoff:      c.backoff,
		OnDeviceCode: c.onDeviceCode,
		OnSignInURL: func(url string) {
			if c.browse != nil {
				go c.browse(url)
			}
		},
	}
	root := newRootCmd(ctx, f)
	root.SetArgs(append(slices.Clone(args), "--login-url", c.tn.info.LoginURL, "--graph-url", c.tn.info.GraphURL,
		"--ca-file", c.tn.info.CAFile, "--config-dir", c.dir))
	start := time.Now()
	err := root.ExecuteContext(ctx)
	took := time.Since(start)
	if err != nil {
		printError(errOut, err)
	}
	r := &result{args: args, stdout: out.String(), stderr: errOut.String(), err: err, code: exitCode(err), took: took}
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
	return r
}

// setup runs `setup --profile p --tenant <the sim's domain> --yes --json`
// plus extra flags.
func (c *cli) setup(profile string, extra ...string) *result {
	c.t.Helper()
	return c.run(append([]string{"setup", "--profile", profile, "--tenant", c.tn.info.TenantDomain, "--yes", "--json"}, extra...)...)
}

// mustSetup runs setup and fails the test unless it succeeds; it returns
// the JSON result.
func (c *cli) mustSetup(profile string, extra ...string) (*result, setupResult) {
	c.t.Helper()
	r := c.setup(profile, extra...)
	r.mustSucceed(c.t)
	var res setupResult
	r.decode(c.t, &res)
	return r, res
}

// mustSucceed fails the test unless the command exited 0.
func (r *result) mustSucceed(t *testing.T) {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("entrawiz %s: exit %d (%v)\nstderr:\n%s\nstdout:\n%s", strings.Join(r.args, " "), r.code, r.err, r.stderr, r.stdout)
	}
}

// mustFail fails the test unless the command exited with code; it returns
// stderr and stdout together, for message checks.
func (r *result) mustFail(t *testing.T, code int) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("entrawiz %s: exit %d, want %d (%v)\nstderr:\n%s\nstdout:\n%s", strings.Join(r.args, " "), r.code, code, r.err, r.stderr, r.stdout)
	}
	return r.stderr + r.stdout
}

// decode reads the command's JSON output.
func (r *result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("entrawiz %s: stdout is not the JSON expected: %v\n%s", strings.Join(r.args, " "), err, r.stdout)
	}
}

// mustContain fails the test unless text holds every want.
func mustContain(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}

// config reads the config directory's config.json.
func (c *cli) config() *store.Config {
	c.t.Helper()
	cfg, err := store.LoadConfig(c.dir)
	if err != nil {
		c.t.Fatalf("load config: %v", err)
	}
	return cfg
}

// keyringValue reads a keyring item the commands stored.
func (c *cli) keyringValue(name string) string {
	c.t.Helper()
	v, err := c.keys.Get(name)
	if err != nil {
		c.t.Fatalf("keyring item %s: %v", name, err)
	}
	return v
}

// mustNotLeak adds a value that must appear nowhere, besides those stored.
func (c *cli) mustNotLeak(secret string) {
	c.mu.Lock()
	c.secrets = append(c.secrets, secret)
	c.mu.Unlock()
}

// assertNoSecretLeaks looks for every secret the commands stored (client
// secrets, the sign-in cache's key) in every run's stdout and stderr (but
// the stdout of a --reveal-secret run) and in every file under the config
// directory.
func (c *cli) assertNoSecretLeaks() {
	t := c.t
	c.mu.Lock()
	secrets := append(c.keys.Values(), c.secrets...)
	runs := slices.Clone(c.runs)
	c.mu.Unlock()
	var checked []string
	for _, s := range secrets {
		if len(s) >= 8 && !slices.Contains(checked, s) {
			checked = append(checked, s)
		}
	}
	if len(checked) == 0 {
		return
	}
	for _, r := range runs {
		for _, s := range checked {
			if !r.reveals && strings.Contains(r.stdout, s) {
				t.Errorf("entrawiz %s printed a secret on stdout", strings.Join(r.args, " "))
			}
			if strings.Contains(r.stderr, s) {
				t.Errorf("entrawiz %s printed a secret on stderr", strings.Join(r.args, " "))
			}
		}
	}
	filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			return nil
		}
		for _, s := range checked {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret in plain text", path)
			}
		}
		// The admin's tokens (MSAL's cache) are kept encrypted.
		for _, marker := range []string{`"RefreshToken"`, `"AccessToken"`, `"secret":"`, `"secretText"`} {
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("%s holds %s in plain text", path, marker)
			}
		}
		return nil
	})
}

// wizardBackend is the wizard's backend over f, as the root command makes it.
func wizardBackend(t *testing.T, f *factory) *ui.AppBackend {
	t.Helper()
	a, err := f.app(&cobra.Command{Use: "entrawiz"})
	if err != nil {
		t.Fatal(err)
	}
	return &ui.AppBackend{App: a}
}
