package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// DeviceCode is a device-code sign-in to show the admin.
type DeviceCode struct {
	Code    string
	URL     string
	Message string
	Expires time.Time
}

// SignInPrompt is the first phase of the admin's sign-in. When a saved
// sign-in works, or the sign-in is by browser only, Code is empty; Wait
// returns once the admin is signed in.
type SignInPrompt struct {
	DeviceCode
	// ByBrowser: no device code was asked for (--sign-in browser); Wait
	// signs in with the browser.
	ByBrowser bool
	// Auto: a device code that Conditional Access blocks goes on with the
	// browser by itself (--sign-in auto).
	Auto bool
	// ShowURL is told the browser sign-in address when no browser can be
	// opened here; it starts as the App's OnSignInURL.
	ShowURL func(url string)
	a       *App
	admin   *graphapi.Admin
	cache   *graphapi.PersistentCache
	wait    func(ctx context.Context) (graphapi.Identity, error)
	signed  func(*session) // told the session once the admin is signed in
}

// Wait blocks until the admin approves the device code, declines it, or it
// expires. With Auto, a device code blocked by Conditional Access goes on
// with the browser.
func (p *SignInPrompt) Wait(ctx context.Context) error {
	id, err := p.wait(ctx)
	if err != nil && p.Auto && graphapi.IsDeviceCodeBlocked(err) {
		return p.Browser(ctx)
	}
	return p.finish(id, err)
}

// Browser signs in with the browser instead, for when Conditional Access
// blocks the device code.
func (p *SignInPrompt) Browser(ctx context.Context) error {
	return p.finish(p.admin.SignInBrowserWith(ctx, p.a.browserOptions(p.ShowURL)))
}

func (p *SignInPrompt) finish(id graphapi.Identity, err error) error {
	if err != nil {
		return err
	}
	s, err := p.a.newSession(p.admin, id)
	if err != nil {
		return err
	}
	s.cache = p.cache
	p.signed(s)
	return nil
}

// session is the admin's signed-in access to Graph.
type session struct {
	admin    *graphapi.Admin
	graph    *graphapi.Client
	identity graphapi.Identity
	cache    *graphapi.PersistentCache
}

// newAdmin prepares the admin's sign-in with the saved, encrypted token
// cache.
func (a *App) newAdmin(tenant string, scopes []string) (*graphapi.Admin, *graphapi.PersistentCache, error) {
	cache := graphapi.NewPersistentCache(&store.TokenCache{Path: filepath.Join(a.o.ConfigDir, "signin-cache.bin"), Secrets: a.o.Secrets})
	admin, err := graphapi.NewAdmin(graphapi.AdminOptions{Cloud: a.cloud, Tenant: tenant, ClientID: a.o.AdminClientID,
		Scopes: scopes, Cache: cache, Tracer: a.o.Tracer})
	return admin, cache, err
}

func (a *App) newSession(admin *graphapi.Admin, id graphapi.Identity) (*session, error) {
	graph, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: a.cloud, Tokens: admin, Tracer: a.o.Tracer})
	if err != nil {
		return nil, err
	}
	return &session{admin: admin, graph: graph, identity: id}, nil
}

// startSignIn signs the admin in silently from the saved cache when it can,
// else starts a device code; signed is called with the session once the
// admin is signed in.
func (a *App) startSignIn(ctx context.Context, tenant string, scopes []string, signed func(*session)) (*SignInPrompt, error) {
	admin, cache, err := a.newAdmin(tenant, scopes)
	if err != nil {
		return nil, err
	}
	p := &SignInPrompt{a: a, admin: admin, cache: cache, signed: signed, ShowURL: a.o.OnSignInURL,
		Auto: a.o.SignIn == "" || a.o.SignIn == graphapi.SignInAuto}
	id, err := admin.SignInSilent(ctx)
	if err == nil {
		p.wait = func(context.Context) (graphapi.Identity, error) { return id, nil }
		return p, nil
	}
	if !graphapi.IsKind(err, graphapi.KindSignInRequired, graphapi.KindConsentNeeded, graphapi.KindSignIn) {
		return nil, err
	}
	if a.o.SignIn == graphapi.SignInBrowser {
		p.ByBrowser = true
		p.wait = func(ctx context.Context) (graphapi.Identity, error) {
			return admin.SignInBrowserWith(ctx, a.browserOptions(p.ShowURL))
		}
		return p, nil
	}
	dc, err := admin.StartDeviceCode(ctx)
	if err != nil {
		if p.Auto && graphapi.IsDeviceCodeBlocked(err) {
			p.ByBrowser = true
			p.wait = func(ctx context.Context) (graphapi.Identity, error) {
				return admin.SignInBrowserWith(ctx, a.browserOptions(p.ShowURL))
			}
			return p, nil
		}
		return nil, err
	}
	p.DeviceCode = DeviceCode{Code: dc.UserCode, URL: dc.VerificationURL, Message: dc.Message, Expires: dc.ExpiresOn}
	p.wait = dc.Wait
	if a.o.OnDeviceCode != nil {
		a.o.OnDeviceCode(dc.UserCode)
	}
	return p, nil
}

// signIn signs the admin in, showing a device code through show when one
// is needed.
func (a *App) signIn(ctx context.Context, tenant string, scopes []string, show func(DeviceCode)) (*session, error) {
	var s *session
	p, err := a.startSignIn(ctx, tenant, scopes, func(got *session) { s = got })
	if err != nil {
		return nil, err
	}
	if p.Code != "" && show != nil {
		show(p.DeviceCode)
	}
	if err := p.Wait(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// note says why the sign-in will not be remembered, or "".
func (s *session) note() string {
	if s == nil || s.cache == nil {
		return ""
	}
	if err := s.cache.Err(); err != nil {
		return "this sign-in will not be remembered: " + err.Error()
	}
	return ""
}
