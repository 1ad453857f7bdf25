package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// EventKind is what happened to a step.
type EventKind int

// The events a run reports, in the order a step goes through them.
const (
	StepStarted EventKind = iota
	StepProgress
	StepWaiting // waiting for Entra to replicate: Attempt and Delay are set
	StepDone
	StepSkipped // already done: nothing was written
	StepFailed
	DeviceCode // sign-in: show Code and URL
)

// Event is one report from a run. The TUI renders events; the headless
// runner prints them.
type Event struct {
	Step    string // step name, e.g. "register-app"
	Title   string // the step in the admin's words
	Kind    EventKind
	Message string        // one line: progress, result, or what went wrong
	Attempt int           // StepWaiting: the attempt that just failed
	Delay   time.Duration // StepWaiting: until the next attempt
	Err     *graphapi.Error
	// DeviceCode events.
	Code, URL string
	Expires   time.Time
	// Sync is the live state of a sync run (StepProgress events of "sync").
	Sync *SyncProgress
	// NotNeeded marks a StepSkipped event of a step the profile does not
	// ask for, so it is not shown as "already done".
	NotNeeded bool
}

// Graph is what the steps need from Microsoft Graph, acting as the signed-in
// admin. *graphapi.Client implements it.
type Graph interface {
	Organization(ctx context.Context) (*graphapi.Organization, error)
	MyDirectoryRoles(ctx context.Context) ([]graphapi.DirectoryRole, error)
	GraphPermissions(ctx context.Context) (*graphapi.PermissionCatalog, error)
	GetApplication(ctx context.Context, objectID string) (*graphapi.Application, error)
	FindApplicationsByTag(ctx context.Context, tag string) ([]graphapi.Application, error)
	CreateApplication(ctx context.Context, spec graphapi.ApplicationSpec) (*graphapi.Application, error)
	UpdateApplication(ctx context.Context, objectID string, patch graphapi.ApplicationPatch) error
	DeleteApplication(ctx context.Context, objectID string) error
	GetServicePrincipalByAppID(ctx context.Context, appID string) (*graphapi.ServicePrincipal, error)
	CreateServicePrincipal(ctx context.Context, appID string) (*graphapi.ServicePrincipal, error)
	SetAssignmentRequired(ctx context.Context, spID string, required bool) error
	SetServicePrincipalTags(ctx context.Context, spID string, tags []string) error
	AppRoleAssignments(ctx context.Context, principalSpID string) ([]graphapi.AppRoleAssignment, error)
	AppRoleAssignedTo(ctx context.Context, resourceSpID string) ([]graphapi.AppRoleAssignment, error)
	AssignAppRole(ctx context.Context, resourceSpID, principalID, appRoleID string) (*graphapi.AppRoleAssignment, error)
	AdminConsentGrant(ctx context.Context, clientSpID, resourceSpID string) (*graphapi.PermissionGrant, error)
	GrantDelegatedScopes(ctx context.Context, clientSpID, resourceSpID string, scopes []string) (*graphapi.PermissionGrant, error)
	AddPassword(ctx context.Context, objectID, displayName string, end time.Time) (*graphapi.NewSecret, error)
	RemovePassword(ctx context.Context, objectID, keyID string) error
	FindGroupByName(ctx context.Context, displayName string) (*graphapi.Group, error)
	CreateSecurityGroup(ctx context.Context, displayName, description string) (*graphapi.Group, error)
	PeopleGraph
	AddGroupMember(ctx context.Context, groupID, memberID string) error
}

// AppClient is the product's own view of the tenant: an app-only token from
// the client secret, and Graph reads with it.
type AppClient interface {
	VerifyRoles(ctx context.Context, want []string) (graphapi.AppToken, error)
	CheckReads(ctx context.Context, reads []graphapi.Read) ([]graphapi.ReadResult, error)
}

// Env is what a run needs from outside the procedure.
type Env struct {
	Graph   Graph
	Secrets store.Secrets
	// NewAppClient makes the app-only client for a client ID and secret.
	NewAppClient func(clientID, secret string) (AppClient, error)
	// NewCertAppClient makes the app-only client for a client ID and
	// certificate.
	NewCertAppClient func(clientID string, cert *graphapi.Certificate) (AppClient, error)
	// LoginURL is the identity platform's base URL (for the admin-consent
	// URL handed to another administrator).
	LoginURL string
	Report   func(Event)
	Now      func() time.Time
	// Backoff bounds every wait for replication.
	Backoff graphapi.Backoff
	// Save is called after every step that changed the connection, so a
	// run that stops half way can be resumed.
	Save func(*store.Connection) error
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) report(ev Event) {
	if e.Report != nil {
		e.Report(ev)
	}
}

// Step is one part of the procedure. Check says whether it is done already
// (with reads only); Apply does it. Both return a one-line summary.
type Step struct {
	Name  string
	Title string
	// Needed, when set, says whether the profile asks for the step at
	// all; a step it does not ask for is reported as not needed.
	Needed func(p *Profile) (bool, string)
	Check  func(ctx context.Context, r *Run) (done bool, summary string, err error)
	Apply  func(ctx context.Context, r *Run) (summary string, err error)
}

// Run is one pass of the procedure over a connection.
type Run struct {
	Env     *Env
	Profile *Profile
	Conn    *store.Connection
	Plan    *Plan
	// Deliver, when set, hands the client secret to the product (for
	// example on a command's stdin).
	Deliver func(ctx context.Context, secret string) error
	// People are the users and groups the run gives access (GiveAccess).
	People []Access
	// Secret is the client secret created in this run, kept only in memory
	// until it is in the keyring and handed off.
	secret string
	// cert is the certificate created in this run, likewise.
	cert *graphapi.Certificate
	// consentPending: this admin could not grant consent; it is left for
	// one who can.
	consentPending bool
	step           string
	// What this run created, so later steps skip reads that would only
	// find nothing (and cost requests).
	freshApp, freshSP bool
	// wrote is set once a step has changed something: only then can the
	// connection test meet Entra's replication delay and wait for it.
	wrote bool
}

// Wait retries fn while Entra is still replicating, reporting each wait.
func (r *Run) Wait(ctx context.Context, b graphapi.Backoff, fn func(ctx context.Context) error) error {
	title := r.step
	return graphapi.Retry(ctx, b, func(attempt int, delay time.Duration, err *graphapi.Error) {
		r.Env.report(Event{Step: r.step, Title: title, Kind: StepWaiting, Attempt: attempt, Delay: delay, Err: err,
			Message: fmt.Sprintf("waiting for Entra to replicate — attempt %d, next try in %s", attempt, delay.Round(100*time.Millisecond))})
	}, fn)
}

// Progress reports a line of progress within the current step.
func (r *Run) Progress(msg string) {
	r.Env.report(Event{Step: r.step, Kind: StepProgress, Message: msg})
}

// Execute runs the steps in order, skipping those already done, saving the
// connection after each, and stopping at the first failure.
func (r *Run) Execute(ctx context.Context, steps []Step) error {
	for _, s := range steps {
		r.step = s.Name
		r.Env.report(Event{Step: s.Name, Title: s.Title, Kind: StepStarted})
		if s.Needed != nil {
			if needed, why := s.Needed(r.Profile); !needed {
				r.Env.report(Event{Step: s.Name, Title: s.Title, Kind: StepSkipped, Message: why, NotNeeded: true})
				continue
			}
		}
		if s.Check != nil {
			done, summary, err := s.Check(ctx, r)
			if err != nil {
				return r.fail(s, err)
			}
			if done {
				r.Env.report(Event{Step: s.Name, Title: s.Title, Kind: StepSkipped, Message: summary})
				continue
			}
		}
		summary, err := s.Apply(ctx, r)
		if err != nil {
			r.save()
			return r.fail(s, err)
		}
		r.wrote = true
		r.Conn.Updated = r.Env.now()
		if err := r.save(); err != nil {
			return r.fail(s, fmt.Errorf("save the connection: %w", err))
		}
		r.Env.report(Event{Step: s.Name, Title: s.Title, Kind: StepDone, Message: summary})
	}
	return nil
}

func (r *Run) save() error {
	if r.Env.Save == nil {
		return nil
	}
	return r.Env.Save(r.Conn)
}

// StepError is a failed step: which one, and the classified cause.
type StepError struct {
	Step  string
	Title string
	Err   error
}

func (e *StepError) Error() string { return e.Title + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func (r *Run) fail(s Step, err error) error {
	var ge *graphapi.Error
	if !errors.As(err, &ge) {
		ge = graphapi.Classify(err)
	}
	r.Env.report(Event{Step: s.Name, Title: s.Title, Kind: StepFailed, Message: err.Error(), Err: ge})
	return &StepError{Step: s.Name, Title: s.Title, Err: err}
}
