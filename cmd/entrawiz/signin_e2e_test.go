package main

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
