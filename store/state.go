package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is what the procedure recorded about a connection, one field per
// kind of record, so that a re-run can tell what is done and status can
// show it. Each operation changes only its own fields, and a save merges
// field by field into the connection as it is on disk.
type State struct {
	// CreatingApp is when a setup asked Entra to make the app, until the
	// app's IDs are saved: a run stopped in between left an app the next
	// run must wait for rather than make again.
	CreatingApp *time.Time `json:"creatingApp,omitempty"`
	// Profile is the profile the connection was set up with (package
	// steps' Profile), kept so later runs need neither its file nor the
	// same entrawiz.
	Profile json.RawMessage `json:"profile,omitempty"`
	// Consent is what admin consent was granted for.
	Consent *ConsentRecord `json:"grantConsent,omitempty"`
	// Group is the security group the setup made (or found) for the app.
	Group *GroupRecord `json:"group,omitempty"`
	// Groups are the groups picked for sync.
	Groups []PickedGroup `json:"groups,omitempty"`
	// Test is the last connection test.
	Test *TestResult `json:"test,omitempty"`
	// Sync is the last sync run (not a preview).
	Sync *SyncSummary `json:"sync,omitempty"`
	// Credentials are the app's client secrets as a rotation last read them.
	Credentials []Credential `json:"credentials,omitempty"`
	// Certificates are the certificates entrawiz made for the app (the
	// public part; each private key is in the keyring).
	Certificates []CertificateRecord `json:"certificates,omitempty"`
	// ConsentPending is admin consent this admin could not grant, left for
	// one who can.
	ConsentPending *ConsentPending `json:"consentPending,omitempty"`
	// SecretExemption is the app management policy entrawiz made, at the
	// admin's explicit request, to allow this app client secrets.
	SecretExemption *SecretExemption `json:"secretExemption,omitempty"`
	// SignInTest is a user sign-in test in progress: the temporary
	// redirect URI it adds to the app, recorded before the app is changed
	// so that the next run removes it if this one was killed.
	SignInTest *SignInTestRecord `json:"signInTest,omitempty"`
	// Assigned are the users and groups entrawiz assigned to the app.
	Assigned []Principal `json:"assigned,omitempty"`
	// Members are the users and groups entrawiz added to Group.
	Members []Principal `json:"members,omitempty"`
}

// CertificateRecord is a certificate credential of the app: never the
// private key, which is in the keyring item KeyringName.
type CertificateRecord struct {
	KeyID       string    `json:"keyId"`
	Thumbprint  string    `json:"thumbprint"`
	DisplayName string    `json:"displayName,omitempty"`
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
	// Cert is the public certificate, base64 DER.
	Cert        string `json:"certificate"`
	KeyringName string `json:"keyringName"`
	Status      string `json:"status"` // active, next (rotation in progress), retiring
}

// ConsentPending is admin consent left for an administrator who may grant
// it, with the URL that grants it.
type ConsentPending struct {
	URL   string    `json:"url"`
	Since time.Time `json:"since"`
	By    string    `json:"by,omitempty"` // who could not grant it
}

// SecretExemption records a per-app app management policy that allows
// client secrets.
type SecretExemption struct {
	PolicyID string    `json:"policyId"`
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
}

// SignInTestRecord is a temporary redirect URI a sign-in test added.
type SignInTestRecord struct {
	RedirectURI string    `json:"redirectUri"`
	Added       time.Time `json:"added"`
}

// Principal is a user or group given access by entrawiz.
type Principal struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"` // User or Group
}

// ConsentRecord is the permissions admin consent was granted for.
type ConsentRecord struct {
	AppRoles []string `json:"appRoles,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// GroupRecord is a group the setup made for the app.
type GroupRecord struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Assigned    bool   `json:"assigned"`
}

// PickedGroup is a group whose users are synced.
type PickedGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Extra groups (a profile's sync.extraGroups) bring no users of their
	// own: they hold only users of the sync groups, and one holding none
	// is not synced.
	Extra bool `json:"extra,omitempty"`
}

// TestResult is a connection test: the app-only token's roles and a Graph
// read per application permission.
type TestResult struct {
	At     time.Time    `json:"at"`
	AppID  string       `json:"appId"`
	Roles  []string     `json:"roles"`
	Reads  []ReadReport `json:"reads"`
	Passed bool         `json:"passed"`
}

// ReadReport is one permission's Graph read.
type ReadReport struct {
	Permission string `json:"permission"`
	Path       string `json:"path,omitempty"`
	Status     int    `json:"status,omitempty"`
	Result     string `json:"result"` // ok, failed, role-only
	Error      string `json:"error,omitempty"`
}

// Summary is the one-line result.
func (t *TestResult) Summary() string {
	var reads int
	for _, rd := range t.Reads {
		if rd.Result == "ok" {
			reads++
		}
	}
	return fmt.Sprintf("app-only sign-in works; %d role(s) in the token, %d Graph read(s) succeeded", len(t.Roles), reads)
}

// SyncSummary is the last sync run of a connection, kept for `status`.
type SyncSummary struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	DryRun    bool      `json:"dryRun,omitempty"`
	Created   int       `json:"created"`
	Updated   int       `json:"updated"`
	Disabled  int       `json:"disabled"`
	Deleted   int       `json:"deleted"`
	Unchanged int       `json:"unchanged"`
	Took      string    `json:"took"`
	Error     string    `json:"error,omitempty"`
}

// Credential is one password credential of the app as entrawiz sees it.
type Credential struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	Hint        string    `json:"hint,omitempty"`
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
	DaysLeft    int       `json:"daysLeft"`
	State       string    `json:"state"`            // ok, expiring, expired
	MadeBy      string    `json:"madeBy"`           // entrawiz, outside
	Status      string    `json:"status,omitempty"` // entrawiz's: active, next, retiring
	RemoveAfter time.Time `json:"removeAfter,omitempty"`
}
