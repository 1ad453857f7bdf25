package sim_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/internal/ci"
)

// fixtureDir holds the documented request/response examples; CI checks the
// repository out next to shared/.
const fixtureDir = "../../../shared/fixtures"

type fixtureFile struct {
	Operation  string           `json:"operation"`
	Examples   []fixtureExample `json:"examples"`
	DeviceCode []struct {
		Name, Type string
	} `json:"deviceAuthorizationResponseFields"`
}

type fixtureExample struct {
	Name    string `json:"name"`
	Request struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"request"`
	Response struct {
		Status  *int              `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
}

// fixtureCase says how to replay one example against the sim. The zero value
// replays it as written, as the admin.
type fixtureCase struct {
	// skip names a feature the sim does not model, so the example has no
	// counterpart here.
	skip string
	// gap is a known disagreement: the example runs, and the test says so
	// when it starts to agree.
	gap string
	// optional are keys the fixture shows that the sim may leave out; each
	// entry says why where it is used.
	optional []string
	// absent are top-level keys that must not be in the sim's answer.
	absent  []string
	headers map[string]string
	vars    map[string]string // replaced in the URL and body, on top of the file's
	token   string            // "app" (no permissions) instead of the admin
	before  func(w *world)
	after   func(w *world, body map[string]any)
	// form builds the body of an identity request the fixture leaves out.
	form func(w *world) url.Values
}

// world is the tenant one fixture file is replayed against.
type world struct {
	*env
	vars                map[string]string
	nextLink, deltaLink string
	app                 app
	graphSP             map[string]any
	userCode            string
}

func (w *world) roleID(value string) string {
	for _, r := range w.graphSP["appRoles"].([]any) {
		if m := r.(map[string]any); m["value"] == value {
			return m["id"].(string)
		}
	}
	w.t.Fatalf("no app role %s", value)
	return ""
}

// fixtureSetups prepare a file's tenant and the values its placeholders
// stand for.
var fixtureSetups = map[string]func(w *world){
	"graph-applications-addpassword.json": func(w *world) {
		w.app = w.newApp("Secret holder")
		w.vars["{id}"] = w.app.id
	},
	"graph-applications-removepassword.json": func(w *world) {
		w.app = w.newApp("Secret holder")
		w.vars["{id}"] = w.app.id
		w.vars["f0b0b335-1d71-4883-8f98-567911bfdca6"] = w.app.keyID
	},
	"graph-applications-update.json": func(w *world) {
		w.app = w.newApp("To rename")
		w.vars["{id}"] = w.app.id
	},
	"graph-applications-list.json": func(w *world) {
		w.newApp("Alpha Web App")
		w.newApp("Beta Service")
	},
	"graph-applications-delta.json": func(w *world) {
		w.newApp("Alpha Web App")
		w.newApp("Beta Service")
	},
	"graph-serviceprincipals-post.json": func(w *world) {
		r := w.send(http.MethodPost, w.graph("/applications"), w.admin(), nil, map[string]any{"displayName": "No SP yet"})
		w.vars["65415bb1-9267-4313-bbf5-ae259732ee12"] = r.json(w.t)["appId"].(string)
	},
	"graph-serviceprincipals-get.json": func(w *world) {
		w.app = w.newApp("My app")
		w.vars["00063ffc-54e9-405d-b8f3-56124728e051"] = w.app.spID
		w.vars["7408235b-7540-4850-82fe-a5f15ed019e2"] = w.graphSP["id"].(string)
	},
	"graph-serviceprincipals-approleassignedto-post.json": func(w *world) {
		w.app = w.newApp("Daemon")
		w.vars["9028d19c-26a9-4809-8e3f-20ff73e2d75e"] = w.graphSP["id"].(string)
		w.vars["33ad69f9-da99-4bed-acd0-3f24235cb296"] = w.app.spID
		w.vars["ef7437e6-4f94-4a0a-a110-a439eb2aa8f7"] = w.roleID("User.Read.All")
	},
	"graph-oauth2permissiongrants-post.json": func(w *world) {
		w.app = w.newApp("Delegated client")
		w.vars["ef969797-201d-4f6b-960c-e9ed5f31dab5"] = w.app.spID
		w.vars["943603e4-e787-4fe9-93d1-e30f749aae39"] = w.graphSP["id"].(string)
	},
	"graph-organization-get.json": func(w *world) {
		w.vars["dcd219dd-bc68-4b9b-bf0b-4a33a796be35"] = w.info.TenantID
	},
	"graph-groups-members-add.json": func(w *world) {
		team, _ := w.srv.GroupID("Sales Team 1")
		w.vars["{group-id}"] = team
		w.vars["{id}"] = w.srv.UserIDs()[3] // in Marketing Team 2, not in this one
	},
	"graph-groups-transitivemembers-list.json": func(w *world) {
		nested, _ := w.srv.GroupID("Legal Team 5") // holds Operations Team 4
		w.vars["{id}"] = nested
		w.vars["02bd9fd6-8f93-4758-87c3-1fb73740a315"] = nested
	},
	"graph-errors.json": func(w *world) {
		w.vars["1f953789-0000-0000-0000-6f21508fd4e2"] = w.srv.UserIDs()[1]
		w.vars["{any}"] = "users"
	},
	"graph-users-delta.json": func(w *world) {
		// A deleted user, so the round has an @removed item as the doc's does.
		w.srv.DeleteUser(w.srv.UserIDs()[5])
	},
	"identity-clientcredentials.json": func(w *world) {
		w.app = w.newApp("Daemon")
		w.vars["535fb089-9ff3-47b6-9bfb-4f1264799865"] = w.app.appID
		w.vars["sampleCredentials"] = w.app.secret
	},
	"identity-devicecode.json": func(w *world) {
		// The doc's client is an app of its own; the public client here is
		// the Graph command-line tools.
		w.vars["535fb089-9ff3-47b6-9bfb-4f1264799865"] = sim.GraphCLIToolsID
	},
	"identity-errors.json": func(w *world) { w.app = w.newApp("Daemon") },
	"graph-groups-post.json": func(w *world) {
		// The doc's owners and members are users of its own tenant.
		ids := w.srv.UserIDs()
		w.vars["26be1845-4119-4801-a799-aea79d09f1a2"] = ids[0]
		w.vars["ff7cb387-6688-423c-8188-3da9532a73cc"] = ids[1]
		w.vars["69456242-0067-49d3-ba96-9de6f2728e14"] = ids[2]
		w.vars["99e44b05-c10b-4e95-a523-e2732bbaba1e"] = ids[0]
		w.vars["6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"] = ids[1]
		w.vars["4562bcc8-c436-4f95-b7c0-4f8ce89dca5e"] = ids[2]
	},
	"identity-refreshtoken.json": func(w *world) {
		w.admin()
		w.vars["00001111-aaaa-2222-bbbb-3333cccc4444"] = sim.GraphCLIToolsID
		w.vars["OAAABAAAAiL9Kn2Z27UubvWFPbm0gLWQJVzCTE9UkP3pSx1aXxUjq..."] = w.tok["refresh_token"].(string)
		// Mail.Read is not among the permissions the sim knows.
		w.vars["https://graph.microsoft.com/mail.read"] = "https://graph.microsoft.com/User.Read"
	},
}

// deltaPages and groupPages make the small tenants page as the doc's large
// ones do: three pages to a round.
var (
	deltaPages = map[string]string{"Prefer": "odata.maxpagesize=2"}
	groupPages = map[string]string{"Prefer": "odata.maxpagesize=3"}
)

// fixtureCases are the examples that need more than replaying, keyed by
// file and index.
var fixtureCases = map[string]fixtureCase{
	// Delta: three pages per round (nextLink, nextLink, deltaLink), then the
	// deltaLink twice, before and after changes.
	"graph-users-delta.json#0": {headers: deltaPages},
	"graph-users-delta.json#1": {headers: deltaPages},
	"graph-users-delta.json#2": {headers: map[string]string{"Prefer": "return=minimal, odata.maxpagesize=2"}},
	"graph-users-delta.json#3": {headers: deltaPages},
	"graph-users-delta.json#4": {headers: deltaPages},
	"graph-users-delta.json#5": {headers: deltaPages},
	"graph-users-delta.json#7": {before: func(w *world) {
		ids := w.srv.UserIDs()
		w.srv.RenameUser(ids[2], "MOD Administrator")
		w.srv.DeleteUser(ids[3])
	}},
	"graph-groups-delta.json#0": {headers: groupPages},
	"graph-groups-delta.json#1": {headers: groupPages},
	"graph-groups-delta.json#2": {headers: map[string]string{"Prefer": "return=minimal, odata.maxpagesize=3"}},
	"graph-groups-delta.json#3": {headers: groupPages},
	"graph-groups-delta.json#4": {headers: groupPages},
	"graph-groups-delta.json#5": {headers: groupPages},
	"graph-groups-delta.json#7": {before: func(w *world) {
		team, _ := w.srv.GroupID("Sales Team 1")
		ids := w.srv.UserIDs()
		w.srv.RemoveMember(team, ids[2])
		w.srv.AddMember(team, ids[4])
	}},
	// The pre-release property names of this old revision are not v1.0
	// (the fixture's own note); only the envelope counts. A small tenant
	// fits on one page, so the first page may carry the deltaLink.
	// The example is in a pre-release schema (its own note), and entrawiz
	// never asks for application changes: the sim answers 501.
	"graph-applications-delta.json#0": {skip: "applications/delta is not served; entrawiz does not use it"},
	"graph-applications-list.json#4":  {skip: "$count inside $filter (owners/$count) is not modelled"},

	"graph-users-list.json#1": {skip: "identities (B2C sign-in names) are not modelled"},
	// mailNickname is not a default property of user-list.md's own list;
	// the example shows it without $select.
	"graph-users-list.json#3":  {optional: []string{"mailNickname"}},
	"graph-users-list.json#8":  {skip: "licenses (assignedLicenses) are not modelled"},
	"graph-users-list.json#9":  {skip: "signInActivity (Entra ID P1/P2, AuditLog.Read.All) is not modelled"},
	"graph-groups-list.json#1": {skip: "licenses (hasMembersWithLicenseErrors) are not modelled"},
	"graph-groups-list.json#6": {skip: "licenses (assignedLicenses) and $expand=members on lists are not modelled"},
	// Advanced-query results "can carry" @odata.id (FACTS, group-list.md
	// ex. 6); the other keys are beta properties the example shows.
	"graph-groups-post.json#1": {optional: []string{"@odata.id"}},
	"graph-groups-post.json#2": {optional: []string{"@odata.id", "createdByAppId", "organizationId", "infoCatalogs",
		"isManagementRestricted", "writebackConfiguration"}},
	"graph-groups-transitivemembers-list.json#2": {optional: []string{"@odata.id", "organizationId"}},
	"graph-groups-members-add.json#1":            {gap: "bulk add by PATCH /groups/{id} with members@odata.bind is not served (405)"},

	// The doc examples are on /beta; the same request on v1.0 is the one
	// the sim serves.
	"graph-errors.json#2": {vars: map[string]string{"/beta/": "/v1.0/"}},
	"graph-errors.json#3": {vars: map[string]string{"/beta/": "/v1.0/"},
		gap: "the sim accepts $filter on group createdDateTime; the doc shows it rejected as not indexed"},
	"graph-errors.json#4": {absent: []string{"@odata.count"}},
	"graph-errors.json#6": {gap: "$expand is ignored on /me instead of answering ExpandNotSupported"},
	"graph-errors.json#7": {
		before: func(w *world) { w.srv.SetFaults(sim.Faults{ThrottleEvery: 1, RetryAfter: 2128 * time.Millisecond}) },
		after:  func(w *world, _ map[string]any) { w.srv.SetFaults(sim.Faults{}) },
	},
	// Insufficient privileges: an app-only caller with no permissions.
	"graph-errors.json#8": {token: "app"},

	"identity-clientcredentials.json#1": {skip: "certificate credentials (client_assertion) are not modelled; entrawiz uses secrets"},
	"identity-clientcredentials.json#2": {form: func(w *world) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {w.app.appID},
			"client_secret": {w.app.secret}, "scope": {"https://foo.microsoft.com/.default"}}
	}},
	"identity-errors.json#0": {form: func(w *world) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {w.app.appID},
			"client_secret": {w.app.secret}, "scope": {"https://example.contoso.com/activity.read"}}
	}},
	"identity-devicecode.json#0": {after: func(w *world, body map[string]any) {
		w.userCode, _ = body["user_code"].(string)
		w.vars["GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8..."], _ = body["device_code"].(string)
	}},
	// The doc's example returns a refresh token to a request without
	// offline_access; its own table (and FACTS) says one is issued only when
	// offline_access is asked for, which is what the sim follows.
	"identity-devicecode.json#1": {optional: []string{"refresh_token"}, before: func(w *world) {
		if err := w.srv.ApproveDeviceCode(w.userCode, w.info.AdminUPN); err != nil {
			w.t.Fatalf("approve: %v", err)
		}
	}},
}

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no *.json files")
	}
	if err != nil {
		if ci.Running() {
			t.Fatalf("fixtures in %s: %v (CI checks shared/ out next to the repository)", fixtureDir, err)
		}
		t.Skipf("fixtures in %s: %v", fixtureDir, err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var f fixtureFile
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			w := &world{env: newEnv(t, sim.Options{Users: 4, Groups: 6}), vars: map[string]string{}}
			w.graphSP = w.get("/servicePrincipals(appId='"+sim.GraphAppID+"')", nil)
			w.vars["{tenant}"] = w.info.TenantID
			if setup := fixtureSetups[name]; setup != nil {
				setup(w)
			}
			for i, ex := range f.Examples {
				key := fmt.Sprintf("%s#%d", name, i)
				t.Run(fmt.Sprintf("%d %s", i, ex.Name), func(t *testing.T) {
					c := fixtureCases[key]
					if c.skip != "" {
						t.Skip("not modelled: " + c.skip)
					}
					ww := *w
					ww.env = w.with(t)
					errs := replay(&ww, f, ex, c)
					w.nextLink, w.deltaLink, w.userCode = ww.nextLink, ww.deltaLink, ww.userCode
					switch {
					case c.gap != "" && len(errs) == 0:
						t.Errorf("%s now agrees with the fixture: drop the known gap %q", key, c.gap)
					case c.gap != "":
						t.Skipf("known gap: %s\n%s", c.gap, strings.Join(errs, "\n"))
					}
					for _, e := range errs {
						t.Error(e)
					}
				})
			}
		})
	}
}

// replay sends the example's request to the sim and returns every way the
// answer differs from the documented one.
func replay(w *world, f fixtureFile, ex fixtureExample, c fixtureCase) []string {
	t := w.t
	vars := map[string]string{}
	for k, v := range w.vars {
		vars[k] = v
	}
	for k, v := range c.vars {
		vars[k] = v
	}
	subst := func(s string) string {
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, k := range keys {
			s = strings.ReplaceAll(s, k, vars[k])
		}
		return s
	}
	if c.before != nil {
		c.before(w)
	}

	target := subst(ex.Request.URL)
	isLogin := !strings.HasPrefix(target, "/v1.0/") && !strings.HasPrefix(target, "/beta/")
	path, rawQuery, _ := strings.Cut(target, "?")
	q := url.Values{}
	for _, kv := range strings.Split(rawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dec, err := url.QueryUnescape(v); err == nil {
			v = dec
		}
		q.Add(k, v)
	}
	var u string
	switch {
	case q.Has("$skiptoken"):
		u = w.nextLink // tokens are the sim's own: follow its links
	case q.Has("$deltatoken"):
		u = w.deltaLink
	case isLogin:
		u = w.info.LoginURL + path
	default:
		u = w.info.GraphURL + strings.TrimPrefix(path, "/v1.0") + "?" + strings.ReplaceAll(q.Encode(), "%24", "$")
	}
	if u == "" {
		return []string{"no link from an earlier example to follow for " + ex.Request.URL}
	}
	u = strings.TrimSuffix(u, "?")

	hdr := map[string]string{}
	for k, v := range ex.Request.Headers {
		if !strings.EqualFold(k, "Content-Type") {
			hdr[k] = v
		}
	}
	for k, v := range c.headers {
		hdr[k] = v
	}
	var body any
	switch {
	case c.form != nil:
		body = c.form(w)
	case len(ex.Request.Body) > 0 && string(ex.Request.Body) != "null":
		raw := subst(string(ex.Request.Body))
		if isLogin {
			var m map[string]string
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				t.Fatalf("form body: %v", err)
			}
			form := url.Values{}
			for k, v := range m {
				form.Set(k, v)
			}
			body = form
		} else {
			body = []byte(raw)
			hdr["Content-Type"] = "application/json"
		}
	}
	token := ""
	if !isLogin {
		token = w.admin()
		if c.token == "app" {
			token = w.appToken(w.newApp("No permissions"))
		}
	}
	r := w.send(ex.Request.Method, u, token, hdr, body)

	var errs []string
	failf := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	want := ex.Response
	fixtureBody := any(nil)
	if len(want.Body) > 0 {
		json.Unmarshal(want.Body, &fixtureBody)
	}
	fixtureErr := false
	if m, ok := fixtureBody.(map[string]any); ok {
		_, fixtureErr = m["error"]
	}
	switch {
	case want.Status != nil && r.status != *want.Status:
		failf("status %d, fixture %d: %s", r.status, *want.Status, clip(r.body))
	case want.Status == nil && fixtureErr && (r.status < 400 || r.status > 499):
		failf("status %d, fixture shows an error (status not documented, 4xx expected): %s", r.status, clip(r.body))
	}
	for k, v := range want.Headers {
		got := r.header.Get(k)
		if strings.EqualFold(k, "Content-Type") {
			wantType, _, _ := mime.ParseMediaType(v)
			gotType, _, _ := mime.ParseMediaType(got)
			if wantType != gotType {
				failf("Content-Type %q, fixture %q", got, v)
			}
		} else if got == "" {
			failf("header %s missing (fixture: %q)", k, v)
		}
	}

	var gotBody map[string]any
	switch fb := fixtureBody.(type) {
	case nil:
		if want.Status != nil && *want.Status == http.StatusNoContent && len(r.body) != 0 {
			failf("204 with a body: %s", clip(r.body))
		}
		if len(f.DeviceCode) > 0 && ex.Request.Method == http.MethodPost && strings.HasSuffix(path, "/devicecode") {
			gotBody = decodeObject(r.body, failf)
			for _, field := range f.DeviceCode {
				v, ok := gotBody[field.Name]
				switch {
				case !ok:
					failf("device authorization response lacks %s", field.Name)
				case field.Type == "int":
					if n, isNum := v.(float64); !isNum || n != float64(int(n)) {
						failf("%s = %v, want an integer", field.Name, v)
					}
				default:
					if _, isStr := v.(string); !isStr {
						failf("%s = %v, want a string", field.Name, v)
					}
				}
			}
		}
	case string:
		if _, err := strconv.Atoi(strings.TrimSpace(string(r.body))); err != nil {
			failf("body %q, fixture a bare integer like %q", clip(r.body), fb)
		}
	case map[string]any:
		gotBody = decodeObject(r.body, failf)
		if gotBody == nil {
			break
		}
		optional := map[string]bool{}
		for _, k := range c.optional {
			optional[k] = true
		}
		for _, d := range shapeDiff(fb, gotBody, "", optional) {
			failf("%s", d)
		}
		for _, k := range c.absent {
			if _, ok := gotBody[k]; ok {
				failf("%s present, the documented answer leaves it out", k)
			}
		}
		if fixtureErr && !isLogin {
			if len(errs) == 0 {
				graphError(t, r)
			}
		}
		_, next := fb["@odata.nextLink"]
		_, delta := fb["@odata.deltaLink"]
		if next || delta {
			n, _ := gotBody["@odata.nextLink"].(string)
			d, _ := gotBody["@odata.deltaLink"].(string)
			if (n == "") == (d == "") {
				failf("a delta page needs exactly one of @odata.nextLink and @odata.deltaLink")
			}
		}
	}
	if gotBody != nil {
		if n, _ := gotBody["@odata.nextLink"].(string); n != "" {
			w.nextLink = n
		}
		if d, _ := gotBody["@odata.deltaLink"].(string); d != "" {
			w.deltaLink = d
		}
	}
	if c.after != nil {
		c.after(w, gotBody)
	}
	return errs
}
