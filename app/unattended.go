package app

import (
	"context"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// signInNoPrompt signs the admin in from the saved sign-in only, for a run
// nobody watches (a scheduled rotation): when that no longer works it
// fails at once, as needing an admin, instead of showing a device code
// nobody will enter.
func (a *App) signInNoPrompt(ctx context.Context, tenant store.Tenant, connection string, scopes []string) (*session, error) {
	admin, cache, id, err := a.savedSignIn(ctx, tenant, scopes)
	if err != nil {
		if graphapi.IsKind(err, graphapi.KindSignInRequired, graphapi.KindConsentNeeded, graphapi.KindSignIn) {
			return nil, &NeedsAdminError{Problems: []Problem{{Connection: connection, Code: "SignInNeeded",
				Message: "the saved admin sign-in no longer works (--no-prompt: no device code is shown)",
				Remedy:  "Run `entrawiz rotate` (or `entrawiz status`) once in a terminal and sign in; the scheduled runs use that sign-in after it."}}}
		}
		return nil, err
	}
	s, err := a.newSession(admin, id)
	if err != nil {
		return nil, err
	}
	s.cache = cache
	return s, nil
}

// savedSignIn signs the admin in from the saved sign-in only. The cache
// knows the tenant by the name the admin signed in with (its ID, or a
// domain given to setup), so each is tried; none costs a request unless
// the cache holds an account for it.
func (a *App) savedSignIn(ctx context.Context, tenant store.Tenant, scopes []string) (*graphapi.Admin, *graphapi.PersistentCache, graphapi.Identity, error) {
	var err error
	for _, name := range []string{tenant.ID, tenant.InitialDomain, tenant.PrimaryDomain} {
		if name == "" {
			continue
		}
		var admin *graphapi.Admin
		var cache *graphapi.PersistentCache
		if admin, cache, err = a.newAdmin(name, scopes); err != nil {
			return nil, nil, graphapi.Identity{}, err
		}
		var id graphapi.Identity
		if id, err = admin.SignInSilent(ctx); err == nil {
			return admin, cache, id, nil
		}
		if !graphapi.IsKind(err, graphapi.KindSignInRequired) {
			return nil, nil, graphapi.Identity{}, err
		}
	}
	if err == nil {
		err = &graphapi.Error{Kind: graphapi.KindSignInRequired, Op: "sign in from cache", Message: "the connection names no tenant"}
	}
	return nil, nil, graphapi.Identity{}, err
}
