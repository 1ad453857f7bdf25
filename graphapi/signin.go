package graphapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/google/uuid"
)

// AdminOptions configures the admin's delegated sign-in.
type AdminOptions struct {
	Cloud    Cloud
	Tenant   string   // tenant ID or verified domain; "" means organizations
	ClientID string   // public client; "" means GraphCLIToolsClientID
	Scopes   []string // Graph permission names the plan needs, e.g. "Application.ReadWrite.All"
	// Cache is where MSAL keeps the admin's tokens between runs (the store
	// encrypts it); nil keeps them in memory for this process only.
	Cache cache.ExportReplace
	// Account, when set, picks this user principal name among cached accounts.
	Account    string
	HTTPClient *http.Client // nil means Cloud.HTTPClient()
	Tracer     *Tracer
}

// Admin is the admin's sign-in with MSAL's public client: device code
// first, silent re-acquisition from the token cache afterwards.
type Admin struct {
	pca      public.Client
	clientID string
	cloud    Cloud
	tenant   string
	upn      string
	scopes   []string
	tracer   *Tracer

	mu       sync.Mutex
	account  public.Account
	identity Identity
	signedIn bool
	token    string    // the last access token, reused until near expiry so
	expires  time.Time // MSAL's cache (the store's encrypted file) is not read per request
}

// Identity is who signed in and what the token allows.
type Identity struct {
	UPN       string
	Name      string
	ObjectID  string
	TenantID  string
	Scopes    []string // granted scopes, as the token service returned them
	ExpiresOn time.Time
}

// NewAdmin prepares the admin's sign-in; it makes no network call.
func NewAdmin(opts AdminOptions) (*Admin, error) {
	if opts.ClientID == "" {
		opts.ClientID = GraphCLIToolsClientID
	}
	if opts.Cloud.LoginURL == "" {
		opts.Cloud = nationalClouds["public"]
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{"User.Read"}
	}
	hc, err := identityHTTPClient(opts.Cloud, opts.HTTPClient, opts.Tracer)
	if err != nil {
		return nil, err
	}
	po := []public.Option{
		public.WithAuthority(opts.Cloud.Authority(opts.Tenant)),
		public.WithHTTPClient(hc),
		public.WithInstanceDiscovery(opts.Cloud.instanceDiscovery()),
	}
	if opts.Cache != nil {
		po = append(po, public.WithCache(opts.Cache))
	}
	pca, err := public.New(opts.ClientID, po...)
	if err != nil {
		return nil, wrap("sign in", err)
	}
	return &Admin{
		pca:      pca,
		clientID: opts.ClientID,
		cloud:    opts.Cloud,
		tenant:   opts.Tenant,
		upn:      opts.Account,
		scopes:   opts.Cloud.DelegatedScopes(opts.Scopes),
		tracer:   opts.Tracer,
	}, nil
}

// identityHTTPClient is the client MSAL uses: base (or the cloud's), traced.
func identityHTTPClient(c Cloud, base *http.Client, t *Tracer) (*http.Client, error) {
	if base == nil {
		var err error
		if base, err = c.HTTPClient(); err != nil {
			return nil, err
		}
	}
	if t == nil {
		return base, nil
	}
	hc := *base
	hc.Transport = t.Transport("login", base.Transport)
	return &hc, nil
}

// SignInSilent signs in from the token cache without prompting: it finds
// a cached account for this tenant and refreshes its token if needed. With
// nothing usable cached it returns an *Error of KindSignInRequired.
func (a *Admin) SignInSilent(ctx context.Context) (Identity, error) {
	accounts, err := a.pca.Accounts(ctx)
	if err != nil {
		return Identity{}, wrap("sign in from cache", err)
	}
	var acct *public.Account
	for i := range accounts {
		ac := accounts[i]
		if a.upn != "" && !strings.EqualFold(ac.PreferredUsername, a.upn) {
			continue
		}
		if looksLikeGUID(a.tenant) && !strings.EqualFold(ac.Realm, a.tenant) {
			continue
		}
		acct = &ac
		break
	}
	if acct == nil {
		return Identity{}, &Error{Kind: KindSignInRequired, Op: "sign in from cache", Code: "no_cached_account",
			Message: "no saved sign-in for this tenant", Remedy: "Sign in with a device code."}
	}
	res, err := a.pca.AcquireTokenSilent(ctx, a.scopes, public.WithSilentAccount(*acct))
	if err != nil {
		e := Classify(err)
		if e.Kind == KindUnknown {
			// MSAL's own "no token / no refresh token" errors.
			e = &Error{Kind: KindSignInRequired, Code: "no_cached_token", Message: "the saved sign-in cannot be used",
				Remedy: "Sign in with a device code."}
		}
		return Identity{}, wrap("sign in from cache", e)
	}
	return a.remember(res), nil
}

// DeviceCodeSignIn is the first phase of a device-code sign-in: the code to
// show. Wait is the second phase.
type DeviceCodeSignIn struct {
	UserCode        string
	VerificationURL string
	Message         string // the service's instruction, in its language
	ExpiresOn       time.Time

	admin *Admin
	dc    public.DeviceCode
}

// StartDeviceCode asks the identity platform for a device code.
func (a *Admin) StartDeviceCode(ctx context.Context) (*DeviceCodeSignIn, error) {
	dc, err := a.pca.AcquireTokenByDeviceCode(ctx, a.scopes)
	if err != nil {
		return nil, wrap("start device-code sign-in", err)
	}
	return &DeviceCodeSignIn{
		UserCode:        dc.Result.UserCode,
		VerificationURL: dc.Result.VerificationURL,
		Message:         dc.Result.Message,
		ExpiresOn:       dc.Result.ExpiresOn,
		admin:           a,
		dc:              dc,
	}, nil
}

// Wait polls until the admin approves, declines or the code expires, or
// ctx ends.
func (d *DeviceCodeSignIn) Wait(ctx context.Context) (Identity, error) {
	res, err := d.dc.AuthenticationResult(ctx)
	if err != nil {
		// MSAL bounds polling by the code's expiry with a context deadline.
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && !time.Now().Before(d.ExpiresOn) {
			return Identity{}, &Error{Kind: KindSignIn, Op: "device-code sign-in", Code: "expired_token",
				Message: "the sign-in code expired", Remedy: oauthErrors["expired_token"].remedy}
		}
		return Identity{}, wrap("device-code sign-in", err)
	}
	return d.admin.remember(res), nil
}

// SignInBrowser signs in with the system browser (authorization code with
// PKCE on a loopback redirect), the fallback when Conditional Access blocks
// the device-code flow. openURL opens the sign-in page; nil uses the
// platform's browser.
func (a *Admin) SignInBrowser(ctx context.Context, openURL func(url string) error) (Identity, error) {
	var opts []public.AcquireInteractiveOption
	if openURL != nil {
		opts = append(opts, public.WithOpenURL(openURL))
	}
	if a.upn != "" {
		opts = append(opts, public.WithLoginHint(a.upn))
	}
	res, err := a.pca.AcquireTokenInteractive(ctx, a.scopes, opts...)
	if err != nil {
		return Identity{}, wrap("browser sign-in", err)
	}
	return a.remember(res), nil
}

func (a *Admin) remember(res public.AuthResult) Identity {
	id := Identity{
		UPN:       firstNonEmpty(res.IDToken.PreferredUsername, res.IDToken.UPN, res.Account.PreferredUsername),
		Name:      firstNonEmpty(res.IDToken.Name, res.Account.Name),
		ObjectID:  firstNonEmpty(res.IDToken.Oid, res.Account.LocalAccountID),
		TenantID:  firstNonEmpty(res.IDToken.TenantID, res.Account.Realm),
		Scopes:    res.GrantedScopes,
		ExpiresOn: res.ExpiresOn,
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.account, a.identity, a.signedIn = res.Account, id, true
	a.token, a.expires = res.AccessToken, res.ExpiresOn
	return id
}

// tokenMargin is how long before expiry a token is no longer handed out,
// MSAL's own margin.
const tokenMargin = 5 * time.Minute

// Identity returns who is signed in, and false before a sign-in.
func (a *Admin) Identity() (Identity, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.identity, a.signedIn
}

// AccessToken returns a Graph access token for the signed-in admin, from
// MSAL's cache or refreshed with the refresh token.
func (a *Admin) AccessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	acct, ok := a.account, a.signedIn
	if ok && a.token != "" && time.Until(a.expires) > tokenMargin {
		tok := a.token
		a.mu.Unlock()
		return tok, nil
	}
	a.mu.Unlock()
	if !ok {
		return "", &Error{Kind: KindSignInRequired, Op: "get admin token", Code: "not_signed_in",
			Message: "not signed in", Remedy: "Sign in with a device code first."}
	}
	res, err := a.pca.AcquireTokenSilent(ctx, a.scopes, public.WithSilentAccount(acct))
	if err != nil {
		e := Classify(err)
		if e.Kind == KindUnknown {
			e = &Error{Kind: KindSignInRequired, Code: "no_cached_token", Message: "the sign-in can no longer be refreshed",
				Remedy: "Sign in again with a device code."}
		}
		return "", wrap("get admin token", e)
	}
	a.mu.Lock()
	a.token, a.expires = res.AccessToken, res.ExpiresOn
	a.mu.Unlock()
	return res.AccessToken, nil
}

// SignOut removes the admin's account and tokens from the cache.
func (a *Admin) SignOut(ctx context.Context) error {
	a.mu.Lock()
	acct, ok := a.account, a.signedIn
	a.signedIn, a.token = false, ""
	a.mu.Unlock()
	if !ok {
		return nil
	}
	return wrap("sign out", a.pca.RemoveAccount(ctx, acct))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// looksLikeGUID reports whether s is a GUID in its usual 36-character form.
func looksLikeGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
