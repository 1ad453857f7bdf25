package sim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// browser follows the sign-in pages as a person's browser would, without
// following the final redirect to the app: each step returns the response.
type browser struct {
	e  *env
	hc *http.Client
}

func (e *env) browser() *browser {
	hc := *e.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, hc: &hc}
}

func (b *browser) do(req *http.Request) *resp {
	b.e.t.Helper()
	res, err := b.hc.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	var body strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return &resp{status: res.StatusCode, header: res.Header, body: []byte(body.String())}
}

func (b *browser) get(u string) *resp {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// submit posts the page's form with its hidden fields and the given ones.
func (b *browser) submit(page *resp, fields url.Values) *resp {
	b.e.t.Helper()
	m := formRe.FindSubmatch(page.body)
	if m == nil {
		b.e.t.Fatalf("no form on the page: %s", page)
	}
	v := url.Values{}
	for _, h := range hiddenRe.FindAllSubmatch(m[2], -1) {
		v.Set(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	for k, vals := range fields {
		v[k] = vals
	}
	action := html.UnescapeString(string(m[1]))
	if strings.HasPrefix(action, "/") {
		action = b.e.info.LoginURL + action
	}
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// redirected returns the query the tenant sent the browser back with.
func redirected(t testing.TB, r *resp, redirectURI string) url.Values {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("want a redirect to the app, got %s", r)
	}
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, redirectURI+"?") {
		t.Fatalf("redirect to %q, want %s", loc, redirectURI)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

// pkce is a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "0123456789-._~abcdefghijklmnop"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

const webRedirect = "https://app.contoso.com/auth/callback"

// webApp registers an app for web sign-in with admin consent for openid,
// profile, email, offline_access and User.Read, and returns it.
func (e *env) webApp(name string, props map[string]any) app {
	e.t.Helper()
	a := e.newApp(name)
	body := map[string]any{"web": map[string]any{"redirectUris": []any{webRedirect}}}
	for k, v := range props {
		body[k] = v
	}
	if r := e.send(http.MethodPatch, e.graph("/applications/"+a.id), e.admin(), nil, body); r.status != http.StatusNoContent {
		e.t.Fatalf("patch app: %s", r)
	}
	graphSP := e.get("/servicePrincipals(appId='"+sim.GraphAppID+"')", nil)
	if r := e.send(http.MethodPost, e.graph("/oauth2PermissionGrants"), e.admin(), nil, map[string]any{
		"clientId": a.spID, "consentType": "AllPrincipals", "resourceId": graphSP["id"], "scope": "openid profile email offline_access User.Read",
	}); r.status != http.StatusCreated {
		e.t.Fatalf("grant consent: %s", r)
	}
	return a
}

func (e *env) authorizeURL(clientID, redirectURI string, extra url.Values) string {
	_, challenge := pkce()
	v := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email offline_access User.Read"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, vals := range extra {
		v[k] = vals
	}
	return e.login("/oauth2/v2.0/authorize") + "?" + v.Encode()
}

// signInAs runs the pages as upn and returns what came back to the app.
func (e *env) signInAs(b *browser, clientID, redirectURI, upn string, extra url.Values) url.Values {
	e.t.Helper()
	page := b.get(e.authorizeURL(clientID, redirectURI, extra))
	if page.status != http.StatusOK || !strings.Contains(string(page.body), `action="/`+e.info.TenantID+`/oauth2/v2.0/authorize/login"`) {
		e.t.Fatalf("want the sign-in page, got %s", page)
	}
	return redirected(e.t, b.submit(page, url.Values{"login": {upn}}), redirectURI)
}

func (e *env) redeem(a app, code, redirectURI, verifier, secret string) *resp {
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {a.appID}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "scope": {"openid profile email User.Read"}}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	return e.send(http.MethodPost, e.login("/oauth2/v2.0/token"), "", nil, v)
}

func claimsOf(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func aadsts(t testing.TB, desc, code string) {
	t.Helper()
	if !strings.HasPrefix(desc, "AADSTS"+code+":") {
		t.Errorf("error_description %q, want AADSTS%s", desc, code)
	}
}

func TestAuthCodeFlowAssignmentPKCEAndIDToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 5, Groups: 3})
	e.admin()
	a := e.webApp("Web SSO", map[string]any{
		"groupMembershipClaims": "SecurityGroup",
		"optionalClaims":        map[string]any{"idToken": []any{map[string]any{"name": "email"}}},
	})
	if r := e.send(http.MethodPatch, e.graph("/servicePrincipals/"+a.spID), e.admin(), nil,
		map[string]any{"appRoleAssignmentRequired": true}); r.status != http.StatusNoContent {
		t.Fatalf("require assignment: %s", r)
	}
	b := e.browser()
	verifier, _ := pkce()

	// Not assigned: the refusal goes back to the app with the state.
	q := e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil)
	if q.Get("error") != "interaction_required" || q.Get("state") != "st-123" || q.Get("code") != "" {
		t.Fatalf("unassigned user: %v", q)
	}
	aadsts(t, q.Get("error_description"), "50105")

	// Assigned through a group it is a direct member of: signed in.
	uid := e.get("/users/"+e.info.UserUPN, nil)["id"].(string)
	grp := e.send(http.MethodPost, e.graph("/groups"), e.admin(), nil, map[string]any{"displayName": "SSO users",
		"mailEnabled": false, "mailNickname": "ssousers", "securityEnabled": true})
	gid := grp.json(t)["id"].(string)
	if err := e.srv.AddMember(gid, uid); err != nil {
		t.Fatal(err)
	}
	if r := e.send(http.MethodPost, e.graph("/servicePrincipals/"+a.spID+"/appRoleAssignedTo"), e.admin(), nil, map[string]any{
		"principalId": gid, "resourceId": a.spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}); r.status != http.StatusCreated {
		t.Fatalf("assign group: %s", r)
	}
	q = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil)
	code := q.Get("code")
	if code == "" || q.Get("state") != "st-123" {
		t.Fatalf("assigned user: %v", q)
	}

	// The code: wrong redirect URI, then no secret, then a wrong verifier
	// each burn it, as a single-use code does.
	if r := e.redeem(a, code, "https://app.contoso.com/other", verifier, a.secret); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "AADSTS500112") {
		t.Errorf("wrong redirect URI: %s", r)
	}
	if r := e.redeem(a, code, webRedirect, verifier, a.secret); !strings.Contains(string(r.body), "AADSTS54005") {
		t.Errorf("second redemption: %s", r)
	}
	code = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil).Get("code")
	if r := e.redeem(a, code, webRedirect, verifier, ""); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "AADSTS7000218") {
		t.Errorf("confidential client without secret: %s", r)
	}
	code = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil).Get("code")
	if r := e.redeem(a, code, webRedirect, verifier+"x", a.secret); !strings.Contains(string(r.body), "AADSTS501481") {
		t.Errorf("wrong verifier: %s", r)
	}
	code = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil).Get("code")
	if r := e.redeem(a, code, webRedirect, verifier, "not-the-secret"); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "AADSTS7000215") {
		t.Errorf("wrong secret: %s", r)
	}
	code = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil).Get("code")
	e.srv.ExpireAuthCodes()
	if r := e.redeem(a, code, webRedirect, verifier, a.secret); !strings.Contains(string(r.body), "AADSTS70008") {
		t.Errorf("expired code: %s", r)
	}

	code = e.signInAs(b, a.appID, webRedirect, e.info.UserUPN, nil).Get("code")
	r := e.redeem(a, code, webRedirect, verifier, a.secret)
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %s", r)
	}
	tok := r.json(t)
	c := claimsOf(t, tok["id_token"].(string))
	for k, want := range map[string]any{"aud": a.appID, "tid": e.info.TenantID, "oid": uid, "nonce": "n-456",
		"preferred_username": e.info.UserUPN, "iss": e.info.LoginURL + "/" + e.info.TenantID + "/v2.0", "ver": "2.0"} {
		if c[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, c[k], want)
		}
	}
	if c["email"] == nil || c["name"] == nil {
		t.Errorf("id_token lacks email or name: %v", c)
	}
	groups, _ := c["groups"].([]any)
	found := false
	for _, g := range groups {
		found = found || g == gid
	}
	if !found {
		t.Errorf("id_token groups %v lack %s", groups, gid)
	}
	if tok["refresh_token"] == nil {
		t.Errorf("offline_access asked, no refresh token: %v", tok)
	}
	if r := e.redeem(a, code, webRedirect, verifier, a.secret); !strings.Contains(string(r.body), "AADSTS54005") {
		t.Errorf("redeemed twice: %s", r)
	}
}

func TestAuthorizeNestedGroupDoesNotCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3, Groups: 2})
	a := e.webApp("Nested", nil)
	if r := e.send(http.MethodPatch, e.graph("/servicePrincipals/"+a.spID), e.admin(), nil,
		map[string]any{"appRoleAssignmentRequired": true}); r.status != http.StatusNoContent {
		t.Fatalf("require assignment: %s", r)
	}
	uid := e.get("/users/"+e.info.UserUPN, nil)["id"].(string)
	mk := func(name string) string {
		r := e.send(http.MethodPost, e.graph("/groups"), e.admin(), nil, map[string]any{"displayName": name,
			"mailEnabled": false, "mailNickname": name, "securityEnabled": true})
		return r.json(t)["id"].(string)
	}
	outer, inner := mk("outer"), mk("inner")
	if err := e.srv.AddMember(outer, inner); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddMember(inner, uid); err != nil {
		t.Fatal(err)
	}
	if r := e.send(http.MethodPost, e.graph("/servicePrincipals/"+a.spID+"/appRoleAssignedTo"), e.admin(), nil, map[string]any{
		"principalId": outer, "resourceId": a.spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}); r.status != http.StatusCreated {
		t.Fatalf("assign group: %s", r)
	}
	q := e.signInAs(e.browser(), a.appID, webRedirect, e.info.UserUPN, nil)
	aadsts(t, q.Get("error_description"), "50105")
	if r := e.send(http.MethodPost, e.graph("/servicePrincipals/"+a.spID+"/appRoleAssignedTo"), e.admin(), nil, map[string]any{
		"principalId": uid, "resourceId": a.spID, "appRoleId": "00000000-0000-0000-0000-000000000000"}); r.status != http.StatusCreated {
		t.Fatalf("assign user: %s", r)
	}
	if q := e.signInAs(e.browser(), a.appID, webRedirect, e.info.UserUPN, nil); q.Get("code") == "" {
		t.Errorf("directly assigned user refused: %v", q)
	}
}

func TestAuthorizeErrorPagesAndRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3, Groups: 1})
	a := e.webApp("Errors", nil)
	b := e.browser()
	for _, tc := range []struct {
		name, url, code string
	}{
		{"unknown app", e.authorizeURL("11111111-2222-3333-4444-555555555555", webRedirect, nil), "700016"},
		{"redirect not registered", e.authorizeURL(a.appID, "https://evil.example.net/cb", nil), "50011"},
		{"wrong tenant", strings.Replace(e.authorizeURL(a.appID, webRedirect, nil), e.info.TenantID, "fabrikam.onmicrosoft.com", 1), "90002"},
	} {
		r := b.get(tc.url)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "AADSTS"+tc.code+":") {
			t.Errorf("%s: want the error page with AADSTS%s, got %s", tc.name, tc.code, r)
		}
	}
	q := redirected(t, b.get(e.authorizeURL(a.appID, webRedirect, url.Values{"response_type": {"id_token"}})), webRedirect)
	if q.Get("error") != "unsupported_response_type" || q.Get("state") != "st-123" {
		t.Errorf("id_token not enabled: %v", q)
	}
	aadsts(t, q.Get("error_description"), "700054")
	if q.Get("error_uri") == "" {
		t.Errorf("no error_uri: %v", q)
	}

	uid := e.get("/users/"+e.info.UserUPN, nil)["id"].(string)
	if err := e.srv.DisableUser(uid); err != nil {
		t.Fatal(err)
	}
	page := b.get(e.authorizeURL(a.appID, webRedirect, nil))
	if r := b.submit(page, url.Values{"login": {e.info.UserUPN}}); r.status != http.StatusOK || !strings.Contains(string(r.body), "AADSTS50057") {
		t.Errorf("disabled user: %s", r)
	}
	page = b.get(e.authorizeURL(a.appID, webRedirect, nil))
	if r := b.submit(page, url.Values{"loginfmt": {"nobody@" + e.info.TenantDomain}}); r.status != http.StatusOK || !strings.Contains(string(r.body), "username may be incorrect") {
		t.Errorf("unknown user: %s", r)
	}
	q = redirected(t, b.get(e.authorizeURL(a.appID, webRedirect, url.Values{"prompt": {"none"}})), webRedirect)
	aadsts(t, q.Get("error_description"), "50058")
}

func TestAuthorizeConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3, Groups: 1})
	a := e.newApp("No consent")
	if r := e.send(http.MethodPatch, e.graph("/applications/"+a.id), e.admin(), nil,
		map[string]any{"web": map[string]any{"redirectUris": []any{webRedirect}}}); r.status != http.StatusNoContent {
		t.Fatalf("patch: %s", r)
	}
	b := e.browser()

	// The tenant does not allow user consent: "Need admin approval", and
	// the only way is back to the app.
	e.srv.SetFaults(sim.Faults{UserConsentBlocked: true})
	page := b.get(e.authorizeURL(a.appID, webRedirect, nil))
	page = b.submit(page, url.Values{"login": {e.info.UserUPN}})
	if !strings.Contains(string(page.body), "Need admin approval") || !strings.Contains(string(page.body), "AADSTS90094") {
		t.Fatalf("want the admin approval page, got %s", page)
	}
	q := redirected(t, b.submit(page, url.Values{"action": {"cancel"}}), webRedirect)
	if q.Get("error") != "access_denied" || q.Get("error_subcode") != "cancel" {
		t.Errorf("back without consent: %v", q)
	}
	aadsts(t, q.Get("error_description"), "65004")
	q = redirected(t, b.get(e.authorizeURL(a.appID, webRedirect, url.Values{"prompt": {"none"}, "login_hint": {e.info.UserUPN}})), webRedirect)
	if q.Get("error") != "login_required" {
		t.Errorf("prompt=none without a session: %v", q)
	}

	// User consent allowed: the consent page, accepted, gives a code.
	e.srv.SetFaults(sim.Faults{})
	page = b.get(e.authorizeURL(a.appID, webRedirect, url.Values{"response_mode": {"form_post"}}))
	page = b.submit(page, url.Values{"login": {e.info.UserUPN}})
	if !strings.Contains(string(page.body), "Permissions requested") {
		t.Fatalf("want the consent page, got %s", page)
	}
	post := b.submit(page, url.Values{"action": {"accept"}})
	m := formRe.FindSubmatch(post.body)
	if m == nil || html.UnescapeString(string(m[1])) != webRedirect || !strings.Contains(string(m[2]), `name="code"`) || !strings.Contains(string(m[2]), `value="st-123"`) {
		t.Errorf("form_post response: %s", post)
	}
}

func TestAuthorizePublicClientLoopbackAndAutoApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Users: 3, Groups: 1, Approve: "auto"})
	b := e.browser()
	// Auto approval: straight back to the app as the hinted user, on any
	// loopback port for a public client.
	redirect := "http://localhost:54321"
	q := redirected(t, b.get(e.authorizeURL(sim.GraphCLIToolsID, redirect, url.Values{"login_hint": {e.info.UserUPN}})), redirect)
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code: %v", q)
	}
	verifier, _ := pkce()
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {sim.GraphCLIToolsID}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_secret": {"x"}}
	if r := e.send(http.MethodPost, e.login("/oauth2/v2.0/token"), "", nil, v); !strings.Contains(string(r.body), "AADSTS700025") {
		t.Errorf("public client with a secret: %s", r)
	}
	code = redirected(t, b.get(e.authorizeURL(sim.GraphCLIToolsID, "http://127.0.0.1:61000/", nil)), "http://127.0.0.1:61000/").Get("code")
	v.Del("client_secret")
	v.Set("code", code)
	v.Set("redirect_uri", "http://127.0.0.1:61000/")
	r := e.send(http.MethodPost, e.login("/oauth2/v2.0/token"), "", nil, v)
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %s", r)
	}
	if c := claimsOf(t, r.json(t)["id_token"].(string)); c["preferred_username"] != e.info.AdminUPN {
		t.Errorf("without a hint the admin signs in, got %v", c["preferred_username"])
	}
	if r := b.get(e.authorizeURL(sim.GraphCLIToolsID, "https://localhost:54321", nil)); r.status != http.StatusOK || !strings.Contains(string(r.body), "AADSTS50011") {
		t.Errorf("https loopback is not a native redirect: %s", r)
	}
}
