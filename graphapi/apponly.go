package graphapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"
)

// AppOptions configures app-only (client credentials) access.
type AppOptions struct {
	Cloud    Cloud
	Tenant   string // tenant ID or verified domain
	ClientID string // the app's application (client) ID
	Secret   string // the client secret's Value
	// Certificate, when set, signs the app in with a client assertion
	// (MSAL's certificate credential) instead of Secret.
	Certificate *Certificate
	HTTPClient  *http.Client
	Tracer      *Tracer
}

// App gets app-only Graph tokens with MSAL's confidential client and a
// client secret.
type App struct {
	cca    confidential.Client
	cache  *memoryCache
	scope  string
	secret string
	// one makes concurrent first calls wait for one token request rather
	// than each making its own; a waiting call gives up with its context.
	one chan struct{}
}

// AppToken is what an app-only token says about the app: its roles are
// the application permissions that have been granted (consented).
type AppToken struct {
	AppID     string
	TenantID  string
	ObjectID  string // the service principal's object ID
	Roles     []string
	ExpiresOn time.Time
}

// NewApp prepares app-only access; it makes no network call.
func NewApp(opts AppOptions) (*App, error) {
	if opts.Cloud.LoginURL == "" {
		opts.Cloud = nationalClouds["public"]
	}
	if opts.Tenant == "" {
		return nil, badInput("tenant", "app-only sign-in needs a tenant", "Give --tenant (tenant ID or verified domain).")
	}
	if !looksLikeGUID(opts.ClientID) {
		return nil, badInput("client ID", "the client ID is not a GUID", "Copy the Application (client) ID from the app's overview page.")
	}
	var cred confidential.Credential
	var err error
	switch {
	case opts.Certificate != nil:
		cred, err = confidential.NewCredFromCert([]*x509.Certificate{opts.Certificate.Cert}, opts.Certificate.Key)
		if err != nil {
			return nil, badInput("certificate", "the certificate cannot sign the app in: "+err.Error(), "Set the connection up again to make a new certificate.")
		}
	case opts.Secret == "":
		return nil, badInput("client secret", "no client secret", "Store the client secret's Value first.")
	default:
		cred, err = confidential.NewCredFromSecret(opts.Secret)
		if err != nil {
			return nil, redact(Classify(err), opts.Secret)
		}
	}
	hc, err := identityHTTPClient(opts.Cloud, opts.HTTPClient, opts.Tracer)
	if err != nil {
		return nil, err
	}
	mc := &memoryCache{}
	cca, err := confidential.New(opts.Cloud.Authority(opts.Tenant), opts.ClientID, cred,
		confidential.WithHTTPClient(hc),
		confidential.WithInstanceDiscovery(opts.Cloud.instanceDiscovery()),
		confidential.WithCache(mc),
	)
	if err != nil {
		return nil, redact(wrap("app-only sign-in", err).(*Error), opts.Secret)
	}
	return &App{cca: cca, cache: mc, scope: opts.Cloud.AppOnlyScope(), secret: opts.Secret, one: make(chan struct{}, 1)}, nil
}

// AccessToken returns an app-only Graph token (cached by MSAL until it
// nears expiry).
func (a *App) AccessToken(ctx context.Context) (string, error) {
	select {
	case a.one <- struct{}{}:
		defer func() { <-a.one }()
	case <-ctx.Done():
		return "", wrap("get an app-only token", ctx.Err())
	}
	res, err := a.cca.AcquireTokenByCredential(ctx, []string{a.scope})
	if err != nil {
		return "", a.fail(err)
	}
	return res.AccessToken, nil
}

// Token returns a fresh app-only token (never a cached one, so newly
// granted roles show) and what it says.
func (a *App) Token(ctx context.Context) (AppToken, error) {
	a.cache.clear()
	res, err := a.cca.AcquireTokenByCredential(ctx, []string{a.scope})
	if err != nil {
		return AppToken{}, a.fail(err)
	}
	t, err := parseAppToken(res.AccessToken)
	if err != nil {
		return AppToken{}, err
	}
	t.ExpiresOn = res.ExpiresOn
	return t, nil
}

// VerifyRoles gets a fresh token and checks that it carries every role in
// want. Missing roles right after consent are a replication symptom, so
// they come back as KindNotFoundYet with Code "RolesMissing" for Retry.
func (a *App) VerifyRoles(ctx context.Context, want []string) (AppToken, error) {
	t, err := a.Token(ctx)
	if err != nil {
		return t, err
	}
	var missing []string
	for _, r := range want {
		if !slices.Contains(t.Roles, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return t, &Error{Kind: KindNotFoundYet, Op: "verify app-only token", Code: "RolesMissing",
			Message: "the app-only token lacks " + strings.Join(missing, ", "),
			Remedy:  "Grant admin consent for these application permissions; if it was just granted, Entra may still be replicating it."}
	}
	return t, nil
}

func (a *App) fail(err error) error {
	return redact(wrap("app-only sign-in", err).(*Error), a.secret)
}

func parseAppToken(raw string) (AppToken, error) {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return AppToken{}, &Error{Kind: KindUnknown, Op: "read app-only token", Code: "bad_token",
			Message: "the access token is not a JWT", Remedy: "Check --login-url: the token service answered with something unexpected."}
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	t := AppToken{AppID: str("appid"), TenantID: str("tid"), ObjectID: str("oid")}
	if t.AppID == "" {
		t.AppID = str("azp")
	}
	if roles, ok := claims["roles"].([]any); ok {
		for _, r := range roles {
			if s, ok := r.(string); ok {
				t.Roles = append(t.Roles, s)
			}
		}
	}
	sort.Strings(t.Roles)
	return t, nil
}

// memoryCache is an in-memory MSAL token cache that can be emptied, so that
// Token gets a token from the service instead of the cached one.
type memoryCache struct {
	mu   sync.Mutex
	data []byte
}

// Replace loads the saved cache into MSAL; nothing saved means empty.
func (m *memoryCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	data := m.data
	m.mu.Unlock()
	if data == nil {
		data = []byte("{}")
	}
	if err := u.Unmarshal(data); err != nil {
		return fmt.Errorf("load token cache: %w", err)
	}
	return nil
}

// Export saves MSAL's cache.
func (m *memoryCache) Export(ctx context.Context, c cache.Marshaler, _ cache.ExportHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := c.Marshal()
	if err != nil {
		return errors.New("save token cache: cannot marshal")
	}
	m.mu.Lock()
	m.data = data
	m.mu.Unlock()
	return nil
}

func (m *memoryCache) clear() {
	m.mu.Lock()
	m.data = nil
	m.mu.Unlock()
}

// AppSession is the product's own access to the tenant: app-only tokens
// from the client secret, and a Graph client that uses them.
type AppSession struct {
	*App
	Graph *Client
}

// NewAppSession prepares app-only access and its Graph client; it makes no
// network call.
func NewAppSession(opts AppOptions) (*AppSession, error) {
	app, err := NewApp(opts)
	if err != nil {
		return nil, err
	}
	g, err := NewClient(ClientOptions{Cloud: opts.Cloud, Tokens: app, HTTPClient: opts.HTTPClient, Tracer: opts.Tracer})
	if err != nil {
		return nil, err
	}
	return &AppSession{App: app, Graph: g}, nil
}

// CheckReads performs reads with the app-only token; see Client.CheckReads.
func (s *AppSession) CheckReads(ctx context.Context, reads []Read) ([]ReadResult, error) {
	return s.Graph.CheckReads(ctx, reads)
}
