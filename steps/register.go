package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
)

// RegisterApp makes the app registration and its service principal match
// the profile: found again by saved ID or tag, created or updated otherwise.
func RegisterApp() Step {
	return Step{Name: "register-app", Title: "Register the app", Check: checkRegister, Apply: applyRegister}
}

func checkRegister(ctx context.Context, r *Run) (bool, string, error) {
	app := r.Plan.Existing
	if app == nil {
		return false, "", nil
	}
	if patch, _ := appPatch(*app, DesiredApp(r.Profile, r.Plan.Access)); patch != nil {
		return false, "", nil
	}
	sp, err := r.Env.Graph.GetServicePrincipalByAppID(ctx, app.AppID)
	if graphapi.IsKind(err, graphapi.KindNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	r.remember(app, sp.ID)
	return true, fmt.Sprintf("%s (%s) is as the profile asks", app.DisplayName, app.AppID), nil
}

func applyRegister(ctx context.Context, r *Run) (string, error) {
	g := r.Env.Graph
	want := DesiredApp(r.Profile, r.Plan.Access)
	app := r.Plan.Existing
	var summary string
	if app == nil {
		created, err := g.CreateApplication(ctx, want)
		if err != nil {
			return "", fmt.Errorf("create the app registration: %w", err)
		}
		app, r.freshApp = created, true
		r.Plan.Existing = created
		r.remember(app, "")
		if err := r.save(); err != nil {
			return "", err
		}
		summary = fmt.Sprintf("created %s (%s)", app.DisplayName, app.AppID)
	} else if patch, changed := appPatch(*app, want); patch != nil {
		if err := g.UpdateApplication(ctx, app.ObjectID, *patch); err != nil {
			return "", fmt.Errorf("update the app registration: %w", err)
		}
		summary = fmt.Sprintf("updated %s: %s", app.DisplayName, strings.Join(changed, ", "))
	} else {
		summary = fmt.Sprintf("%s (%s) is as the profile asks", app.DisplayName, app.AppID)
	}
	r.remember(app, "")

	var sp *graphapi.ServicePrincipal
	if !r.freshApp {
		var err error
		sp, err = g.GetServicePrincipalByAppID(ctx, app.AppID)
		if err != nil && !graphapi.IsKind(err, graphapi.KindNotFound) {
			return "", fmt.Errorf("find the enterprise app: %w", err)
		}
	}
	if sp == nil {
		r.Progress("creating the enterprise app (service principal)")
		err := r.Wait(ctx, r.Env.Backoff, func(ctx context.Context) error {
			var err error
			sp, err = g.CreateServicePrincipal(ctx, app.AppID)
			if graphapi.IsKind(err, graphapi.KindAlreadyExists) {
				sp, err = g.GetServicePrincipalByAppID(ctx, app.AppID)
			}
			return err
		})
		if err != nil {
			return "", fmt.Errorf("create the enterprise app: %w", err)
		}
		r.freshSP = true
		summary += ", enterprise app created"
	}
	r.remember(app, sp.ID)
	return summary, nil
}

// remember records the app in the connection.
func (r *Run) remember(app *graphapi.Application, spID string) {
	r.Conn.App.ObjectID = app.ObjectID
	r.Conn.App.AppID = app.AppID
	r.Conn.App.DisplayName = app.DisplayName
	if spID != "" {
		r.Conn.App.ServicePrincipalID = spID
	}
}
