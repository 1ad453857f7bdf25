package sim_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/internal/ci"
)

// TestAuthorizeInHeadlessChromium runs a sign-in in a real browser:
// headless Chromium opens the authorization address, the simulated tenant
// approves it (--approve auto) and answers with its form_post page, whose
// script posts the code to the app's loopback redirect URI, served here.
func TestAuthorizeInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if ci.Running() {
			t.Fatalf("chromium must be installed in CI (see .ci/run): %v", err)
		}
		t.Skip("chromium is not installed")
	}
	e := newEnv(t, sim.Options{Users: 3, Groups: 1, Approve: "auto"})
	got := make(chan url.Values, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Method == http.MethodPost {
			select {
			case got <- r.PostForm:
			default:
			}
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body><p id=done>entrawiz-signed-in " + r.Method + "</p></body></html>"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	redirect := "http://" + ln.Addr().String() + "/cb"
	authURL := e.authorizeURL(sim.GraphCLIToolsID, redirect, url.Values{"response_mode": {"form_post"}, "login_hint": {e.info.UserUPN}})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+profile,
		// The sim's CA is the test's own: this throw-away browser profile
		// accepts its certificate rather than installing the CA anywhere.
		"--ignore-certificate-errors", "--virtual-time-budget=10000", "--dump-dom", authURL)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "entrawiz-signed-in POST") {
		t.Errorf("the browser did not end on the app's page after the form_post:\n%s", out)
	}
	select {
	case v := <-got:
		if v.Get("code") == "" || v.Get("state") != "st-123" {
			t.Errorf("the form_post carried %v", v)
		}
	default:
		t.Fatalf("the app's redirect URI received no form_post")
	}
}
