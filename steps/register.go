package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
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
	if !slices.Contains(sp.Tags, graphapi.EnterpriseAppTag) {
		return false, "", nil
	}
	r.remember(app, sp.ID)
	return true, fmt.Sprintf("%s (%s) is as the profile asks", app.DisplayName, app.AppID), nil
}

func applyRegister(ctx context.Context, r *Run) (string, error) {
	g := r.Env.Graph
	want := DesiredApp(r.Profile, r.Plan.Access)
	app := r.Plan.Existing
	var summary string
	if app == nil && r.Conn.App.ObjectID != "" {
		// Preflight blocks this case; a run given a plan from elsewhere
		// still never makes a second app while the config names one.
		return "", savedAppGone(r.Conn, 0)
	}
	if app == nil {
		// Said before asking, so that a run stopped before the new app's
		// IDs are saved leaves a sign the next run waits on.
		asked := r.Env.now()
		r.Conn.State.CreatingApp = &asked
		if err := r.save(); err != nil {
			return "", err
		}
		created, err := g.CreateApplication(ctx, want)
		if err != nil {
			if e := graphapi.Classify(err); e.Status >= 400 && e.Status < 500 {
				// Refused: no app was made, so there is none to wait for.
				r.Conn.State.CreatingApp = nil
				r.save()
			}
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
	} else if !slices.Contains(sp.Tags, graphapi.EnterpriseAppTag) {
		// Made by an entrawiz that did not tag it: the admin center's
		// Enterprise applications list would not show it.
		tags := append(slices.Clip(sp.Tags), graphapi.EnterpriseAppTag)
		if err := g.SetServicePrincipalTags(ctx, sp.ID, tags); err != nil {
			return "", fmt.Errorf("tag the enterprise app: %w", err)
		}
		summary += ", enterprise app tagged for the Enterprise applications list"
	}
	r.remember(app, sp.ID)
	return summary, nil
}

// remember records the app in the connection.
func (r *Run) remember(app *graphapi.Application, spID string) {
	r.Conn.App.ObjectID = app.ObjectID
	r.Conn.App.AppID = app.AppID
	r.Conn.App.DisplayName = app.DisplayName
	r.Conn.State.CreatingApp = nil // the app is known: nothing to wait for
	if spID != "" {
		r.Conn.App.ServicePrincipalID = spID
	}
}

// findApp finds the app this connection made: the one the config names
// (by object ID, else by app ID among the tagged apps), else the first app
// carrying the profile's tag. Other tagged apps go to plan.Duplicates.
//
// An app the config names and Graph answers 404 for is taken to be still
// replicating (a setup interrupted just after creating it, re-run at once)
// and is waited for with the run's backoff. Only when the budget is spent
// is it taken as gone, and then the plan is blocked: a setup never makes a
// second app while the config names one.
func findApp(ctx context.Context, env *Env, p *Profile, conn *store.Connection, plan *Plan) (*graphapi.Application, error) {
	tag := graphapi.AppTag(p.Name)
	var app *graphapi.Application
	var tagged []graphapi.Application
	if conn.App.ObjectID != "" {
		var err error
		app, tagged, err = findSavedApp(ctx, env, tag, conn)
		if err != nil {
			return nil, err
		}
		if app == nil {
			budget := env.Backoff.Budget
			if budget <= 0 {
				budget = graphapi.DefaultBackoff().Budget
			}
			plan.Blocker = savedAppGone(conn, budget)
		}
	} else {
		var err error
		if tagged, err = findTaggedApps(ctx, env, tag, conn); err != nil {
			return nil, err
		}
		if len(tagged) > 0 {
			app = &tagged[0]
		}
	}
	for _, a := range tagged {
		if app == nil || !sameApp(a, app.ObjectID, app.AppID) {
			plan.Duplicates = append(plan.Duplicates, a)
		}
	}
	if len(plan.Duplicates) > 0 {
		plan.Warnings = append(plan.Warnings, duplicatesWarning(tag, app, plan.Duplicates))
	}
	return app, nil
}

// findTaggedApps lists the apps carrying the profile's tag. When a setup
// of this connection asked Entra for an app within the replication budget
// and stopped before saving its IDs, an empty list is taken as not
// replicated yet and listed again until the app shows or the budget is
// spent.
func findTaggedApps(ctx context.Context, env *Env, tag string, conn *store.Connection) ([]graphapi.Application, error) {
	budget := env.Backoff.Budget
	if budget <= 0 {
		budget = graphapi.DefaultBackoff().Budget
	}
	asked := conn.State.CreatingApp
	waiting := asked != nil && env.now().Sub(*asked) < budget
	var tagged []graphapi.Application
	onWait := func(attempt int, delay time.Duration, e *graphapi.Error) {
		env.report(Event{Step: "preflight", Title: "Read the tenant", Kind: StepWaiting, Attempt: attempt, Delay: delay, Err: e,
			Message: fmt.Sprintf("the last run asked Entra for the app and stopped before saving it; waiting for it to show — attempt %d, next try in %s",
				attempt, delay.Round(100*time.Millisecond))})
	}
	err := graphapi.Retry(ctx, env.Backoff, onWait, func(ctx context.Context) error {
		list, err := env.Graph.FindApplicationsByTag(ctx, tag)
		if err != nil {
			return err
		}
		tagged = list
		if len(list) == 0 && waiting {
			return &graphapi.Error{Kind: graphapi.KindNotFoundYet, Op: "look for the app the last run made", Message: "no app carries " + tag + " yet"}
		}
		return nil
	})
	if err != nil && !graphapi.IsKind(err, graphapi.KindNotFoundYet) {
		return nil, fmt.Errorf("look for an existing app registration: %w", err)
	}
	return tagged, nil
}

// findSavedApp reads the app the connection names, waiting out Entra's
// replication delay. Each attempt also looks among the tagged apps by
// object ID and app ID, since one replica may answer 404 by ID while a list
// already shows the app. It returns the app (nil when it was not found
// within the budget) and the tagged apps last listed.
func findSavedApp(ctx context.Context, env *Env, tag string, conn *store.Connection) (*graphapi.Application, []graphapi.Application, error) {
	var found *graphapi.Application
	var tagged []graphapi.Application
	listed := false
	onWait := func(attempt int, delay time.Duration, e *graphapi.Error) {
		env.report(Event{Step: "preflight", Title: "Read the tenant", Kind: StepWaiting, Attempt: attempt, Delay: delay, Err: e,
			Message: fmt.Sprintf("the app registration %q (%s) saved by the last run is not visible yet; waiting for Entra to replicate it — attempt %d, next try in %s",
				conn.App.DisplayName, conn.App.AppID, attempt, delay.Round(100*time.Millisecond))})
	}
	err := graphapi.Retry(ctx, env.Backoff, onWait, func(ctx context.Context) error {
		app, err := env.Graph.GetApplication(ctx, conn.App.ObjectID)
		if err == nil {
			found = app
			return nil
		}
		if !graphapi.IsKind(err, graphapi.KindNotFound, graphapi.KindNotFoundYet) {
			return err
		}
		list, lerr := env.Graph.FindApplicationsByTag(ctx, tag)
		if lerr != nil {
			return fmt.Errorf("look for an existing app registration: %w", lerr)
		}
		tagged, listed = list, true
		for i := range list {
			if sameApp(list[i], conn.App.ObjectID, conn.App.AppID) {
				found = &list[i]
				return nil
			}
		}
		return err
	})
	switch {
	case err == nil:
	case graphapi.IsKind(err, graphapi.KindNotFound, graphapi.KindNotFoundYet):
		// Waited the whole budget: the app is gone.
	default:
		return nil, nil, fmt.Errorf("read the app registration: %w", err)
	}
	if !listed {
		// Found by ID at once: the tagged apps are still needed, for duplicates.
		var lerr error
		if tagged, lerr = env.Graph.FindApplicationsByTag(ctx, tag); lerr != nil {
			return nil, nil, fmt.Errorf("look for an existing app registration: %w", lerr)
		}
	}
	return found, tagged, nil
}

func sameApp(a graphapi.Application, objectID, appID string) bool {
	return objectID != "" && strings.EqualFold(a.ObjectID, objectID) || appID != "" && strings.EqualFold(a.AppID, appID)
}

// savedAppGone is the plan's blocker when the app the connection names is
// not in the tenant; waited is how long replication was waited out.
func savedAppGone(conn *store.Connection, waited time.Duration) *graphapi.Error {
	msg := fmt.Sprintf("the app registration %q (client ID %s) this connection was set up with is not in the tenant", conn.App.DisplayName, conn.App.AppID)
	if waited > 0 {
		msg += fmt.Sprintf(", after waiting %s for Entra to replicate it", waited.Round(time.Second))
	}
	reset := "`entrawiz reset`"
	if conn.Name != "" {
		reset = fmt.Sprintf("`entrawiz reset --connection %s`", conn.Name)
	}
	return &graphapi.Error{Kind: graphapi.KindNotFound, Code: "SavedAppNotFound", Op: "plan", Message: msg,
		Remedy: "If you deleted it, run " + reset + " to forget it, then `entrawiz setup` again; if it was made a moment ago, " +
			"run setup again in a few minutes. Setup does not make another app while the connection names this one."}
}

// duplicatesWarning says which tagged app is used and what to do about the
// others; entrawiz never deletes them itself.
func duplicatesWarning(tag string, used *graphapi.Application, dups []graphapi.Application) string {
	var b strings.Builder
	if used != nil {
		fmt.Fprintf(&b, "%d app registrations carry the tag %s; the one used is %q (client ID %s). The others are duplicates, perhaps left by an interrupted setup, and are not used: ",
			len(dups)+1, tag, used.DisplayName, used.AppID)
	} else {
		fmt.Fprintf(&b, "%d other app registration(s) carry the tag %s and are not used: ", len(dups), tag)
	}
	for i, d := range dups {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (client ID %s)", d.DisplayName, d.AppID)
	}
	b.WriteString(". If nothing uses them, delete them in the Entra admin center (App registrations > All applications) " +
		"or with `az ad app delete --id <client ID>`; entrawiz does not delete them.")
	return b.String()
}
