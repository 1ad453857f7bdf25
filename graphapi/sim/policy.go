package sim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The tenant default app management policy (tenantAppManagementPolicy), as
// GET /policies/defaultAppManagementPolicy returns it. Only the
// passwordLifetime restriction is modelled; the policy is disabled until a
// maximum lifetime is set.

// defaultPolicyID is the fixed id of the tenant default policy.
const defaultPolicyID = "00000000-0000-0000-0000-000000000000"

// passwordPolicyRestrictFrom is the restrictForAppsCreatedAfterDateTime the
// sim uses: every app in the simulated tenant was created after it.
var passwordPolicyRestrictFrom = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

var readPolicies = access{
	scopes:   []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"},
	appRoles: []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"},
}

// SetSecretMaxLifetime sets the tenant's passwordLifetime restriction:
// addPassword then refuses an end date further than max from the start,
// as Entra does. Zero disables the restriction.
func (s *Server) SetSecretMaxLifetime(max time.Duration) {
	s.mu.Lock()
	s.secretMaxLifetime = max
	s.mu.Unlock()
}

func (s *Server) currentSecretMaxLifetime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretMaxLifetime
}

// isoDuration writes a duration the way Graph writes maxLifetime: P90D,
// or P4DT12H30M5S.
func isoDuration(d time.Duration) string {
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	out := "P"
	if days > 0 {
		out += fmt.Sprintf("%dD", days)
	}
	if rest > 0 {
		out += "T"
		if h := rest / time.Hour; h > 0 {
			out += fmt.Sprintf("%dH", h)
		}
		if m := (rest % time.Hour) / time.Minute; m > 0 {
			out += fmt.Sprintf("%dM", m)
		}
		if sec := (rest % time.Minute) / time.Second; sec > 0 {
			out += fmt.Sprintf("%dS", sec)
		}
	}
	if out == "P" {
		out = "PT0S"
	}
	return out
}

func (c *gctx) policies() {
	if len(c.seg) != 2 || c.seg[1] != "defaultAppManagementPolicy" {
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", strings.Join(c.seg[1:], "/")))
		return
	}
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.allowed(readPolicies) {
		return
	}
	max := c.s.currentSecretMaxLifetime()
	var pw []any
	if max > 0 {
		pw = append(pw, map[string]any{"restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": isoDuration(max),
			"restrictForAppsCreatedAfterDateTime": passwordPolicyRestrictFrom.Format(time.RFC3339)})
	} else {
		pw = []any{}
	}
	props := map[string]any{
		"id": defaultPolicyID, "displayName": "Default app management tenant policy",
		"description":                  "Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.",
		"isEnabled":                    max > 0,
		"applicationRestrictions":      map[string]any{"passwordCredentials": pw, "keyCredentials": []any{}},
		"servicePrincipalRestrictions": map[string]any{"passwordCredentials": []any{}, "keyCredentials": []any{}},
	}
	out := map[string]any{"@odata.context": c.base() + "/$metadata#policies/defaultAppManagementPolicy/$entity"}
	for k, v := range props {
		out[k] = v
	}
	writeGraphJSON(c.w, http.StatusOK, out)
}

// refuseLifetime answers addPassword as Entra does when the end date is
// beyond the policy's maximum (400 CredentialInvalidLifetimeAsPerAppPolicy,
// with an InvalidKeyEndDate detail); false if the lifetime is allowed.
func (c *gctx) refuseLifetime(start, end time.Time) bool {
	max := c.s.currentSecretMaxLifetime()
	if max <= 0 || end.Sub(start) <= max {
		return false
	}
	msg := fmt.Sprintf("Credential lifetime exceeds the max value allowed as per assigned policy '%s'.", defaultPolicyID)
	inner := map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": c.w.Header().Get("request-id")}
	inner["client-request-id"] = inner["request-id"]
	if cr := c.r.Header.Get("client-request-id"); cr != "" {
		inner["client-request-id"] = cr
	}
	writeJSON(c.w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"code": "CredentialInvalidLifetimeAsPerAppPolicy", "message": msg,
		"details":    []any{map[string]any{"code": "InvalidKeyEndDate", "message": msg, "target": "EndDate"}},
		"innerError": inner}})
	return true
}
