package app

import (
	"context"
	"errors"
	"strings"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// Setup is one setup of a profile in a tenant, as a session: sign in,
// preflight (the plan), execute, hand off. The wizard holds one while the
// admin goes through its screens; `entrawiz setup` runs one straight
// through.
type Setup struct {
	a       *App
	profile *steps.Profile
	tenant  string
	// Deliver, when set, hands the client secret to the product.
	Deliver func(ctx context.Context, secret string) error
	// Options are the admin's explicit permissions (set before signing in:
	// an exemption needs a further scope).
	Options steps.PreflightOptions
	// People, when set before the sign-in, are given access after the
	// app is set up (assigned to it, or added to the profile's group).
	People steps.PeopleRequest

	// Reminder and Record are the calendar reminder and the change record
	// an executed setup wrote.
	Reminder, Record string

	sess   *session
	people []steps.Access
	plan   *steps.Plan
	conn   *store.Connection
	save   func(*store.Connection) error
}

// NewSetup prepares a setup of profile p in tenant and checks, before
// anything is asked of the tenant, that the profile is valid and that the
// secret store and config directory work.
func (a *App) NewSetup(p *steps.Profile, tenant string) (*Setup, error) {
	if err := p.Validate(); err != nil {
		return nil, &InputError{Err: err}
	}
	if err := steps.ValidateTenant(tenant); err != nil {
		return nil, &InputError{Err: err}
	}
	if !a.placeholdersAllowed() {
		if err := p.CheckVendorValues(); err != nil {
			return nil, &InputError{Err: err}
		}
	}
	if err := a.checkLocal(p.Secret != nil); err != nil {
		return nil, err
	}
	return &Setup{a: a, profile: p, tenant: strings.TrimSpace(tenant)}, nil
}

// placeholdersAllowed: in the demo, and on a tenant that is not at one of
// Microsoft's clouds' addresses (a simulated one), where no user of the
// product signs in.
func (a *App) placeholdersAllowed() bool {
	return a.o.AllowPlaceholders || a.cloud.Name == "custom"
}

// StartSignIn starts the admin's sign-in for what the profile's plan needs.
func (s *Setup) StartSignIn(ctx context.Context) (*SignInPrompt, error) {
	return s.a.startSignIn(ctx, s.tenant, s.scopes(), func(got *session) { s.sess = got })
}

// SignIn signs the admin in, showing a device code through show.
func (s *Setup) SignIn(ctx context.Context, show func(DeviceCode)) error {
	sess, err := s.a.signIn(ctx, s.tenant, s.scopes(), show)
	if err != nil {
		return err
	}
	s.sess = sess
	return nil
}

// scopes are what the admin signs in with: what the plan needs.
func (s *Setup) scopes() []string {
	return append(steps.AdminScopesWith(s.profile, s.Options), steps.PeopleScopes(s.People)...)
}

// UPN is who signed in.
func (s *Setup) UPN() string {
	if s.sess == nil {
		return ""
	}
	return s.sess.identity.UPN
}

// SignInNote says why the sign-in will not be remembered, or "".
func (s *Setup) SignInNote() string { return s.sess.note() }

// Preflight reads the tenant and the saved connection and plans the setup;
// nothing is written. report hears of the waits for Entra's replication (an
// app a stopped run made a moment ago).
func (s *Setup) Preflight(ctx context.Context, report func(steps.Event)) (*steps.Plan, error) {
	if s.sess == nil {
		return nil, errors.New("sign in first")
	}
	cfg, err := store.LoadConfig(s.a.o.ConfigDir)
	if err != nil {
		return nil, err
	}
	conn := findConnection(cfg, s.sess.identity.TenantID, s.profile.Name)
	plan, err := steps.PreflightWith(ctx, s.a.env(s.sess.graph, s.sess.identity.TenantID, report, nil), s.profile, conn, s.UPN(), s.Options)
	if err != nil {
		return nil, err
	}
	// Who gets access is found now, before anything is written: a name
	// that matches no one stops the setup here.
	if s.people, err = steps.ResolvePeople(ctx, s.sess.graph, s.profile, s.People); err != nil {
		return nil, asInput(err)
	}
	if len(s.people) > 0 {
		group := ""
		if s.profile.CreateGroup != nil {
			group = s.profile.CreateGroup.DisplayName
		}
		plan.Items = append(plan.Items, steps.PlanPeople(s.people, group)...)
	}
	if conn.Name == "" {
		s.save = s.a.saver(nil)
		conn.Name = plan.Tenant.InitialDomain + "/" + s.profile.Name
		conn.Created = s.a.now()
	} else {
		s.save = s.a.saver(conn)
	}
	conn.Profile, conn.Tenant = s.profile.Name, plan.Tenant
	conn.Cloud, conn.LoginURL, conn.GraphURL = s.a.o.Cloud, s.a.o.LoginURL, s.a.o.GraphURL
	s.conn, s.plan = conn, plan
	return plan, nil
}

// Blocked forgets the admin's sign-in when the plan says this account
// cannot do the procedure, so the next run asks for one that can; it
// reports whether it did.
func (s *Setup) Blocked(ctx context.Context) bool {
	return s.plan != nil && s.plan.Blocker != nil && s.sess.admin.SignOut(ctx) == nil
}

// Execute runs the confirmed plan, reporting each step. Only one setup,
// rotation or reset of a connection runs at a time: another is refused at
// once with who holds it. If another run changed the connection since the
// plan was made, the plan is made again first, so nothing is created twice.
func (s *Setup) Execute(ctx context.Context, report func(steps.Event)) error {
	if s.plan == nil {
		return errors.New("review the plan first")
	}
	if s.plan.Blocker != nil {
		return s.plan.Blocker
	}
	locked := s.conn.Name
	lock, err := s.a.lockConnection(locked)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := s.replanIfChanged(ctx, report); err != nil {
		return err
	}
	if s.conn.Name != locked {
		// Planned again onto another connection (one set up or reset
		// meanwhile): hold its lock too.
		other, err := s.a.lockConnection(s.conn.Name)
		if err != nil {
			return err
		}
		defer other.Release()
	}
	run := &steps.Run{Env: s.a.env(s.sess.graph, s.sess.identity.TenantID, report, s.save), Profile: s.profile, Conn: s.conn,
		Plan: s.plan, Deliver: s.Deliver, People: s.people}
	steps.RecordProfile(s.conn, s.profile)
	mark := s.a.writes.mark()
	procedure := steps.ProcedureFor(s.plan)
	if len(s.people) > 0 {
		procedure = steps.WithGiveAccess(procedure)
	}
	if err := run.Execute(ctx, procedure); err != nil {
		return err
	}
	s.Reminder, _ = s.a.writeReminder(s.conn)
	var done []string
	for _, it := range s.plan.Items {
		if it.Action != "keep" {
			done = append(done, it.Action+" "+it.Object+": "+it.Detail)
		}
	}
	if len(done) == 0 {
		done = []string{"nothing: everything was already in place"}
	}
	s.Record, err = s.a.writeRecord(ChangeRecord{Kind: "setup", By: s.UPN(), At: s.a.now(), Done: done, Conn: s.conn,
		Calls: s.a.writes.since(mark)})
	if err != nil {
		return err
	}
	return consentPendingError(s.conn)
}

// IsConsentPending reports whether err is setup's end with admin consent
// left for another administrator (everything else done).
func IsConsentPending(err error) bool {
	var ge *graphapi.Error
	return errors.As(err, &ge) && ge.Code == "ConsentPending"
}

// consentPendingError is setup's end when admin consent was left for
// another administrator: everything else is done, and an admin must act.
func consentPendingError(conn *store.Connection) error {
	pc := conn.State.ConsentPending
	if pc == nil {
		return nil
	}
	return &graphapi.Error{Kind: graphapi.KindConsentNeeded, Code: "ConsentPending", Op: "grant admin consent",
		Message: "everything else is done; admin consent for the app's Microsoft Graph application permissions is left for a Global Administrator or Privileged Role Administrator",
		Remedy: "Give them this URL to open (it grants the permissions for the whole tenant): " + pc.URL +
			" — or have one run `entrawiz setup` again. Then run `entrawiz test` to check the connection."}
}

// replanIfChanged makes the plan again when the saved connection is no
// longer the one it was made from (another entrawiz set it up meanwhile).
func (s *Setup) replanIfChanged(ctx context.Context, report func(steps.Event)) error {
	cfg, err := store.LoadConfig(s.a.o.ConfigDir)
	if err != nil {
		return err
	}
	now := findConnection(cfg, s.conn.Tenant.ID, s.profile.Name)
	if now.App == s.conn.App && sameJSON(now.Secrets, s.conn.Secrets) {
		return nil
	}
	if report != nil {
		report(steps.Event{Step: "preflight", Title: "Plan", Kind: steps.StepProgress,
			Message: "another entrawiz changed this connection since the plan was made: planning again"})
	}
	_, err = s.Preflight(ctx, report)
	if err == nil && s.plan.Blocker != nil {
		return s.plan.Blocker
	}
	return err
}

// Connection is the connection the setup makes or finishes.
func (s *Setup) Connection() *store.Connection { return s.conn }

// findConnection returns a copy of the saved connection for this tenant
// and profile, or a new one (with no name yet).
func findConnection(cfg *store.Config, tenantID, profile string) *store.Connection {
	for i := range cfg.Connections {
		c := &cfg.Connections[i]
		if strings.EqualFold(c.Tenant.ID, tenantID) && c.Profile == profile {
			return cloneConnection(c)
		}
	}
	return &store.Connection{}
}

// Manual records a connection to an app registered by hand (the IDs and the
// secret the admin entered) and tests it; no admin sign-in is needed.
func (a *App) Manual(ctx context.Context, tenant string, p *steps.Profile, clientID, secret string, report func(steps.Event)) (*store.Connection, *steps.TestResult, error) {
	if err := steps.ValidateGUID("Application (client) ID", clientID); err != nil {
		return nil, nil, &InputError{Err: err}
	}
	if err := steps.ValidateSecretValue(secret); err != nil {
		return nil, nil, &InputError{Err: err}
	}
	if err := a.checkLocal(true); err != nil {
		return nil, nil, err
	}
	name := strings.TrimSpace(tenant) + "/" + p.Name
	lock, err := a.lockConnection(name)
	if err != nil {
		return nil, nil, err
	}
	defer lock.Release()
	cfg, err := store.LoadConfig(a.o.ConfigDir)
	if err != nil {
		return nil, nil, err
	}
	conn, save := &store.Connection{Name: name, Created: a.now()}, a.saver(nil)
	if old := cfg.Connection(name); old != nil {
		conn, save = cloneConnection(old), a.saver(old)
	}
	conn.Cloud, conn.LoginURL, conn.GraphURL = a.o.Cloud, a.o.LoginURL, a.o.GraphURL
	res, err := steps.ManualConnection(ctx, a.env(nil, tenant, report, save), p, conn, clientID, secret)
	return conn, res, err
}
