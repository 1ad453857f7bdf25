package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// principal is who a Graph request acts as, from its access token.
type principal struct {
	app    bool            // app-only (client credentials)
	oid    string          // user id (delegated) or service principal id (app-only)
	appID  string          // the calling client
	scopes map[string]bool // delegated permissions, lower case
	roles  map[string]bool // application permissions, lower case
}

// access is what an operation needs: any one of the delegated scopes (and,
// for delegated calls, one of the directory roles when dirRoles is set), or
// any one of the application permissions.
type access struct {
	scopes   []string
	appRoles []string
	dirRoles []string // role template IDs; empty: any member user may
}

// gctx is one Graph request being answered.
type gctx struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	p   *principal
	seg []string // path segments after /v1.0
	q   query
}

func (s *Server) graphMux() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version: "+strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0])
			return
		}
		if r.URL.Path == "/v1.0/$batch" && r.Method == http.MethodPost {
			// Graph throttles a batch's requests one by one (each gets its
			// own 429), so the envelope is not on the fault schedule.
			if _, ok := s.authenticate(w, r); ok {
				s.serveBatch(w, r)
			}
			return
		}
		s.graphItem(w, r)
	})
}

// graphItem answers one Graph request, alone or as part of a batch.
func (s *Server) graphItem(w http.ResponseWriter, r *http.Request) {
	if s.injectFault(w, r) {
		return
	}
	p, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	q, err := parseQuery(r)
	if err != nil {
		writeGraphError(w, r, http.StatusBadRequest, err.code, err.msg)
		return
	}
	c := &gctx{s: s, w: w, r: r, p: p, seg: strings.Split(strings.TrimSuffix(r.URL.Path[len("/v1.0/"):], "/"), "/"), q: q}
	s.route(c)
}

// injectFault answers with a 429 or 503 on the configured schedule.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.seq++
	n, f := s.seq, s.faults
	s.mu.Unlock()
	retryAfter := f.RetryAfter
	if retryAfter == 0 {
		retryAfter = time.Second
	}
	ra := strconv.FormatFloat(retryAfter.Seconds(), 'f', -1, 64)
	switch {
	case f.ThrottleEvery > 0 && n%uint64(f.ThrottleEvery) == 0:
		w.Header().Set("Retry-After", ra)
		w.Header().Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/"+s.dir.tenantID)
		w.Header().Set("x-ms-throttle-information", "ResourceUnitLimitExceeded")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"code":    "TooManyRequests",
			"message": "Please retry again later.",
			"innerError": map[string]any{"code": "429", "date": time.Now().UTC().Format("2006-01-02T15:04:05"),
				"message": "Please retry after", "request-id": w.Header().Get("request-id"), "status": "429"},
		}})
		return true
	case f.ServerErrorEvery > 0 && n%uint64(f.ServerErrorEvery) == 0:
		w.Header().Set("Retry-After", ra)
		writeGraphError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		return true
	}
	return false
}

// authenticate validates the bearer token as Graph does: signature, audience,
// lifetime, tenant.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || len(auth) == len("Bearer ") {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return nil, false
	}
	claims, err := s.keys.verify(strings.TrimPrefix(auth, "Bearer "))
	if err != nil {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid signature.")
		return nil, false
	}
	if aud, _ := claims["aud"].(string); aud != GraphResource && aud != GraphAppID && aud != GraphResource+"/" {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return nil, false
	}
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(s.now()) {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return nil, false
	}
	if tid, _ := claims["tid"].(string); tid != s.dir.tenantID {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer.")
		return nil, false
	}
	p := &principal{scopes: map[string]bool{}, roles: map[string]bool{}}
	p.oid, _ = claims["oid"].(string)
	p.appID, _ = claims["appid"].(string)
	if typ, _ := claims["idtyp"].(string); typ == "app" {
		p.app = true
		if rs, ok := claims["roles"].([]any); ok {
			for _, r := range rs {
				if v, ok := r.(string); ok {
					p.roles[strings.ToLower(v)] = true
				}
			}
		}
	} else {
		scp, _ := claims["scp"].(string)
		for _, v := range strings.Fields(scp) {
			p.scopes[strings.ToLower(v)] = true
		}
	}
	return p, true
}

// allowed checks the caller against what the operation needs and writes the
// 403 Graph returns when it falls short.
func (c *gctx) allowed(a access) bool {
	if c.p.app {
		for _, r := range a.appRoles {
			if c.p.roles[strings.ToLower(r)] {
				return true
			}
		}
	} else {
		hasScope := false
		for _, sc := range a.scopes {
			if c.p.scopes[strings.ToLower(sc)] {
				hasScope = true
			}
		}
		if hasScope && len(a.dirRoles) == 0 {
			return true
		}
		if hasScope {
			c.s.dir.mu.RLock()
			held := c.s.dir.rolesOf(c.p.oid)
			c.s.dir.mu.RUnlock()
			for _, r := range a.dirRoles {
				if held[r] {
					return true
				}
			}
		}
	}
	c.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

func (c *gctx) fail(status int, code, msg string) {
	writeGraphError(c.w, c.r, status, code, msg)
}

func (c *gctx) notFound(id string) {
	c.fail(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func (c *gctx) badRequest(msg string) { c.fail(http.StatusBadRequest, "Request_BadRequest", msg) }

func (c *gctx) methodNotAllowed() {
	c.fail(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// body decodes the JSON request body into v; false after answering 400.
func (c *gctx) body(v any) bool {
	if ct := c.r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.fail(http.StatusUnsupportedMediaType, "BadRequest", "A supported MIME type could not be found that matches the content type of the response. None of the supported type(s) 'application/json' matches the content type '"+ct+"'.")
		return false
	}
	b, err := io.ReadAll(c.r.Body)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		c.badRequest("Invalid request body: the JSON could not be parsed.")
		return false
	}
	return true
}

// base is the service root clients see in links: this server's /v1.0.
func (c *gctx) base() string { return c.s.info.GraphURL }

func (c *gctx) context(set string) string {
	if len(c.q.sel) > 0 {
		set += "(" + strings.Join(c.q.sel, ",") + ")"
	}
	return c.base() + "/$metadata#" + set
}

func (c *gctx) entity(status int, set string, props map[string]any) {
	out := map[string]any{"@odata.context": c.context(set) + "/$entity"}
	for k, v := range c.q.project(props) {
		out[k] = v
	}
	writeGraphJSON(c.w, status, out)
}

func (c *gctx) noContent() { c.w.WriteHeader(http.StatusNoContent) }

func (c *gctx) now() time.Time { return c.s.now() }

// route dispatches on the first path segment.
func (s *Server) route(c *gctx) {
	head, key := splitKey(c.seg[0])
	switch head {
	case "applications":
		c.applications(key)
	case "servicePrincipals":
		c.servicePrincipals(key)
	case "oauth2PermissionGrants":
		c.oauth2PermissionGrants()
	case "organization":
		c.organization()
	case "domains":
		c.domains()
	case "me":
		c.me()
	case "users":
		c.users()
	case "groups":
		c.groups()
	case "directoryRoles":
		c.directoryRoles()
	case "policies":
		c.policies()
	default:
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[0]))
	}
}

// splitKey splits an alternate-key segment such as servicePrincipals(appId='x')
// into "servicePrincipals" and "x".
func splitKey(seg string) (string, string) {
	i := strings.Index(seg, "(")
	if i < 0 || !strings.HasSuffix(seg, ")") {
		return seg, ""
	}
	inner := seg[i+1 : len(seg)-1]
	if k, v, ok := strings.Cut(inner, "="); ok && k == "appId" {
		return seg[:i], strings.Trim(v, "'")
	}
	return seg[:i], strings.Trim(inner, "'")
}

// isCast reports whether a segment is an OData type cast to typ, in any of the
// spellings Graph accepts.
func isCast(seg, typ string) bool {
	return seg == "microsoft.graph."+typ || seg == "graph."+typ
}

// isFunction reports whether a segment calls the bound function name, e.g.
// delta, delta(), microsoft.graph.delta().
func isFunction(seg, name string) bool {
	seg = strings.TrimSuffix(seg, "()")
	return seg == name || seg == "microsoft.graph."+name || seg == "graph."+name
}
