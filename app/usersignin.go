package app

import (
	"context"
	"fmt"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
)

// SignInTest is `entrawiz test --sign-in`: who signs in, and how the
// admin and the user are shown what to do.
type SignInTest struct {
	User string // the user to sign in as; "" lets the person choose
	// ShowCode shows the admin's device code, when one is needed.
	ShowCode func(DeviceCode)
	// ShowURL shows the address where the user signs in.
	ShowURL func(url string)
	Report  func(steps.Event)
}

// ErrNoUserSignIn means the connection's profile signs no user in.
var ErrNoUserSignIn = &InputError{Err: fmt.Errorf("this connection's profile signs no user in (it has no web or SPA redirect URI): there is no sign-in to test; `entrawiz test` tests its app-only connection")}

// TestSignIn signs a real user in to a connection's app as the product
// will. The admin signs in first (to add and remove the temporary redirect
// URI); only one setup, rotation, reset or sign-in test of the connection
// runs at a time, and a test killed half way is cleaned up by the next.
func (a *App) TestSignIn(ctx context.Context, name string, t SignInTest) (*steps.SignInTestResult, error) {
	conn, p, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if !steps.HasUserSignIn(p) {
		return nil, ErrNoUserSignIn
	}
	if conn.App.ObjectID == "" {
		return nil, ErrManualApp
	}
	if err := a.checkLocal(false); err != nil {
		return nil, err
	}
	lock, err := a.lockConnection(conn.Name)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// Read again under the lock: a rotation that ended meanwhile changed
	// the secret this test must use.
	conn, p, save, err := a.open(conn.Name)
	if err != nil {
		return nil, err
	}
	sess, err := a.signIn(ctx, conn.Tenant.ID, []string{"Application.ReadWrite.All", "User.Read"}, t.ShowCode)
	if err != nil {
		return nil, err
	}
	run := &steps.Run{Env: a.env(sess.graph, conn.Tenant.ID, t.Report, save), Profile: p, Conn: conn}
	show := t.ShowURL
	if show == nil {
		show = func(string) {}
	}
	return steps.TestUserSignIn(ctx, run, steps.SignInTestOptions{User: t.User, Show: show, Pasted: a.pasted(),
		NewRunner: func(clientID, secret string) (steps.UserSignInRunner, error) {
			u, err := graphapi.NewUserSignIn(graphapi.UserSignInOptions{Cloud: a.cloud, Tenant: conn.Tenant.ID,
				ClientID: clientID, Secret: secret, Tracer: a.o.Tracer})
			if err != nil {
				return nil, err
			}
			return userSignIn{u}, nil
		}})
}

// userSignIn is a graphapi.UserSignIn as the step's runner.
type userSignIn struct{ *graphapi.UserSignIn }

func (u userSignIn) RedirectURI() string { return u.UserSignIn.RedirectURI }
