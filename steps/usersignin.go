package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// SignInTestResult is a user's sign-in to the app, as the product makes it.
type SignInTestResult struct {
	OK     bool           `json:"ok"`
	User   string         `json:"user"`
	Claims map[string]any `json:"claims"`
}

// UserSignInRunner is one user sign-in: a loopback redirect URI, and the
// authorization code flow through it with the app's secret.
type UserSignInRunner interface {
	RedirectURI() string
	Run(ctx context.Context, loginHint string, show func(url string), pasted <-chan string) (*graphapi.UserSignInResult, error)
	Close() error
}

// SignInTestOptions is how a sign-in test reaches the user.
type SignInTestOptions struct {
	User   string // the user to sign in as (a hint for the sign-in page)
	Show   func(url string)
	Pasted <-chan string
	// NewRunner makes the sign-in for the app's client ID and secret.
	NewRunner func(clientID, secret string) (UserSignInRunner, error)
}

// HasUserSignIn reports whether a profile signs users in (web or SPA
// redirect URIs), so a sign-in test applies.
func HasUserSignIn(p *Profile) bool {
	return p != nil && len(p.RedirectURIs.Web)+len(p.RedirectURIs.SPA) > 0
}

// RemoveLeftoverRedirect removes the temporary redirect URI a sign-in test
// that was killed left on the app, and only that, then forgets the record.
func RemoveLeftoverRedirect(ctx context.Context, r *Run) error {
	rec := r.Conn.State.SignInTest
	if rec == nil {
		return nil
	}
	if err := removeRedirect(ctx, r.Env.Graph, r.Conn.App.ObjectID, rec.RedirectURI); err != nil {
		return fmt.Errorf("remove the redirect URI a stopped sign-in test left (%s): %w", rec.RedirectURI, err)
	}
	r.Conn.State.SignInTest = nil
	return r.Env.Save(r.Conn)
}

func removeRedirect(ctx context.Context, g Graph, objectID, uri string) error {
	app, err := g.GetApplication(ctx, objectID)
	if err != nil {
		if graphapi.IsKind(err, graphapi.KindNotFound) {
			return nil // the app is gone, and the URI with it
		}
		return err
	}
	if !slices.Contains(app.WebRedirectURIs, uri) {
		return nil
	}
	kept := slices.DeleteFunc(slices.Clone(app.WebRedirectURIs), func(u string) bool { return u == uri })
	return g.UpdateApplication(ctx, objectID, graphapi.ApplicationPatch{WebRedirectURIs: &kept})
}

// TestUserSignIn signs a real user in to the app exactly as the product
// will: a temporary loopback redirect URI is added to the app (recorded in
// the connection first, so a killed test is cleaned up by the next run),
// the user signs in in a browser, the code is redeemed with the app's
// stored secret, the ID token is checked, and the URI is removed again.
func TestUserSignIn(ctx context.Context, r *Run, o SignInTestOptions) (*SignInTestResult, error) {
	if r.Conn.App.ObjectID == "" {
		return nil, errors.New("this connection's app was registered by hand (no object ID is known): a sign-in test needs to add a temporary redirect URI to it; test the sign-in from the product instead")
	}
	if err := RemoveLeftoverRedirect(ctx, r); err != nil {
		return nil, err
	}
	secret, _, err := StoredSecret(r.Env.Secrets, r.Conn)
	if err != nil {
		return nil, err
	}
	si, err := o.NewRunner(r.Conn.App.AppID, secret)
	if err != nil {
		return nil, err
	}
	defer si.Close()
	uri := si.RedirectURI()
	r.Conn.State.SignInTest = &store.SignInTestRecord{RedirectURI: uri, Added: r.Env.now()}
	if err := r.Env.Save(r.Conn); err != nil {
		return nil, err
	}
	app, err := r.Env.Graph.GetApplication(ctx, r.Conn.App.ObjectID)
	if err != nil {
		return nil, err
	}
	uris := append(slices.Clone(app.WebRedirectURIs), uri)
	r.Env.report(Event{Step: "signin", Kind: StepProgress, Message: "adding the temporary redirect URI " + uri})
	if err := r.Env.Graph.UpdateApplication(ctx, r.Conn.App.ObjectID, graphapi.ApplicationPatch{WebRedirectURIs: &uris}); err != nil {
		return nil, err
	}
	res, runErr := si.Run(ctx, o.User, o.Show, o.Pasted)
	// The URI goes even when the sign-in was canceled.
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	r.Env.report(Event{Step: "signin", Kind: StepProgress, Message: "removing the temporary redirect URI"})
	if err := removeRedirect(cleanup, r.Env.Graph, r.Conn.App.ObjectID, uri); err != nil {
		return nil, errors.Join(runErr, fmt.Errorf("remove the temporary redirect URI %s (the next sign-in test removes it): %w", uri, err))
	}
	r.Conn.State.SignInTest = nil
	if err := r.Env.Save(r.Conn); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, SignInTestError(runErr, o.User, r.Profile)
	}
	return &SignInTestResult{OK: true, User: res.User, Claims: res.Claims}, nil
}

// SignInTestError says what a refused sign-in test means for the product
// and what to do, keeping the AADSTS code.
func SignInTestError(err error, user string, p *Profile) error {
	var e *graphapi.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	who := "the user"
	if user != "" {
		who = user
	}
	switch e.Code {
	case "AADSTS50105":
		out.Kind = graphapi.KindForbidden
		out.Message = who + " is not assigned to the app, and the app requires assignment"
		out.Remedy = "Assign the user, or a group the user is a direct member of (nested groups do not count), to the enterprise app; or sign in as an assigned user."
	case "AADSTS65001", "AADSTS65004", "AADSTS90094", "AADSTS90095":
		out.Kind = graphapi.KindConsentNeeded
		out.Message = "the app has no consent for the sign-in permissions, and " + who + " may not grant it"
		out.Remedy = "Grant admin consent for the app's permissions (entrawiz setup does it for profiles with grantAdminConsent), then test again."
	case "AADSTS50011", "AADSTS500112":
		out.Kind = graphapi.KindBadInput
		out.Message = "the redirect URI of the sign-in is not registered on the app"
		out.Remedy = "Register the product's exact callback address as a Web redirect URI of the app (scheme, host, port and path must match), then test again."
	case "AADSTS7000215", "AADSTS70002":
		out.Kind = graphapi.KindInvalidSecret
		out.Message = "the app's stored client secret was refused when redeeming the sign-in"
		out.Remedy = "The stored secret is wrong: create a new one with `entrawiz rotate` and give it to the product."
	case "AADSTS7000222":
		out.Kind = graphapi.KindSecretExpired
		out.Message = "the app's stored client secret has expired, so the product cannot redeem sign-ins"
		out.Remedy = "Create a new secret with `entrawiz rotate` and give it to the product."
	case "AADSTS50057":
		out.Kind = graphapi.KindSignIn
		out.Message = who + "'s account is disabled"
		out.Remedy = "Sign in as an enabled user, or enable the account."
	}
	return &out
}
