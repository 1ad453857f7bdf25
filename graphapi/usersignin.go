package graphapi

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"
)

// UserSignInOptions configures a user's sign-in to the product's own app,
// as the product's server will make it: the authorization code flow with
// PKCE, the code redeemed with the app's client secret.
type UserSignInOptions struct {
	Cloud      Cloud
	Tenant     string // tenant ID
	ClientID   string
	Secret     string
	HTTPClient *http.Client // nil means Cloud.HTTPClient()
	Tracer     *Tracer
}

// UserSignIn is one sign-in test: a loopback listener for the redirect, and
// the app as a confidential client.
type UserSignIn struct {
	o   UserSignInOptions
	cca confidential.Client
	hc  *http.Client
	ln  net.Listener
	// RedirectURI is the loopback address the browser comes back to; it
	// must be registered on the app (web) before Run.
	RedirectURI string
}

// NewUserSignIn listens on a loopback port and prepares the app's client;
// it makes no network call.
func NewUserSignIn(o UserSignInOptions) (*UserSignIn, error) {
	hc, err := identityHTTPClient(o.Cloud, o.HTTPClient, o.Tracer)
	if err != nil {
		return nil, err
	}
	cred, err := confidential.NewCredFromSecret(o.Secret)
	if err != nil {
		return nil, badInput("client secret", "the stored client secret is empty", "Create a new one with `entrawiz rotate`.")
	}
	cca, err := confidential.New(o.Cloud.Authority(o.Tenant), o.ClientID, cred,
		confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(o.Cloud.instanceDiscovery()))
	if err != nil {
		return nil, wrap("user sign-in", err)
	}
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the browser's answer on this machine: %w", err)
	}
	return &UserSignIn{o: o, cca: cca, hc: hc, ln: ln,
		RedirectURI: "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/entrawiz-sign-in-test"}, nil
}

// Close stops listening.
func (u *UserSignIn) Close() error { return u.ln.Close() }

// UserSignInResult is what the product receives for the user.
type UserSignInResult struct {
	User   string         // preferred_username
	Claims map[string]any // the ID token's claims, checked
}

// Run signs the user in: show is told the address to open (the user signs
// in there, loginHint pre-filled), and the answer comes back to the
// loopback listener or through pasted. The code is redeemed with the
// secret and the ID token is checked: signature from the tenant's keys,
// issuer, audience, tenant, nonce and lifetime.
func (u *UserSignIn) Run(ctx context.Context, loginHint string, show func(url string), pasted <-chan string) (*UserSignInResult, error) {
	p, err := NewPKCE()
	if err != nil {
		return nil, err
	}
	var opts []confidential.AuthCodeURLOption
	if loginHint != "" {
		opts = append(opts, confidential.WithLoginHint(loginHint))
	}
	scopes := []string{"openid", "profile", "email", "offline_access", "User.Read"}
	authURL, err := u.cca.AuthCodeURL(ctx, u.o.ClientID, u.RedirectURI, scopes, opts...)
	if err != nil {
		return nil, wrap("user sign-in", err)
	}
	authURL = p.AddTo(authURL, url.Values{"prompt": {"login"}})
	answers, handler := loopbackAnswers("Sign-in refused</h1><p>%s</p><p>Return to entrawiz for what it means.",
		"Signed in</h1><p>The sign-in test is done: return to entrawiz for its result.")
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: handler}
	go srv.Serve(u.ln)
	defer srv.Close()
	show(authURL)
	var q url.Values
	for q == nil {
		select {
		case <-ctx.Done():
			return nil, &Error{Kind: KindCanceled, Op: "user sign-in", Message: "the sign-in was not finished", Err: ctx.Err(),
				Remedy: "Run the test again and finish the sign-in in the browser."}
		case a := <-answers:
			q = a
		case line, ok := <-pasted:
			if !ok {
				pasted = nil
				continue
			}
			if q = PastedAnswer(line); q == nil {
				q = pastedError(line, p.State)
			}
		}
		if q != nil && q.Get("state") != p.State {
			q = nil
		}
	}
	if q.Get("error") != "" {
		return nil, AuthResponseError(q)
	}
	// MSAL adds openid, profile and offline_access itself and checks that
	// the scopes it is given were granted.
	res, err := u.cca.AcquireTokenByAuthCode(ctx, q.Get("code"), u.RedirectURI, []string{"email", "User.Read"}, confidential.WithChallenge(p.Verifier))
	if err != nil {
		return nil, wrap("redeem the sign-in code", err)
	}
	claims, err := u.checkIDToken(ctx, res.IDToken.RawToken, p.Nonce)
	if err != nil {
		return nil, err
	}
	user, _ := claims["preferred_username"].(string)
	return &UserSignInResult{User: user, Claims: claims}, nil
}

// checkIDToken verifies the ID token the way a relying party must (OpenID
// Connect Core 3.1.3.7): the signature with a key from the tenant's JWKS,
// the issuer from the tenant's metadata, the audience (this app), the
// tenant, the nonce of this request, and the lifetime.
func (u *UserSignIn) checkIDToken(ctx context.Context, raw, nonce string) (map[string]any, error) {
	bad := func(format string, a ...any) error {
		return &Error{Kind: KindSignIn, Op: "check the ID token", Code: "invalid_id_token", Message: fmt.Sprintf(format, a...),
			Remedy: "The tenant's answer cannot be trusted as it is: check --login-url and the network path (a proxy rewriting sign-ins), then run the test again."}
	}
	if raw == "" {
		return nil, bad("the token service returned no ID token")
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := u.getJSON(ctx, u.o.Cloud.Authority(u.o.Tenant)+"/v2.0/.well-known/openid-configuration", &meta); err != nil {
		return nil, err
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := u.getJSON(ctx, meta.JWKSURI, &jwks); err != nil {
		return nil, err
	}
	issuer := strings.ReplaceAll(meta.Issuer, "{tenantid}", u.o.Tenant)
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range jwks.Keys {
			if k.Kid != kid || k.Kty != "RSA" {
				continue
			}
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil {
				return nil, errors.New("the signing key is malformed")
			}
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
		}
		return nil, fmt.Errorf("the key %q is not among the tenant's signing keys", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(issuer), jwt.WithAudience(u.o.ClientID),
		jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Minute))
	if err != nil {
		return nil, bad("%v", err)
	}
	if tid, _ := claims["tid"].(string); !strings.EqualFold(tid, u.o.Tenant) {
		return nil, bad("the token is for tenant %q, not %q", tid, u.o.Tenant)
	}
	if got, _ := claims["nonce"].(string); got != nonce {
		return nil, bad("the nonce does not match this sign-in (a replayed token)")
	}
	return map[string]any(claims), nil
}

func (u *UserSignIn) getJSON(ctx context.Context, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := u.hc.Do(req)
	if err != nil {
		return wrap("read the tenant's sign-in keys", classifyNetwork(err))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &Error{Kind: KindServer, Op: "read the tenant's sign-in keys", Status: res.StatusCode,
			Message: "the tenant's metadata could not be read", Remedy: "Check --login-url and --tenant, then run the test again."}
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// pastedError reads an error the tenant showed on its own page (an
// unregistered redirect URI, an unknown app), which never comes back to
// the app: the admin pastes the line that starts with AADSTS.
func pastedError(line, state string) url.Values {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, "AADSTS"); i >= 0 {
		line = line[i:]
	}
	if !strings.HasPrefix(line, "AADSTS") || !strings.Contains(line, ":") {
		return nil
	}
	return url.Values{"error": {"invalid_request"}, "error_description": {line}, "state": {state}}
}
