package sim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

const policyScopes = adminScopes + " Policy.Read.All Policy.ReadWrite.ApplicationConfiguration"

// TestDefaultPolicyWritesAndDates: PATCH the tenant default as documented;
// a restriction applies to apps created after its date only.
func TestDefaultPolicyWritesAndDates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	tok := e.deviceCode(e.info.AdminUPN, sim.GraphCLIToolsID, policyScopes)["access_token"].(string)
	old := e.newApp("made before the policy")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	// createdDateTime has whole seconds: the restriction's date falls
	// between the old app's creation and the new one's.
	time.Sleep(1100 * time.Millisecond)
	past := time.Now().UTC().Format(time.RFC3339)
	time.Sleep(1100 * time.Millisecond)
	patch := func(after string) *resp {
		return e.send(http.MethodPatch, e.graph("/policies/defaultAppManagementPolicy"), tok, nil, map[string]any{
			"isEnabled": true,
			"applicationRestrictions": map[string]any{"passwordCredentials": []any{
				map[string]any{"restrictionType": "passwordAddition", "state": "enabled", "maxLifetime": nil, "restrictForAppsCreatedAfterDateTime": after},
			}, "keyCredentials": []any{}}})
	}
	if r := patch(past); r.status != http.StatusNoContent {
		t.Fatalf("PATCH default policy: %s", r)
	}
	got := e.send(http.MethodGet, e.graph("/policies/defaultAppManagementPolicy"), tok, nil, nil).json(t)
	pw := got["applicationRestrictions"].(map[string]any)["passwordCredentials"].([]any)
	if len(pw) != 1 || pw[0].(map[string]any)["restrictionType"] != "passwordAddition" || got["isEnabled"] != true {
		t.Fatalf("GET after PATCH = %v", got)
	}
	addPassword := func(id string) *resp {
		return e.send(http.MethodPost, e.graph("/applications/"+id+"/addPassword"), tok, nil,
			map[string]any{"passwordCredential": map[string]any{"displayName": "x"}})
	}
	if r := addPassword(old.id); r.status != http.StatusOK {
		t.Errorf("an app created before the restriction's date was refused: %s", r)
	}
	fresh := e.send(http.MethodPost, e.graph("/applications"), tok, nil, map[string]any{"displayName": "new"}).json(t)
	r := addPassword(fresh["id"].(string))
	if r.status != 400 || graphError(t, r) != "CredentialTypeNotAllowedAsPerAppPolicy" ||
		!strings.Contains(string(r.body), "Credential type not allowed as per assigned policy '00000000-0000-0000-0000-000000000000'") {
		t.Fatalf("addPassword on a new app: %s", r)
	}
	// A date in the future restricts nothing made now.
	if r := patch(future); r.status != http.StatusNoContent {
		t.Fatal(r)
	}
	if r := addPassword(fresh["id"].(string)); r.status != http.StatusOK {
		t.Errorf("restriction dated in the future applied: %s", r)
	}
	// Without Policy.ReadWrite.ApplicationConfiguration the write is refused.
	if r := e.send(http.MethodPatch, e.graph("/policies/defaultAppManagementPolicy"), e.admin(), nil, map[string]any{"isEnabled": false}); r.status != 403 {
		t.Errorf("PATCH without the permission: %s", r)
	}
	// A bad restriction type is refused.
	bad := e.send(http.MethodPatch, e.graph("/policies/defaultAppManagementPolicy"), tok, nil, map[string]any{
		"applicationRestrictions": map[string]any{"passwordCredentials": []any{map[string]any{"restrictionType": "noSuchThing"}}}})
	if bad.status != 400 {
		t.Errorf("bad restriction type: %s", bad)
	}
}

// TestServicePrincipalCredentialsLocked: credentials go on the application;
// a service principal whose app locks it refuses them.
func TestServicePrincipalCredentialsLocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	tok := e.admin()
	a := e.newApp("locked")
	if r := e.send(http.MethodPatch, e.graph("/applications/"+a.id), tok, nil, map[string]any{
		"servicePrincipalLockConfiguration": map[string]any{"isEnabled": true, "allProperties": true}}); r.status != http.StatusNoContent {
		t.Fatal(r)
	}
	r := e.send(http.MethodPost, e.graph("/servicePrincipals/"+a.spID+"/addPassword"), tok, nil, map[string]any{"passwordCredential": map[string]any{}})
	if r.status != 400 || graphError(t, r) != "CannotUpdateLockedServicePrincipalProperty" {
		t.Fatalf("addPassword on a locked service principal: %s", r)
	}
}

// TestAdminConsentNeedsPrivilegedRole: the admin consent page refuses a
// Cloud Application Administrator for Graph application permissions and
// grants them for a Global Administrator.
func TestAdminConsentNeedsPrivilegedRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 2})
	a := e.newApp("consent me")
	// Ask for User.Read.All (application) in the registration.
	if r := e.send(http.MethodPatch, e.graph("/applications/"+a.id), e.admin(), nil, map[string]any{
		"requiredResourceAccess": []any{map[string]any{"resourceAppId": sim.GraphAppID, "resourceAccess": []any{
			map[string]any{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}}}}}); r.status != http.StatusNoContent {
		t.Fatal(r)
	}
	if err := e.srv.SetAdminRoles("Cloud Application Administrator"); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"client_id": {a.appID}, "scope": {"https://graph.microsoft.com/.default"}, "upn": {e.info.AdminUPN}, "action": {"accept"}}
	post := func() *http.Response {
		hc := *e.hc
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r, err := hc.PostForm(e.login("/v2.0/adminconsent"), form)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	if r := post(); r.StatusCode != 400 {
		t.Fatalf("a Cloud Application Administrator's consent: %d", r.StatusCode)
	}
	if roles := tokenRoles(t, e.appToken(a)); strings.Contains(roles, "User.Read.All") {
		t.Fatal("granted anyway")
	}
	if err := e.srv.SetAdminRoles("Global Administrator"); err != nil {
		t.Fatal(err)
	}
	// No reply URL registered: consent is recorded and the page says so.
	if r := post(); r.StatusCode != 400 {
		t.Fatalf("consent without a reply URL: %d", r.StatusCode)
	}
	if roles := tokenRoles(t, e.appToken(a)); !strings.Contains(roles, "User.Read.All") {
		t.Fatalf("not granted: roles %q", roles)
	}
	if err := e.srv.GrantAdminConsent(a.appID, e.info.AdminUPN); err != nil {
		t.Fatalf("granting again is a no-op: %v", err)
	}
}

// tokenRoles is the roles claim of an access token, as JSON text.
func tokenRoles(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return strings.Join(c.Roles, " ")
}
