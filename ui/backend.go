// Package ui is the terminal wizard: Bubble Tea models that render the
// procedure's state and turn keys into intents. Every step's logic lives in
// package steps; everything that touches the network, the keyring or the
// disk is behind Backend and runs only inside tea.Cmds.
package ui

import (
	"context"
	"time"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// Backend is what the wizard asks of the world. AppBackend implements it
// over the application layer (the real tenant, or the simulated one in
// `entrawiz demo`). Every
// method may block on I/O: the wizard calls them only from tea.Cmds.
type Backend interface {
	// Profiles are the profiles the admin may choose from.
	Profiles() []*steps.Profile
	// Connections are the saved connections; with any, the wizard opens on
	// the dashboard.
	Connections() ([]store.Connection, error)
	// Tenant is the tenant given on the command line, or "" to ask.
	Tenant() string
	// Simulated is set when the tenant is the simulated one (the wizard
	// says so on every screen).
	Simulated() bool

	// StartSetup starts a setup of profile p in tenant with the admin's
	// sign-in: silently when a saved sign-in works (then the prompt's Code
	// is empty and Wait returns at once), else with a device code. The
	// prompt's Wait (or Browser) gives the setup session.
	StartSetup(ctx context.Context, tenant string, p *steps.Profile) (*SignInPrompt, error)
	// Manual records IDs and a secret entered by hand and tests them; it
	// returns the connection's name.
	Manual(ctx context.Context, tenant string, p *steps.Profile, clientID, secret string, report func(steps.Event)) (string, error)
	// Handoff returns a connection's values for the product; the secret's
	// value only with reveal.
	Handoff(connection string, reveal bool) ([]steps.HandoffValue, error)

	// Test runs the connection test of a saved connection.
	Test(ctx context.Context, connection string, report func(steps.Event)) (*steps.TestResult, error)
	// Reset forgets a saved connection (keyring and config).
	Reset(ctx context.Context, connection string) error
	// Rotate replaces a saved connection's client secret by overlap (it
	// signs the admin in, reporting a device code as a DeviceCode event):
	// the new secret is added, stored, verified and made active; the old
	// one stays until `entrawiz rotate --finish`.
	Rotate(ctx context.Context, connection string, report func(steps.Event)) (*steps.RotateResult, error)

	// SearchGroups returns one page of the connection's tenant groups,
	// searched on the server ($search); q.NextLink continues a page.
	SearchGroups(ctx context.Context, connection string, q graphapi.GroupQuery) (*graphapi.GroupPage, error)
	// GroupCounts counts a group's members at any depth of nesting and the
	// groups nested in it.
	GroupCounts(ctx context.Context, connection, groupID string) (GroupCounts, error)
	// PickGroups replaces the connection's picked groups, within its
	// profile's limit on their number.
	PickGroups(ctx context.Context, connection string, ids []string) ([]steps.PickedGroup, error)
	// Sync runs one sync of the connection's picked groups, reporting
	// progress as "sync" events; a run refused by the safety limits
	// returns a *steps.SafetyError and changes nothing.
	Sync(ctx context.Context, connection string, req SyncRequest, report func(steps.Event)) (*steps.SyncResult, error)
	// CheckTenant asks the tenant about a saved connection without
	// prompting anyone (app.App.CheckTenant); nothing is written.
	CheckTenant(ctx context.Context, connection string) (*app.LiveView, error)
	// SyncRuns returns the last n sync runs, newest first.
	SyncRuns(ctx context.Context, connection string, n int) ([]store.RunRecord, error)
}

// GroupCounts are a group's member counts.
type GroupCounts = app.GroupCounts

// SyncRequest is how a sync started from the wizard runs.
type SyncRequest = app.SyncRequest

// SignInPrompt is the first phase of a setup's sign-in: what to show.
type SignInPrompt struct {
	Code    string // empty when signed in silently
	URL     string
	Message string
	Expires time.Time
	// Wait blocks until the admin approves, declines or the code expires.
	Wait func(ctx context.Context) (Setup, error)
	// Browser signs in with the system browser instead, for when
	// Conditional Access blocks the device code.
	Browser func(ctx context.Context) (Setup, error)
	// Auto: a device code blocked by Conditional Access goes on with the
	// browser without asking (--sign-in auto).
	Auto bool
	// ByBrowser: no device code (--sign-in browser); Wait signs in with
	// the browser.
	ByBrowser bool
	// BrowserURL carries the sign-in address when no browser can be
	// opened here (SSH, no display, --no-browser); nil otherwise.
	BrowserURL <-chan string
}

// Setup is one setup session, signed in: the wizard holds it from the
// sign-in to the hand-off, and it holds the setup's state.
type Setup interface {
	// UPN is who signed in.
	UPN() string
	// Preflight reads the tenant and returns the plan; nothing is
	// written. Waits for replication are reported.
	Preflight(ctx context.Context, report func(steps.Event)) (*steps.Plan, error)
	// Execute runs the confirmed plan, reporting events as they happen.
	Execute(ctx context.Context, report func(steps.Event)) error
	// Connection names the connection the setup makes.
	Connection() string
	// Written are the change record and the calendar reminder of the
	// secret's expiry an executed setup wrote ("" for none); no I/O.
	Written() (record, reminder string)
}
