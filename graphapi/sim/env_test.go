package sim_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// adminScopes are the delegated permissions the tests sign the admin in with.
const adminScopes = "User.Read.All Group.ReadWrite.All Application.ReadWrite.All " +
	"AppRoleAssignment.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All Directory.Read.All Domain.Read.All " +
	"Organization.Read.All openid profile offline_access"

// env is one simulated tenant and a client that trusts it.
type env struct {
	t    testing.TB
	srv  *sim.Server
	info sim.Info
	hc   *http.Client
	tok  map[string]any // the admin's token response
}

func newEnv(t testing.TB, opts sim.Options) *env {
	t.Helper()
	srv, err := sim.Start(opts)
	if err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	info := srv.Info()
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", info.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, srv: srv, info: info, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// with returns the tenant for a subtest, so failures stop the subtest.
func (e *env) with(t testing.TB) *env {
	e.admin()
	c := *e
	c.t = t
	return &c
}

// resp is a response read in full.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return m
}

func (r *resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// send performs a request; a non-nil body that is not []byte or url.Values
// is sent as JSON.
func (e *env) send(method, u, token string, hdr map[string]string, body any) *resp {
	e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatalf("request %s %s: %v", method, u, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", method, u, err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// graph is the absolute URL of a Graph path such as "/users".
func (e *env) graph(path string) string { return e.info.GraphURL + path }

// login is the absolute URL of an identity path such as "/oauth2/v2.0/token".
func (e *env) login(path string) string { return e.info.LoginURL + "/" + e.info.TenantID + path }

// get GETs a Graph URL (absolute, or a path) as the admin and wants 200.
func (e *env) get(u string, hdr map[string]string) map[string]any {
	e.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = e.graph(u)
	}
	r := e.send(http.MethodGet, u, e.admin(), hdr, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %s", u, r)
	}
	return r.json(e.t)
}

// deviceCode signs upn in with the device-code flow, approved through the
// control API, and returns the token response.
func (e *env) deviceCode(upn, clientID, scope string) map[string]any {
	e.t.Helper()
	r := e.send(http.MethodPost, e.login("/oauth2/v2.0/devicecode"), "", nil,
		url.Values{"client_id": {clientID}, "scope": {scope}})
	if r.status != http.StatusOK {
		e.t.Fatalf("devicecode: %s", r)
	}
	dc := r.json(e.t)
	if err := e.srv.ApproveDeviceCode(dc["user_code"].(string), upn); err != nil {
		e.t.Fatalf("approve: %v", err)
	}
	r = e.send(http.MethodPost, e.login("/oauth2/v2.0/token"), "", nil, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {clientID},
		"device_code": {dc["device_code"].(string)},
	})
	if r.status != http.StatusOK {
		e.t.Fatalf("token: %s", r)
	}
	return r.json(e.t)
}

// admin returns the Global Administrator's delegated Graph token.
func (e *env) admin() string {
	e.t.Helper()
	if e.tok == nil {
		e.tok = e.deviceCode(e.info.AdminUPN, sim.GraphCLIToolsID, adminScopes)
	}
	return e.tok["access_token"].(string)
}

// app is an application registered through Graph, with a service principal
// and a client secret.
type app struct {
	id, appID, spID, secret, keyID string
}

// newApp registers an application as the admin and grants it the
// Microsoft Graph application permissions named in roles.
func (e *env) newApp(name string, roles ...string) app {
	e.t.Helper()
	tok := e.admin()
	must := func(r *resp, want int, what string) map[string]any {
		e.t.Helper()
		if r.status != want {
			e.t.Fatalf("%s: want %d, got %s", what, want, r)
		}
		if len(r.body) == 0 {
			return nil
		}
		return r.json(e.t)
	}
	a := must(e.send(http.MethodPost, e.graph("/applications"), tok, nil, map[string]any{"displayName": name}),
		http.StatusCreated, "create application")
	out := app{id: a["id"].(string), appID: a["appId"].(string)}
	sp := must(e.send(http.MethodPost, e.graph("/servicePrincipals"), tok, nil, map[string]any{"appId": out.appID}),
		http.StatusCreated, "create service principal")
	out.spID = sp["id"].(string)
	pw := must(e.send(http.MethodPost, e.graph("/applications/"+out.id+"/addPassword"), tok, nil,
		map[string]any{"passwordCredential": map[string]any{"displayName": "test"}}), http.StatusOK, "addPassword")
	out.secret, out.keyID = pw["secretText"].(string), pw["keyId"].(string)
	if len(roles) > 0 {
		graphSP := e.get("/servicePrincipals(appId='"+sim.GraphAppID+"')", nil)
		for _, role := range roles {
			roleID := ""
			for _, r := range graphSP["appRoles"].([]any) {
				if m := r.(map[string]any); m["value"] == role {
					roleID = m["id"].(string)
				}
			}
			if roleID == "" {
				e.t.Fatalf("Microsoft Graph has no app role %s", role)
			}
			must(e.send(http.MethodPost, e.graph("/servicePrincipals/"+graphSP["id"].(string)+"/appRoleAssignedTo"), tok, nil,
				map[string]any{"principalId": out.spID, "resourceId": graphSP["id"], "appRoleId": roleID}),
				http.StatusCreated, "grant "+role)
		}
	}
	return out
}

// appToken gets an app-only Graph token with client credentials.
func (e *env) appToken(a app) string {
	e.t.Helper()
	r := e.send(http.MethodPost, e.login("/oauth2/v2.0/token"), "", nil, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {a.appID}, "client_secret": {a.secret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if r.status != http.StatusOK {
		e.t.Fatalf("client credentials: %s", r)
	}
	return r.json(e.t)["access_token"].(string)
}

// eventual is the header advanced queries need.
var eventual = map[string]string{"ConsistencyLevel": "eventual"}

// values returns the value array of a collection response.
func values(t testing.TB, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// graphError checks the documented error envelope and returns error.code.
func graphError(t testing.TB, r *resp) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error struct {
			Code       string         `json:"code"`
			Message    string         `json:"message"`
			InnerError map[string]any `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body: %v\n%s", err, r.body)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Errorf("error without code or message: %s", r.body)
	}
	if id, _ := body.Error.InnerError["request-id"].(string); id == "" {
		t.Errorf("error without innerError.request-id: %s", r.body)
	}
	return body.Error.Code
}
