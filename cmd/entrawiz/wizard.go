package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/ui"
)

// wizardBackend is ui.Backend over the factory: the same steps the headless
// commands run, one phase per call.
type wizardBackend struct {
	f         *factory
	tenant    string
	simulated bool
	files     []*steps.Profile // profile files given with --profile, offered after the built-ins

	mu      sync.Mutex
	profile *steps.Profile
	admin   *graphapi.Admin
	sess    *session
	cfg     *store.Config
	dir     string
	env     *steps.Env
	plan    *steps.Plan
	conn    *store.Connection
	// apps are the app-only Graph clients of the picker, by connection,
	// so that a screen of member counts signs the app in once.
	apps map[string]*graphapi.Client
}

var _ ui.Backend = (*wizardBackend)(nil)

func newWizardBackend(f *factory, tenant string, simulated bool, files []*steps.Profile) *wizardBackend {
	return &wizardBackend{f: f, tenant: tenant, simulated: simulated, files: files}
}

func (w *wizardBackend) Profiles() []*steps.Profile {
	all, _ := steps.BuiltinProfiles()
	return append(all, w.files...)
}

// loadProfileFiles reads the profile files named with --profile, so a bad
// file is reported before the wizard starts.
func loadProfileFiles(paths []string) ([]*steps.Profile, error) {
	var out []*steps.Profile
	for _, path := range paths {
		p, err := steps.LoadProfile(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("--profile: %w", err)}
		}
		out = append(out, p)
	}
	return out, nil
}

func (w *wizardBackend) Connections() ([]store.Connection, error) {
	cfg, _, err := w.f.loadConfig()
	if err != nil {
		return nil, err
	}
	return cfg.Connections, nil
}

func (w *wizardBackend) Tenant() string  { return w.tenant }
func (w *wizardBackend) Simulated() bool { return w.simulated }

func (w *wizardBackend) StartSignIn(ctx context.Context, tenant string, p *steps.Profile) (*ui.SignInPrompt, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cfg, dir, err := w.f.loadConfig()
	if err != nil {
		return nil, err
	}
	admin, _, err := w.f.newAdmin(tenant, steps.AdminScopes(p))
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.profile, w.admin, w.cfg, w.dir, w.tenant = p, admin, cfg, dir, tenant
	w.mu.Unlock()
	if id, err := admin.SignInSilent(ctx); err == nil {
		if err := w.signedIn(admin, id); err != nil {
			return nil, err
		}
		return &ui.SignInPrompt{Wait: func(context.Context) (string, error) { return id.UPN, nil }}, nil
	} else if !needsInteractiveSignIn(err) {
		return nil, err
	}
	dc, err := admin.StartDeviceCode(ctx)
	if err != nil {
		return nil, err
	}
	if w.f.OnDeviceCode != nil {
		w.f.OnDeviceCode(dc.UserCode)
	}
	return &ui.SignInPrompt{Code: dc.UserCode, URL: dc.VerificationURL, Message: dc.Message, Expires: dc.ExpiresOn,
		Wait: func(ctx context.Context) (string, error) {
			id, err := dc.Wait(ctx)
			if err != nil {
				return "", err
			}
			return id.UPN, w.signedIn(admin, id)
		}}, nil
}

func (w *wizardBackend) SignInBrowser(ctx context.Context) (string, error) {
	w.mu.Lock()
	admin := w.admin
	w.mu.Unlock()
	if admin == nil {
		return "", errors.New("choose a profile and tenant first")
	}
	id, err := admin.SignInBrowser(ctx, nil)
	if err != nil {
		return "", err
	}
	return id.UPN, w.signedIn(admin, id)
}

// signedIn keeps the session and prepares the steps' environment.
func (w *wizardBackend) signedIn(admin *graphapi.Admin, id graphapi.Identity) error {
	sess, err := w.f.newSession(admin, id)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sess = sess
	w.conn = findConnection(w.cfg, id.TenantID, w.profile.Name)
	cfg, dir := w.cfg, w.dir
	w.env = &steps.Env{Graph: sess.graph, Secrets: w.f.Secrets(), NewAppClient: w.f.newAppClient(id.TenantID),
		Now: w.f.Now, Backoff: w.f.Backoff,
		Save: saver(cfg, dir)}
	return nil
}

func (w *wizardBackend) Preflight(ctx context.Context) (*steps.Plan, error) {
	w.mu.Lock()
	env, p, conn, sess := w.env, w.profile, w.conn, w.sess
	w.mu.Unlock()
	if env == nil {
		return nil, errors.New("sign in first")
	}
	plan, err := steps.Preflight(ctx, env, p, conn, sess.identity.UPN)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.plan = plan
	if conn.Name == "" {
		conn.Name = plan.Tenant.InitialDomain + "/" + p.Name
		conn.Created = w.f.now()
	}
	conn.Profile, conn.Tenant = p.Name, plan.Tenant
	conn.Cloud, conn.LoginURL, conn.GraphURL = w.f.Global.Cloud, w.f.Global.LoginURL, w.f.Global.GraphURL
	return plan, nil
}

func (w *wizardBackend) Execute(ctx context.Context, report func(steps.Event)) error {
	w.mu.Lock()
	env, p, conn, plan := w.env, w.profile, w.conn, w.plan
	w.mu.Unlock()
	if plan == nil {
		return errors.New("review the plan first")
	}
	if plan.Blocker != nil {
		return plan.Blocker
	}
	runEnv := *env
	runEnv.Report = report
	run := &steps.Run{Env: &runEnv, Profile: p, Conn: conn, Plan: plan}
	run.SetState("profile", p)
	return run.Execute(ctx, steps.Procedure())
}

func (w *wizardBackend) Manual(ctx context.Context, clientID, secret string, report func(steps.Event)) error {
	w.mu.Lock()
	p, tenant := w.profile, w.tenant
	w.mu.Unlock()
	if p == nil {
		return errors.New("choose a profile first")
	}
	cfg, dir, err := w.f.loadConfig()
	if err != nil {
		return err
	}
	conn := &store.Connection{Name: tenant + "/" + p.Name, Created: w.f.now(), Profile: p.Name,
		Cloud: w.f.Global.Cloud, LoginURL: w.f.Global.LoginURL, GraphURL: w.f.Global.GraphURL}
	if old := cfg.Connection(conn.Name); old != nil {
		cp := *old
		conn = &cp
	}
	env := &steps.Env{Secrets: w.f.Secrets(), NewAppClient: w.f.newAppClient(tenant), Report: report, Now: w.f.Now, Backoff: w.f.Backoff,
		Save: saver(cfg, dir)}
	if _, err := steps.ManualConnection(ctx, env, p, conn, clientID, secret); err != nil {
		return err
	}
	w.mu.Lock()
	w.conn, w.cfg, w.dir = conn, cfg, dir
	w.mu.Unlock()
	return nil
}

func (w *wizardBackend) Handoff(reveal bool) ([]steps.HandoffValue, error) {
	w.mu.Lock()
	conn, p := w.conn, w.profile
	w.mu.Unlock()
	if conn == nil || p == nil {
		return nil, errors.New("nothing is set up yet")
	}
	cloud, err := w.f.cloud()
	if err != nil {
		return nil, err
	}
	return steps.Handoff(w.f.Secrets(), conn, p, cloud.LoginURL, reveal)
}

func (w *wizardBackend) Test(ctx context.Context, connection string, report func(steps.Event)) (*steps.TestResult, error) {
	cfg, dir, conn, err := w.f.openConnection(connection)
	if err != nil {
		return nil, err
	}
	return testConnection(ctx, w.f, cfg, dir, conn, report)
}

func (w *wizardBackend) Reset(ctx context.Context, connection string) error {
	cfg, dir, conn, err := w.f.openConnection(connection)
	if err != nil {
		return err
	}
	if err := steps.Forget(ctx, nil, w.f.Secrets(), conn, false); err != nil {
		return err
	}
	cfg.Remove(conn.Name)
	if err := store.SaveConfig(dir, cfg); err != nil {
		return fmt.Errorf("save the config: %w", err)
	}
	return nil
}

// Rotate rotates a saved connection's client secret from the dashboard:
// the admin signs in (silently, or with a device code reported as an
// event), and the old secret stays until `entrawiz rotate --finish`.
func (w *wizardBackend) Rotate(ctx context.Context, connection string, report func(steps.Event)) (*steps.RotateResult, error) {
	cfg, dir, conn, err := w.f.openConnection(connection)
	if err != nil {
		return nil, err
	}
	if conn.App.ObjectID == "" {
		return nil, errors.New("this connection's app was registered by hand: rotate its secret in the portal and record it with `entrawiz setup --manual`")
	}
	profile, err := savedProfile(conn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoProfile, err)
	}
	sess, _, err := w.f.signInWith(ctx, conn.Tenant.ID, rotateScopes(profile), func(dc *graphapi.DeviceCodeSignIn) {
		report(steps.Event{Step: "sign-in", Title: "Sign in", Kind: steps.DeviceCode, Code: dc.UserCode, URL: dc.VerificationURL,
			Expires: dc.ExpiresOn, Message: fmt.Sprintf("To sign in, open %s and enter the code %s", dc.VerificationURL, dc.UserCode)})
	})
	if err != nil {
		return nil, err
	}
	res, err := rotateConnection(ctx, w.f, sess, cfg, dir, conn, profile, steps.RotateOptions{}, "", report)
	if err == nil {
		// The hand-off screen shows this connection's values next.
		w.mu.Lock()
		w.conn, w.profile = conn, profile
		w.mu.Unlock()
	}
	return res, err
}

// SearchGroups lists the tenant's groups as `groups list` does.
func (w *wizardBackend) SearchGroups(ctx context.Context, connection string, q graphapi.GroupQuery) (*graphapi.GroupPage, error) {
	g, err := w.appClient(connection)
	if err != nil {
		return nil, err
	}
	return g.SearchGroups(ctx, q)
}

// GroupCounts counts a group's members as `groups list` does, and the
// groups nested in it as sync resolves them.
func (w *wizardBackend) GroupCounts(ctx context.Context, connection, groupID string) (ui.GroupCounts, error) {
	g, err := w.appClient(connection)
	if err != nil {
		return ui.GroupCounts{}, err
	}
	n, err := g.GroupUserCount(ctx, groupID)
	if err != nil {
		return ui.GroupCounts{}, err
	}
	counts := ui.GroupCounts{Users: n, Nested: -1}
	if sub, err := g.GroupSubgroups(ctx, groupID); err == nil {
		counts.Nested = len(sub)
	}
	return counts, nil
}

// PickGroups saves the pick as `groups pick` does.
func (w *wizardBackend) PickGroups(ctx context.Context, connection string, ids []string) ([]steps.PickedGroup, error) {
	_, picked, err := pickGroups(ctx, w.f, connection, ids)
	return picked, err
}

// Sync runs one sync as `sync` does.
func (w *wizardBackend) Sync(ctx context.Context, connection string, req ui.SyncRequest, report func(steps.Event)) (*steps.SyncResult, error) {
	_, res, err := syncConnection(ctx, w.f, connection, &syncOptions{Connection: connection, DryRun: req.DryRun, Full: req.Full,
		AllowMassDisable: req.AllowMassDisable}, report)
	return res, err
}

// SyncRuns reads the last runs from the connection's directory database.
func (w *wizardBackend) SyncRuns(ctx context.Context, connection string, n int) ([]store.RunRecord, error) {
	cfg, dir, conn, err := w.f.openConnection(connection)
	if err != nil {
		return nil, err
	}
	db, err := openDirectory(cfg, dir, conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Runs(ctx, n)
}

// appClient is the connection's app-only Graph client, made once.
func (w *wizardBackend) appClient(connection string) (*graphapi.Client, error) {
	w.mu.Lock()
	g := w.apps[connection]
	w.mu.Unlock()
	if g != nil {
		return g, nil
	}
	_, _, _, g, err := appGraph(w.f, connection)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.apps == nil {
		w.apps = map[string]*graphapi.Client{}
	}
	w.apps[connection] = g
	return g, nil
}
