package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// The browser part of these tests is a plain HTTP client that follows the
// simulated tenant's sign-in pages as a person's browser would: it submits
// the account page and accepts the consent page, and follows the last
// redirect to the product's loopback listener.

var (
	pageFormRe   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	pageHiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// pageBrowser follows sign-in pages for one test.
type pageBrowser struct {
	t   *testing.T
	tn  *tenant
	upn string // who signs in

	mu    sync.Mutex
	pages []string // the last page of each sign-in, what the browser ended on
	urls  []string
}

func newPageBrowser(t *testing.T, tn *tenant, upn string) *pageBrowser {
	return &pageBrowser{t: t, tn: tn, upn: upn}
}

// follow signs in at authURL: the account page as b.upn, the consent page
// accepted, and the redirect back to the product followed.
func (b *pageBrowser) follow(authURL string) {
	b.mu.Lock()
	b.urls = append(b.urls, authURL)
	b.mu.Unlock()
	hc := b.tn.hc
	body, err := b.fetch(hc, http.MethodGet, authURL, nil)
	for i := 0; err == nil && i < 4; i++ {
		m := pageFormRe.FindStringSubmatch(body)
		if m == nil {
			break
		}
		v := url.Values{}
		for _, h := range pageHiddenRe.FindAllStringSubmatch(m[2], -1) {
			v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		switch {
		case strings.Contains(m[2], `name="login"`):
			v.Set("login", b.upn)
		case strings.Contains(m[2], `value="accept"`):
			v.Set("action", "accept")
		case strings.Contains(m[2], `value="cancel"`):
			v.Set("action", "cancel")
		}
		action := html.UnescapeString(m[1])
		if strings.HasPrefix(action, "/") {
			action = b.tn.info.LoginURL + action
		}
		body, err = b.fetch(hc, http.MethodPost, action, v)
	}
	if err != nil {
		body = "error: " + err.Error()
	}
	b.mu.Lock()
	b.pages = append(b.pages, body)
	b.mu.Unlock()
}

func (b *pageBrowser) fetch(hc *http.Client, method, u string, form url.Values) (string, error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return string(raw), err
}

func (b *pageBrowser) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pages) == 0 {
		return ""
	}
	return b.pages[len(b.pages)-1]
}

func TestHeadlessSignInFallsBackToBrowserWhenDeviceCodeBlocked(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{BlockDeviceCode: true})
	c := newCLI(t, tn)
	b := newPageBrowser(t, tn, tn.info.AdminUPN)
	c.browse = b.follow

	// device only: the block is the answer, an admin must act (exit 3).
	r := c.setup("sso", "--sign-in", "device", "--no-browser")
	out := r.mustFail(t, exitAdminAction)
	if !strings.Contains(out, "AADSTS53003") {
		t.Errorf("device-only sign-in blocked: want AADSTS53003 in\n%s", out)
	}

	// auto: the device code is blocked, the browser takes over by itself.
	r, res := c.mustSetup("sso", "--sign-in", "auto", "--no-browser")
	if res.Connection == "" {
		t.Fatalf("no connection in %s", r.stdout)
	}
	if !strings.Contains(b.last(), "Signed in") {
		t.Errorf("the browser did not end on the product's page: %q", b.last())
	}
	if len(b.urls) != 1 {
		t.Fatalf("want one browser sign-in, got %d", len(b.urls))
	}
	// The address is on stderr on a line of its own, to be copied whole.
	if !strings.Contains(r.stderr, "\n"+b.urls[0]+"\n") {
		t.Errorf("the sign-in address is not on a line of its own in stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "Conditional Access blocks the device-code sign-in") {
		t.Errorf("stderr does not say why the browser is used:\n%s", r.stderr)
	}
	u, _ := url.Parse(b.urls[0])
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || !strings.HasPrefix(q.Get("redirect_uri"), "http://localhost:") {
		t.Errorf("the sign-in address is not a PKCE loopback request: %s", b.urls[0])
	}
}

func TestHeadlessBrowserSignInByPastedAddress(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	// The admin's browser is on another computer: it cannot reach this
	// machine's loopback address, so the admin pastes where it ended.
	pasted := make(chan string, 1)
	c.browse = func(authURL string) {
		hc := *tn.hc
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), "http://localhost:") {
				pasted <- req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}
		b := newPageBrowser(t, tn, tn.info.AdminUPN)
		body, err := b.fetch(&hc, http.MethodGet, authURL, nil)
		for i := 0; err == nil && i < 3; i++ {
			m := pageFormRe.FindStringSubmatch(body)
			if m == nil {
				break
			}
			v := url.Values{}
			for _, h := range pageHiddenRe.FindAllStringSubmatch(m[2], -1) {
				v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
			}
			v.Set("login", tn.info.AdminUPN)
			v.Set("action", "accept")
			body, err = b.fetch(&hc, http.MethodPost, tn.info.LoginURL+html.UnescapeString(m[1]), v)
		}
	}
	pr, pw := io.Pipe()
	go func() {
		addr := <-pasted
		io.WriteString(pw, "not an address\n"+addr+"\n")
		pw.Close()
	}()
	r := c.runReader(pr, "setup", "--profile", "sso", "--tenant", tn.info.TenantDomain, "--yes", "--json", "--sign-in", "browser", "--no-browser")
	r.mustSucceed(t)
	if tn.PendingDeviceCodes() != nil || c.deviceCodes() != 0 {
		t.Errorf("--sign-in browser asked for a device code")
	}
}

// signInTestOut is what `test --sign-in --json` prints.
type signInTestOut struct {
	SignIn struct {
		OK     bool           `json:"ok"`
		User   string         `json:"user"`
		Claims map[string]any `json:"claims"`
	} `json:"signIn"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

func TestSignInTestAssignedUnassignedConsentSecret(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	_, res := c.mustSetup("sso")
	app := func() map[string]any { return tn.get(t, "/applications/"+res.App.ObjectID) }
	before := app()
	sp := res.App.ServicePrincipalID
	if st, body := tn.graph(t, http.MethodPatch, "/servicePrincipals/"+sp, map[string]any{"appRoleAssignmentRequired": true}); st != http.StatusNoContent {
		t.Fatalf("require assignment: %d %v", st, body)
	}
	user := tn.get(t, "/users/"+tn.info.UserUPN)
	if st, body := tn.graph(t, http.MethodPost, "/servicePrincipals/"+sp+"/appRoleAssignedTo", map[string]any{
		"principalId": user["id"], "resourceId": sp, "appRoleId": defaultAccessRoleID}); st != http.StatusCreated {
		t.Fatalf("assign the user: %d %v", st, body)
	}
	signIn := func(upn string) (*result, signInTestOut) {
		t.Helper()
		b := newPageBrowser(t, tn, upn)
		c.browse = b.follow
		r := c.run("test", "--sign-in", "--user", upn, "--json", "--no-browser")
		var out signInTestOut
		r.decode(t, &out)
		if !reflectEqualJSON(app(), before) {
			t.Errorf("the app changed after a sign-in test as %s:\nbefore %v\nafter  %v", upn, before, app())
		}
		return r, out
	}

	// Assigned: signed in, the claims the product receives.
	r, out := signIn(tn.info.UserUPN)
	r.mustSucceed(t)
	cl := out.SignIn.Claims
	if !out.SignIn.OK || out.SignIn.User != tn.info.UserUPN || cl["aud"] != res.App.AppID || cl["tid"] != tn.info.TenantID ||
		cl["oid"] != user["id"] || cl["preferred_username"] != tn.info.UserUPN || cl["nonce"] == nil || cl["email"] == nil {
		t.Errorf("assigned user: %+v", out.SignIn)
	}

	// Not assigned: refused, an admin must act, the AADSTS code kept.
	other := tn.get(t, "/users/"+tn.CreateUser("Megan Bowen"))["userPrincipalName"].(string)
	r, out = signIn(other)
	r.mustFail(t, exitAdminAction)
	if out.Error == nil || out.Error.Code != "AADSTS50105" || out.SignIn.OK {
		t.Errorf("unassigned user: %s", r.stdout)
	}
	mustContain(t, r.stdout, "not assigned", "nested groups do not count")

	// Consent missing and users may not consent: the approval page.
	for _, g := range tn.grantsOf(t, sp) {
		if st, _ := tn.graph(t, http.MethodDelete, "/oauth2PermissionGrants/"+g["id"].(string), nil); st != http.StatusNoContent {
			t.Fatalf("remove consent: %d", st)
		}
	}
	tn.SetFaults(sim.Faults{UserConsentBlocked: true})
	r, out = signIn(tn.info.UserUPN)
	r.mustFail(t, exitAdminAction)
	if out.Error == nil || out.Error.Code != "AADSTS65004" {
		t.Errorf("consent missing: %s", r.stdout)
	}
	mustContain(t, r.stdout, "admin consent")

	// The stored secret expired: the product could not redeem sign-ins.
	tn.SetFaults(sim.Faults{})
	if st, body := tn.graph(t, http.MethodPost, "/oauth2PermissionGrants", map[string]any{"clientId": sp, "consentType": "AllPrincipals",
		"resourceId": tn.graphSPID(t), "scope": "openid profile email offline_access User.Read"}); st != http.StatusCreated {
		t.Fatalf("consent again: %d %v", st, body)
	}
	if err := tn.ExpireSecrets(res.App.AppID); err != nil {
		t.Fatal(err)
	}
	before = app() // the secret's end date is the only change so far
	r, out = signIn(tn.info.UserUPN)
	r.mustFail(t, exitAdminAction)
	if out.Error == nil || out.Error.Code != "AADSTS7000222" {
		t.Errorf("expired secret: %s", r.stdout)
	}
	mustContain(t, r.stdout, "entrawiz rotate")
}

func TestSignInTestWrongRedirectURIAndKilledRun(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, sim.Faults{})
	c := newCLI(t, tn)
	_, res := c.mustSetup("sso")
	appNow := func() map[string]any { return tn.get(t, "/applications/"+res.App.ObjectID) }
	original := appNow()

	// The product's callback is not registered: the tenant shows its own
	// error page, and the admin pastes the AADSTS line from it.
	pr, pw := io.Pipe()
	c.browse = func(authURL string) {
		u, _ := url.Parse(authURL)
		q := u.Query()
		q.Set("redirect_uri", "http://localhost:1/not-registered")
		u.RawQuery = q.Encode()
		b := newPageBrowser(t, tn, tn.info.UserUPN)
		body, _ := b.fetch(tn.hc, http.MethodGet, u.String(), nil)
		line := regexp.MustCompile(`AADSTS\d+: [^<]*`).FindString(html.UnescapeString(body))
		io.WriteString(pw, line+"\n")
		pw.Close()
	}
	r := c.runReader(pr, "test", "--sign-in", "--json", "--no-browser")
	var out signInTestOut
	r.decode(t, &out)
	if out.Error == nil || out.Error.Code != "AADSTS50011" {
		t.Errorf("wrong redirect URI: %s", r.stdout)
	}
	mustContain(t, r.stdout, "redirect URI", "not registered")
	if !reflectEqualJSON(appNow(), original) {
		t.Errorf("the app changed: %v", appNow())
	}

	// A run killed once the temporary URI is on the app: what it leaves is
	// the config as saved then and the app as it was then.
	cfgPath := filepath.Join(c.dir, "config.json")
	var leftCfg []byte
	var leftURIs []any
	b := newPageBrowser(t, tn, tn.info.UserUPN)
	c.browse = func(authURL string) {
		leftCfg, _ = os.ReadFile(cfgPath)
		leftURIs = appNow()["web"].(map[string]any)["redirectUris"].([]any)
		b.follow(authURL)
	}
	c.run("test", "--sign-in", "--json", "--no-browser").mustSucceed(t)
	if !strings.Contains(string(leftCfg), "signInTest") || len(leftURIs) != len(original["web"].(map[string]any)["redirectUris"].([]any))+1 {
		t.Fatalf("the temporary URI was not recorded before it was added: config %s, URIs %v", leftCfg, leftURIs)
	}
	if err := os.WriteFile(cfgPath, leftCfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if st, body := tn.graph(t, http.MethodPatch, "/applications/"+res.App.ObjectID, map[string]any{"web": map[string]any{"redirectUris": leftURIs}}); st != http.StatusNoContent {
		t.Fatalf("leave the URI: %d %v", st, body)
	}
	// The next run removes the leftover first: while it signs in, only its
	// own temporary URI is there.
	var during []any
	c.browse = func(authURL string) {
		during = appNow()["web"].(map[string]any)["redirectUris"].([]any)
		b.follow(authURL)
	}
	c.run("test", "--sign-in", "--json", "--no-browser").mustSucceed(t)
	for _, u := range leftURIs {
		if strings.HasPrefix(u.(string), "http://localhost:") && slices.Contains(during, u) {
			t.Errorf("the leftover URI %s was still there during the next run: %v", u, during)
		}
	}
	if !reflectEqualJSON(appNow(), original) {
		t.Errorf("the app is not as before:\nbefore %v\nafter  %v", original, appNow())
	}
	if cfg, _ := os.ReadFile(cfgPath); strings.Contains(string(cfg), "signInTest") {
		t.Errorf("the record stayed in the config")
	}
}

// reflectEqualJSON compares two JSON objects.
func reflectEqualJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
