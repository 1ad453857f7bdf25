package app

import (
	"context"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// asInput marks a bad-input error (a name that matches no one, too many
// groups) as the admin's input, so --json names it as usage.
func asInput(err error) error {
	if graphapi.IsKind(err, graphapi.KindBadInput) {
		return &InputError{Err: err}
	}
	return err
}

// GiveAccess assigns users and groups to a connection's enterprise app and
// adds members to the group its profile made. The admin signs in (a device
// code goes to show); every name is found before anything is written; the
// connection's lock is held, and each write is recorded through the merged
// save as it is made, so a run that is stopped and run again makes no
// write twice.
func (a *App) GiveAccess(ctx context.Context, name string, req steps.PeopleRequest, show func(DeviceCode), report func(steps.Event)) (*store.Connection, error) {
	if req.Empty() {
		return nil, inputErrorf("name at least one user or group (by UPN, object ID or exact group name)")
	}
	conn, p, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if conn.App.ServicePrincipalID == "" {
		return conn, inputErrorf("connection %s has no enterprise app that entrawiz knows of (registered by hand?): assign people in the portal under Enterprise applications > Users and groups", conn.Name)
	}
	if len(req.Members) > 0 && p.CreateGroup == nil {
		_, err := steps.ResolvePeople(ctx, nil, p, steps.PeopleRequest{Members: req.Members})
		return conn, asInput(err)
	}
	// Each write is saved as it is made: the config directory must take
	// it before the first one.
	if err := a.checkLocal(false); err != nil {
		return conn, err
	}
	lock, err := a.lockConnection(conn.Name)
	if err != nil {
		return conn, err
	}
	defer lock.Release()
	// Read again under the lock: another run may have changed it.
	conn, p, save, err := a.open(conn.Name)
	if err != nil {
		return conn, err
	}
	if len(req.Members) > 0 && steps.CreatedGroupID(conn) == "" {
		return conn, inputErrorf("the group the profile %s makes is not made yet: run `entrawiz setup` first", p.Name)
	}
	sess, err := a.signIn(ctx, conn.Tenant.ID, append(steps.AdminScopes(p), steps.PeopleScopes(req)...), show)
	if err != nil {
		return conn, err
	}
	people, err := steps.ResolvePeople(ctx, sess.graph, p, req)
	if err != nil {
		return conn, asInput(err)
	}
	run := &steps.Run{Env: a.env(sess.graph, conn.Tenant.ID, report, save), Profile: p, Conn: conn, People: people}
	mark := a.writes.mark()
	err = run.Execute(ctx, []steps.Step{steps.GiveAccess()})
	if calls := a.writes.since(mark); len(calls) > 0 {
		a.writeRecord(ChangeRecord{Kind: "assignment", By: sess.identity.UPN, At: a.now(), Done: accessDone(people, err), Conn: run.Conn, Calls: calls})
	}
	return conn, err
}

// accessDone says, for the change record, who was given access and how.
func accessDone(people []steps.Access, err error) []string {
	var done []string
	for _, x := range people {
		who := x.Type + " " + x.DisplayName
		if x.UserPrincipalName != "" {
			who += " (" + x.UserPrincipalName + ")"
		}
		if x.Member {
			done = append(done, "added "+who+", object ID "+x.ID+", to the profile's group")
		} else {
			done = append(done, "assigned "+who+", object ID "+x.ID+", to the enterprise app (default access)")
		}
	}
	if err != nil {
		done = append(done, "the run stopped: "+err.Error())
	}
	return done
}
