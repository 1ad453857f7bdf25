package ui

import (
	"context"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// AppBackend is the Backend of the real wizard: the application layer,
// which the headless commands drive too. It keeps no state of its own: a
// setup's state is the app.Setup the wizard holds.
type AppBackend struct {
	App *app.App
	// ProfileFiles are offered after the built-in profiles.
	ProfileFiles []*steps.Profile
	// FixedTenant is the tenant given on the command line, or "".
	FixedTenant string
	// IsSimulated says the tenant is the simulated one.
	IsSimulated bool
}

var _ Backend = (*AppBackend)(nil)

// Profiles are the built-in profiles and the files given.
func (b *AppBackend) Profiles() []*steps.Profile {
	all, _ := steps.BuiltinProfiles()
	return append(all, b.ProfileFiles...)
}

// Connections are the saved connections.
func (b *AppBackend) Connections() ([]store.Connection, error) { return b.App.Connections() }

// Tenant is the tenant given on the command line, or "".
func (b *AppBackend) Tenant() string { return b.FixedTenant }

// Simulated says the tenant is the simulated one.
func (b *AppBackend) Simulated() bool { return b.IsSimulated }

// StartSetup starts a setup and its sign-in.
func (b *AppBackend) StartSetup(ctx context.Context, tenant string, p *steps.Profile) (*SignInPrompt, error) {
	s, err := b.App.NewSetup(p, tenant)
	if err != nil {
		return nil, err
	}
	prompt, err := s.StartSignIn(ctx)
	if err != nil {
		return nil, err
	}
	setup := appSetup{s}
	// The wizard shows the browser sign-in address on its screen, and
	// makes the fallback from a blocked device code itself.
	urls := make(chan string, 1)
	prompt.ShowURL = func(url string) {
		select {
		case urls <- url:
		default:
		}
	}
	auto := prompt.Auto
	prompt.Auto = false
	return &SignInPrompt{Code: prompt.Code, URL: prompt.URL, Message: prompt.Message, Expires: prompt.Expires,
		Auto: auto, ByBrowser: prompt.ByBrowser, BrowserURL: urls,
		Wait:    func(ctx context.Context) (Setup, error) { return setup, prompt.Wait(ctx) },
		Browser: func(ctx context.Context) (Setup, error) { return setup, prompt.Browser(ctx) }}, nil
}

// appSetup is an app.Setup as the wizard's Setup.
type appSetup struct{ s *app.Setup }

func (a appSetup) UPN() string { return a.s.UPN() }
func (a appSetup) Preflight(ctx context.Context, report func(steps.Event)) (*steps.Plan, error) {
	return a.s.Preflight(ctx, report)
}
func (a appSetup) Execute(ctx context.Context, report func(steps.Event)) error {
	return a.s.Execute(ctx, report)
}
func (a appSetup) Connection() string        { return a.s.Connection().Name }
func (a appSetup) Written() (string, string) { return a.s.Record, a.s.Reminder }

// Manual records a connection made by hand.
func (b *AppBackend) Manual(ctx context.Context, tenant string, p *steps.Profile, clientID, secret string, report func(steps.Event)) (string, error) {
	conn, _, err := b.App.Manual(ctx, tenant, p, clientID, secret, report)
	if conn == nil {
		return "", err
	}
	return conn.Name, err
}

// Handoff returns a connection's values for the product.
func (b *AppBackend) Handoff(connection string, reveal bool) ([]steps.HandoffValue, error) {
	return b.App.Handoff(connection, reveal)
}

// Test runs a connection's test.
func (b *AppBackend) Test(ctx context.Context, connection string, report func(steps.Event)) (*steps.TestResult, error) {
	_, res, err := b.App.Test(ctx, connection, report)
	return res, err
}

// Reset forgets a connection.
func (b *AppBackend) Reset(ctx context.Context, connection string) error {
	return b.App.Reset(ctx, connection, false, nil)
}

// Rotate rotates a connection's secret; a device code is reported as a
// DeviceCode event.
func (b *AppBackend) Rotate(ctx context.Context, connection string, report func(steps.Event)) (*steps.RotateResult, error) {
	show := func(dc app.DeviceCode) {
		report(steps.Event{Step: "sign-in", Title: "Sign in", Kind: steps.DeviceCode, Code: dc.Code, URL: dc.URL,
			Expires: dc.Expires, Message: "To sign in, open " + dc.URL + " and enter the code " + dc.Code})
	}
	return b.App.Rotate(ctx, connection, app.RotateRequest{}, show, report)
}

// SearchGroups lists the tenant's groups.
func (b *AppBackend) SearchGroups(ctx context.Context, connection string, q graphapi.GroupQuery) (*graphapi.GroupPage, error) {
	return b.App.SearchGroups(ctx, connection, q)
}

// GroupCounts counts a group's users and nested groups.
func (b *AppBackend) GroupCounts(ctx context.Context, connection, groupID string) (GroupCounts, error) {
	return b.App.GroupCounts(ctx, connection, groupID)
}

// PickGroups saves the groups picked. The picker shows each group's users
// as it is picked, and the sync screen asks before a first sync of an
// empty group, so an empty group is not refused here.
func (b *AppBackend) PickGroups(ctx context.Context, connection string, ids []string) ([]steps.PickedGroup, error) {
	_, picked, err := b.App.PickGroups(ctx, connection, ids, true)
	return picked, err
}

// Sync runs one sync.
func (b *AppBackend) Sync(ctx context.Context, connection string, req SyncRequest, report func(steps.Event)) (*steps.SyncResult, error) {
	_, res, err := b.App.Sync(ctx, connection, req, report)
	return res, err
}

// SyncRuns reads the last runs.
func (b *AppBackend) SyncRuns(ctx context.Context, connection string, n int) ([]store.RunRecord, error) {
	return b.App.SyncRuns(ctx, connection, n)
}

// CheckTenant asks the tenant about a saved connection.
func (b *AppBackend) CheckTenant(ctx context.Context, connection string) (*app.LiveView, error) {
	return b.App.CheckTenant(ctx, connection)
}
