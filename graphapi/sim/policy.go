package sim

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// App management policies, as Graph v1.0 serves them: the tenant default
// (tenantAppManagementPolicy, GET/PATCH /policies/defaultAppManagementPolicy)
// and custom ones (appManagementPolicy, POST /policies/appManagementPolicies,
// assigned with POST /applications/{id}/appManagementPolicies/$ref). A custom
// policy assigned to an app takes precedence over the tenant default. A
// restriction applies to apps created after its
// restrictForAppsCreatedAfterDateTime, and only to new credentials.

// defaultPolicyID is the fixed id of the tenant default policy.
const defaultPolicyID = "00000000-0000-0000-0000-000000000000"

// policyRestrictFrom is the restrictForAppsCreatedAfterDateTime the sim's
// control knobs use: every app in the simulated tenant was created after it.
var policyRestrictFrom = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	readPolicies = access{
		scopes:   []string{"Policy.Read.All", "Policy.Read.ApplicationConfiguration", "Policy.ReadWrite.ApplicationConfiguration"},
		appRoles: []string{"Policy.Read.All", "Policy.Read.ApplicationConfiguration", "Policy.ReadWrite.ApplicationConfiguration"},
	}
	// writeDefaultPolicy: the tenant default is a tenant-wide setting.
	writeDefaultPolicy = access{
		scopes:   []string{"Policy.ReadWrite.ApplicationConfiguration"},
		appRoles: []string{"Policy.ReadWrite.ApplicationConfiguration"},
		dirRoles: []string{roleGlobalAdmin, roleSecurityAdmin},
	}
	// writeAppPolicies: custom policies are app administration, documented
	// for Cloud Application Administrator and Application Administrator.
	writeAppPolicies = access{
		scopes:   []string{"Policy.ReadWrite.ApplicationConfiguration"},
		appRoles: []string{"Policy.ReadWrite.ApplicationConfiguration"},
		dirRoles: []string{roleGlobalAdmin, roleAppAdmin, roleCloudAppAdmin},
	}
)

// credRestriction is a passwordCredentialConfiguration or
// keyCredentialConfiguration.
type credRestriction struct {
	Type   string // restrictionType
	State  string // enabled, disabled
	Max    time.Duration
	MaxISO string // maxLifetime as given; "" is null
	After  time.Time
}

// audienceRestriction is one signInAudience restriction (audiencesConfiguration).
type audienceRestriction struct {
	State string
	After time.Time
}

// appConfig is an appManagementConfiguration (custom policies'
// restrictions) or appManagementApplicationConfiguration (the default's
// applicationRestrictions).
type appConfig struct {
	Password  []credRestriction
	Key       []credRestriction
	Audiences map[string]audienceRestriction // azureAdMultipleOrgs, personalMicrosoftAccount
}

type mgmtPolicy struct {
	ID, DisplayName, Description string
	Enabled                      bool
	App                          appConfig
	SP                           appConfig // the default's servicePrincipalRestrictions
	AppliesTo                    []string  // application object ids (custom policies)
}

type policyStore struct {
	mu     sync.Mutex
	def    mgmtPolicy
	custom []*mgmtPolicy
}

func newPolicyStore(o Options) *policyStore {
	ps := &policyStore{def: mgmtPolicy{ID: defaultPolicyID, DisplayName: "Default app management tenant policy",
		Description: "Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection."}}
	if o.SecretMaxLifetime > 0 {
		ps.setRestriction(&ps.def.App.Password, "passwordLifetime", o.SecretMaxLifetime)
	}
	if o.ForbidSecrets {
		ps.setRestriction(&ps.def.App.Password, "passwordAddition", -1)
	}
	if o.CertMaxLifetime > 0 {
		ps.setRestriction(&ps.def.App.Key, "asymmetricKeyLifetime", o.CertMaxLifetime)
	}
	if o.ForbidMultiTenant {
		ps.setAudience("azureAdMultipleOrgs", true)
	}
	return ps
}

// setRestriction turns one restriction of the default policy on (max > 0:
// a lifetime; max < 0: an addition ban) or off (max == 0), keeping the
// others, and enables the policy while any restriction is on.
func (ps *policyStore) setRestriction(list *[]credRestriction, typ string, max time.Duration) {
	var out []credRestriction
	for _, r := range *list {
		if r.Type != typ {
			out = append(out, r)
		}
	}
	if max != 0 {
		r := credRestriction{Type: typ, State: "enabled", After: policyRestrictFrom}
		if max > 0 {
			r.Max, r.MaxISO = max, isoDuration(max)
		}
		out = append(out, r)
	}
	*list = out
	ps.def.Enabled = len(ps.def.App.Password)+len(ps.def.App.Key)+len(ps.def.App.Audiences) > 0
}

func (ps *policyStore) setAudience(name string, forbid bool) {
	if ps.def.App.Audiences == nil {
		ps.def.App.Audiences = map[string]audienceRestriction{}
	}
	if forbid {
		ps.def.App.Audiences[name] = audienceRestriction{State: "enabled", After: policyRestrictFrom}
	} else {
		delete(ps.def.App.Audiences, name)
	}
	ps.def.Enabled = len(ps.def.App.Password)+len(ps.def.App.Key)+len(ps.def.App.Audiences) > 0
}

// SetSecretMaxLifetime sets the tenant default's passwordLifetime
// restriction: addPassword then refuses an end date further than max from
// the start, as Entra does. Zero removes the restriction.
func (s *Server) SetSecretMaxLifetime(max time.Duration) {
	s.pol.mu.Lock()
	s.pol.setRestriction(&s.pol.def.App.Password, "passwordLifetime", max)
	s.pol.mu.Unlock()
}

// ForbidSecrets sets the tenant default's passwordAddition restriction
// (the admin centre's "block password addition"): no new client secrets.
func (s *Server) ForbidSecrets(forbid bool) {
	max := time.Duration(0)
	if forbid {
		max = -1
	}
	s.pol.mu.Lock()
	s.pol.setRestriction(&s.pol.def.App.Password, "passwordAddition", max)
	s.pol.mu.Unlock()
}

// SetCertMaxLifetime sets the tenant default's asymmetricKeyLifetime
// restriction on new certificates. Zero removes it.
func (s *Server) SetCertMaxLifetime(max time.Duration) {
	s.pol.mu.Lock()
	s.pol.setRestriction(&s.pol.def.App.Key, "asymmetricKeyLifetime", max)
	s.pol.mu.Unlock()
}

// ForbidMultiTenant sets the tenant default's audience restriction on
// AzureADMultipleOrgs (and so on any multi-tenant sign-in audience).
func (s *Server) ForbidMultiTenant(forbid bool) {
	s.pol.mu.Lock()
	s.pol.setAudience("azureAdMultipleOrgs", forbid)
	s.pol.mu.Unlock()
}

// AppManagementPolicyOf returns the id of the custom policy assigned to the
// application with appID, or "".
func (s *Server) AppManagementPolicyOf(appID string) string {
	s.dir.mu.RLock()
	var objID string
	for _, a := range s.dir.apps {
		if a.Props["appId"] == appID {
			objID = a.ID
		}
	}
	s.dir.mu.RUnlock()
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	for _, p := range s.pol.custom {
		for _, id := range p.AppliesTo {
			if id == objID {
				return p.ID
			}
		}
	}
	return ""
}

// effective returns the policy that governs the application with object id
// appObjID: an enabled custom policy assigned to it, else the enabled
// tenant default; nil when none.
func (ps *policyStore) effective(appObjID string) *mgmtPolicy {
	for _, p := range ps.custom {
		for _, id := range p.AppliesTo {
			if id == appObjID && p.Enabled {
				return p
			}
		}
	}
	if ps.def.Enabled {
		return &ps.def
	}
	return nil
}

// restriction returns the restriction of type typ in force for an app
// created at created, and the id of the policy it comes from.
func (s *Server) restriction(appObjID string, created time.Time, key bool, typ string) (credRestriction, string, bool) {
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	p := s.pol.effective(appObjID)
	if p == nil {
		return credRestriction{}, "", false
	}
	list := p.App.Password
	if key {
		list = p.App.Key
	}
	for _, r := range list {
		if r.Type == typ && r.State == "enabled" && created.After(r.After) {
			return r, p.ID, true
		}
	}
	return credRestriction{}, "", false
}

// audienceRefused returns the id of the policy that forbids audience for
// an app created at created, or "".
func (s *Server) audienceRefused(appObjID string, created time.Time, audience string) string {
	var name string
	switch audience {
	case "AzureADMultipleOrgs":
		name = "azureAdMultipleOrgs"
	case "PersonalMicrosoftAccount":
		name = "personalMicrosoftAccount"
	case "AzureADandPersonalMicrosoftAccount":
		name = "azureAdMultipleOrgs" // multi-tenant too; checked for both below
	default:
		return "" // AzureADMyOrg cannot be blocked
	}
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	p := s.pol.effective(appObjID)
	if p == nil {
		return ""
	}
	names := []string{name}
	if audience == "AzureADandPersonalMicrosoftAccount" {
		names = append(names, "personalMicrosoftAccount")
	}
	for _, n := range names {
		if r, ok := p.App.Audiences[n]; ok && r.State == "enabled" && created.After(r.After) {
			return p.ID
		}
	}
	return ""
}

// appCreated is when an application was created, for the policies' dates.
func appCreated(app *object) time.Time {
	s, _ := app.Props["createdDateTime"].(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return policyRestrictFrom // createdDateTime null: treated as 2019-01-01, as documented
	}
	return t
}

// policyError writes a 400 app management policy refusal with the given
// code and message.
func (c *gctx) policyError(code, msg string, details []any) {
	inner := map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": c.w.Header().Get("request-id")}
	inner["client-request-id"] = inner["request-id"]
	if cr := c.r.Header.Get("client-request-id"); cr != "" {
		inner["client-request-id"] = cr
	}
	e := map[string]any{"code": code, "message": msg, "innerError": inner}
	if details != nil {
		e["details"] = details
	}
	writeJSON(c.w, http.StatusBadRequest, map[string]any{"error": e})
}

// refusePassword answers addPassword as Entra does when the policy in
// force forbids new secrets (CredentialTypeNotAllowedAsPerAppPolicy) or
// the end date is beyond its maximum lifetime
// (CredentialInvalidLifetimeAsPerAppPolicy, with an InvalidKeyEndDate
// detail); false if the secret is allowed.
func (c *gctx) refusePassword(app *object, start, end time.Time) bool {
	created := appCreated(app)
	if _, pid, ok := c.s.restriction(app.ID, created, false, "passwordAddition"); ok {
		c.policyError("CredentialTypeNotAllowedAsPerAppPolicy",
			fmt.Sprintf("Credential type not allowed as per assigned policy '%s'.", pid), nil)
		return true
	}
	if r, pid, ok := c.s.restriction(app.ID, created, false, "passwordLifetime"); ok && r.Max > 0 && end.Sub(start) > r.Max {
		c.refuseLifetime(pid)
		return true
	}
	return false
}

// refuseKeyLifetime refuses a certificate whose validity is beyond the
// asymmetricKeyLifetime restriction in force; false if allowed.
func (c *gctx) refuseKeyLifetime(app *object, start, end time.Time) bool {
	if r, pid, ok := c.s.restriction(app.ID, appCreated(app), true, "asymmetricKeyLifetime"); ok && r.Max > 0 && end.Sub(start) > r.Max {
		c.refuseLifetime(pid)
		return true
	}
	return false
}

func (c *gctx) refuseLifetime(policyID string) {
	msg := fmt.Sprintf("Credential lifetime exceeds the max value allowed as per assigned policy '%s'.", policyID)
	c.policyError("CredentialInvalidLifetimeAsPerAppPolicy", msg,
		[]any{map[string]any{"code": "InvalidKeyEndDate", "message": msg, "target": "EndDate"}})
}

// refuseAudience refuses a sign-in audience the policy in force forbids
// (SignInAudienceNotAllowedAsPerAppPolicy); false if allowed.
func (c *gctx) refuseAudience(app *object, audience string) bool {
	pid := c.s.audienceRefused(app.ID, appCreated(app), audience)
	if pid == "" {
		return false
	}
	c.policyError("SignInAudienceNotAllowedAsPerAppPolicy", fmt.Sprintf(
		"SignInAudience value '%s' not allowed as per assigned policy '%s'. Set the application to use single-tenant audience of 'AzureADMyOrg' or other allowed values.",
		audience, pid), nil)
	return true
}
