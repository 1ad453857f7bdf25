package graphapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/google/uuid"
)

// The admin's sign-in modes (--sign-in).
const (
	SignInAuto    = "auto"    // device code; the browser when Conditional Access blocks it
	SignInDevice  = "device"  // device code only
	SignInBrowser = "browser" // the browser only
)

// BrowserOptions says how a browser sign-in reaches the admin.
type BrowserOptions struct {
	// NoBrowser shows the sign-in address instead of opening a browser
	// (an SSH session, no display, --no-browser). The sign-in finishes when
	// the browser comes back to this machine's loopback address, or when
	// the admin pastes the address the browser ended on into Pasted.
	NoBrowser bool
	// Open opens the sign-in page; nil is the platform's browser.
	Open func(url string) error
	// Show is told the sign-in address when no browser is opened.
	Show func(url string)
	// Pasted carries what the admin pastes: the final redirected address.
	Pasted <-chan string
}

// SignInBrowserWith signs in with a browser: MSAL's interactive flow when a
// browser can be opened here; otherwise MSAL's authorization code URL and
// redemption with PKCE, the address shown for a browser anywhere and the
// answer taken from the loopback listener or pasted back, as `az login`
// does.
func (a *Admin) SignInBrowserWith(ctx context.Context, o BrowserOptions) (Identity, error) {
	if !o.NoBrowser {
		return a.SignInBrowser(ctx, o.Open)
	}
	res, err := a.byURL(ctx, o)
	if err != nil {
		return Identity{}, wrap("browser sign-in", err)
	}
	return a.remember(res), nil
}

// byURL is the sign-in by address: listen on a loopback port, show the
// address, wait for the code, redeem it with the verifier.
func (a *Admin) byURL(ctx context.Context, o BrowserOptions) (public.AuthResult, error) {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return public.AuthResult{}, fmt.Errorf("listen for the browser's answer on this machine: %w", err)
	}
	redirect := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"
	p, err := NewPKCE()
	if err != nil {
		ln.Close()
		return public.AuthResult{}, err
	}
	var opts []public.AuthCodeURLOption
	if a.upn != "" {
		opts = append(opts, public.WithLoginHint(a.upn))
	}
	scopes := append(append([]string(nil), a.scopes...), "openid", "profile", "offline_access")
	authURL, err := a.pca.AuthCodeURL(ctx, a.clientID, redirect, scopes, opts...)
	if err != nil {
		ln.Close()
		return public.AuthResult{}, err
	}
	authURL = p.AddTo(authURL, url.Values{"prompt": {"select_account"}})
	answers, handler := loopbackAnswers("Sign-in failed</h1><p>%s</p><p>Return to entrawiz for what to do.",
		"Signed in</h1><p>You can close this window and return to entrawiz.")
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: handler}
	go srv.Serve(ln)
	defer srv.Close()
	if o.Show != nil {
		o.Show(authURL)
	}
	for {
		var q url.Values
		select {
		case <-ctx.Done():
			return public.AuthResult{}, ctx.Err()
		case q = <-answers:
		case line, ok := <-o.Pasted:
			if !ok {
				o.Pasted = nil
				continue
			}
			if q = PastedAnswer(line); q == nil {
				continue
			}
		}
		if q.Get("state") != p.State {
			continue // another sign-in's answer, or a stale paste
		}
		if q.Get("error") != "" {
			return public.AuthResult{}, AuthResponseError(q)
		}
		return a.pca.AcquireTokenByAuthCode(ctx, q.Get("code"), redirect, a.scopes, public.WithChallenge(p.Verifier))
	}
}

// PastedAnswer reads the address a browser ended on (the loopback redirect
// with code and state, or error), as an admin pastes it; nil if it is not
// one.
func PastedAnswer(line string) url.Values {
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil || u.Scheme != "http" {
		return nil
	}
	if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
		return nil
	}
	q := u.Query()
	if q.Get("code") == "" && q.Get("error") == "" {
		return nil
	}
	return q
}

// PKCE is a proof key for one authorization code request (RFC 7636, S256),
// with the state and nonce sent beside it.
type PKCE struct {
	Verifier, Challenge, State, Nonce string
}

// NewPKCE makes a fresh verifier, state and nonce.
func NewPKCE() (PKCE, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return PKCE{}, err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return PKCE{Verifier: v, Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), State: uuid.NewString(), Nonce: uuid.NewString()}, nil
}

// AddTo adds the challenge, state and nonce (and extra) to an
// authorization URL built by MSAL, whose AuthCodeURL has no option for them.
func (p PKCE) AddTo(authURL string, extra url.Values) string {
	u, err := url.Parse(authURL)
	if err != nil {
		return authURL
	}
	q := u.Query()
	q.Set("code_challenge", p.Challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("state", p.State)
	q.Set("nonce", p.Nonce)
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// AuthResponseError is the error an authorization response carried back
// (error, error_description), classified like the token endpoint's.
func AuthResponseError(q url.Values) *Error {
	te := tokenError{Error: q.Get("error"), Description: q.Get("error_description")}
	if strings.HasPrefix(te.Description, "AADSTS") {
		num := strings.TrimPrefix(te.Description, "AADSTS")
		if i := strings.IndexByte(num, ':'); i > 0 {
			if n, err := strconv.Atoi(num[:i]); err == nil {
				te.Codes = []int{n}
			}
		}
	}
	e := fromTokenError(te, 0)
	e.Op = "sign in"
	return e
}

// IsDeviceCodeBlocked reports whether err is Conditional Access refusing a
// device-code sign-in (AADSTS53003, 530033, 530036), for which a browser
// sign-in is the way on.
func IsDeviceCodeBlocked(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		e = Classify(err)
	}
	switch e.Code {
	case "AADSTS53003", "AADSTS530033", "AADSTS530036":
		return true
	}
	return false
}

// loopbackAnswers is the loopback redirect URI's handler: it takes the
// authorization response (query, or form_post), shows the browser a short
// page (refused, with the escaped error_description for its %s, or done),
// and passes the answer on. Requests without a code or an error are not
// answers.
func loopbackAnswers(refused, done string) (<-chan url.Values, http.Handler) {
	answers := make(chan url.Values, 4)
	return answers, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			q = r.PostForm
		}
		if q.Get("code") == "" && q.Get("error") == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if q.Get("error") != "" {
			fmt.Fprintf(w, "<html><body><h1>"+refused+"</p></body></html>", html.EscapeString(firstLine(q.Get("error_description"))))
		} else {
			fmt.Fprint(w, "<html><body><h1>"+done+"</p></body></html>")
		}
		select {
		case answers <- q:
		default:
		}
	})
}
