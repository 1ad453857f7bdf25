package sim

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The authorization endpoint: the OAuth 2.0 authorization code flow with
// PKCE and OpenID Connect, as the Microsoft identity platform documents it
// (v2-oauth2-auth-code-flow, v2-protocols-oidc). Errors that come before the
// redirect URI is known to belong to the app (unknown app, unregistered
// redirect URI) show on the tenant's own error page; every later one goes
// back to the app's redirect URI with error, error_description, error_uri
// and state.

// authCodeLifetime is how long an authorization code can be redeemed; the
// platform documents codes as short lived, about ten minutes.
const authCodeLifetime = 10 * time.Minute

// authState is the sign-ins in progress and the codes not yet redeemed. Its
// zero value is ready to use.
type authState struct {
	mu       sync.Mutex
	requests map[string]*authRequest // sign-ins waiting on the pages, by id
	codes    map[string]*authCode
	// consents are what users consented to on the consent page for apps
	// of the tenant, by "clientID/userID" (Entra records them as the
	// user's own delegated grant).
	consents map[string][]string
}

// authRequest is one validated /authorize request.
type authRequest struct {
	id                      string
	tid                     string
	clientID, appName       string
	redirectURI             string
	platform                string // web, spa, publicClient, or firstParty
	responseMode            string // query or form_post
	state, nonce, prompt    string
	loginHint               string
	challenge, method       string
	scopes                  []string // as requested, without offline_access
	offline, openid         bool
	spID                    string // the app's service principal in this tenant ("" if none)
	firstParty              bool
	expires                 time.Time
	userID                  string // once signed in on the page
	groupClaims, emailClaim string
}

// authCode is an issued authorization code.
type authCode struct {
	req      authRequest
	userID   string
	expires  time.Time
	redeemed bool
}

func (a *authState) put(r *authRequest) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.requests == nil {
		a.requests = map[string]*authRequest{}
	}
	a.requests[r.id] = r
}

func (a *authState) get(id string, now time.Time) *authRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.requests[id]
	if r == nil || now.After(r.expires) {
		return nil
	}
	cp := *r
	return &cp
}

func (a *authState) done(id string) {
	a.mu.Lock()
	delete(a.requests, id)
	a.mu.Unlock()
}

func (a *authState) issue(r *authRequest, userID string, now time.Time) string {
	code := randomToken(96)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.codes == nil {
		a.codes = map[string]*authCode{}
	}
	a.codes[code] = &authCode{req: *r, userID: userID, expires: now.Add(authCodeLifetime)}
	return code
}

// isLoopback reports whether u is an http URI on the loopback interface,
// the redirect native apps use (RFC 8252 section 7.3).
func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	return u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "[::1]" || h == "::1")
}

// redirectMatches reports whether the requested redirect URI is the
// registered one. For loopback URIs of public (mobile and desktop) clients
// the port is ignored, so a native app can listen on any free port.
func redirectMatches(registered, requested string, anyPort bool) bool {
	if registered == requested {
		return true
	}
	if !anyPort {
		return false
	}
	ru, err1 := url.Parse(registered)
	qu, err2 := url.Parse(requested)
	if err1 != nil || err2 != nil || !isLoopback(ru) || !isLoopback(qu) {
		return false
	}
	return ru.Hostname() == qu.Hostname() && strings.TrimSuffix(ru.Path, "/") == strings.TrimSuffix(qu.Path, "/") && ru.RawQuery == qu.RawQuery
}

// appForSignIn finds the app a sign-in names and where the redirect URI is
// registered; platform is "" when it is not registered.
func (s *Server) appForSignIn(clientID, redirectURI string) (found bool, req authRequest) {
	req.clientID = clientID
	if clientID == GraphCLIToolsID {
		// A first-party public client: native loopback redirects, any port.
		u, err := url.Parse(redirectURI)
		req.appName, req.firstParty = "Microsoft Graph Command Line Tools", true
		if err == nil && isLoopback(u) {
			req.platform = "firstParty"
		}
		d := s.dir
		d.mu.RLock()
		if sp := d.spByAppID(clientID); sp != nil {
			req.spID = sp.ID
		}
		d.mu.RUnlock()
		return true, req
	}
	d := s.dir
	now := s.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	var app *object
	for _, a := range d.apps {
		if a.Props["appId"] == clientID && a.visible(now) {
			app = a
		}
	}
	if app == nil {
		return false, req
	}
	req.appName, _ = app.Props["displayName"].(string)
	for _, p := range []string{"web", "spa", "publicClient"} {
		m, _ := app.Props[p].(map[string]any)
		uris, _ := m["redirectUris"].([]any)
		for _, u := range uris {
			if us, _ := u.(string); redirectMatches(us, redirectURI, p == "publicClient") && req.platform == "" {
				req.platform = p
			}
		}
	}
	if opt, ok := app.Props["optionalClaims"].(map[string]any); ok {
		claims, _ := opt["idToken"].([]any)
		for _, c := range claims {
			if m, ok := c.(map[string]any); ok && m["name"] == "email" {
				req.emailClaim = "email"
			}
		}
	}
	req.groupClaims, _ = app.Props["groupMembershipClaims"].(string)
	if sp := d.spByAppID(clientID); sp != nil && sp.visible(now) {
		req.spID = sp.ID
	}
	return true, req
}

// registeredRedirect is the first redirect URI the app has, which Entra
// uses when a request names none; "" if it has none.
func (s *Server) registeredRedirect(clientID string) string {
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, a := range d.apps {
		if a.Props["appId"] != clientID {
			continue
		}
		for _, p := range []string{"web", "spa", "publicClient"} {
			m, _ := a.Props[p].(map[string]any)
			if uris, _ := m["redirectUris"].([]any); len(uris) > 0 {
				us, _ := uris[0].(string)
				return us
			}
		}
	}
	return ""
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	tid, ok := s.resolveTenant(r.PathValue("tenant"))
	if !ok {
		s.errorPage(w, 90002, "Tenant '"+r.PathValue("tenant")+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.")
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			q = r.PostForm
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		s.errorPage(w, 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		if redirectURI = s.registeredRedirect(clientID); redirectURI == "" {
			s.errorPage(w, 900971, "No reply address provided.")
			return
		}
	}
	found, req := s.appForSignIn(clientID, redirectURI)
	if !found {
		s.errorPage(w, 700016, "Application with identifier '"+clientID+"' was not found in the directory '"+s.dir.displayName+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
		return
	}
	if req.platform == "" {
		s.errorPage(w, 50011, "The redirect URI '"+redirectURI+"' specified in the request does not match the redirect URIs configured for the application '"+clientID+"'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.")
		return
	}
	req.id, req.tid, req.redirectURI = randomToken(24), tid, redirectURI
	req.state, req.nonce, req.prompt, req.loginHint = q.Get("state"), q.Get("nonce"), q.Get("prompt"), q.Get("login_hint")
	req.responseMode = q.Get("response_mode")
	req.expires = s.now().Add(time.Hour)
	// From here on the redirect URI is the app's: errors go back to it.
	switch req.responseMode {
	case "":
		req.responseMode = "query"
	case "query", "form_post":
	case "fragment":
		s.redirectError(w, &req, "invalid_request", 70007, "The response_mode 'fragment' is not supported for response_type 'code'.", "")
		return
	default:
		req.responseMode = "query"
		s.redirectError(w, &req, "invalid_request", 70007, "The response_mode '"+q.Get("response_mode")+"' is not supported.", "")
		return
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		s.redirectError(w, &req, "invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.", "")
		return
	case rt == "code":
	case slices.Contains(strings.Fields(rt), "id_token") || slices.Contains(strings.Fields(rt), "token"):
		// The implicit and hybrid flows are not served by the simulated
		// tenant; an app that has not enabled them gets Entra's answer.
		kind := "id_token"
		if slices.Contains(strings.Fields(rt), "token") {
			kind = "token"
		}
		s.redirectError(w, &req, "unsupported_response_type", 700054, "response_type '"+kind+"' is not enabled for the application.", "")
		return
	default:
		s.redirectError(w, &req, "unsupported_response_type", 70005, "The provided value for the input parameter 'response_type' is not allowed for this request. Expected value: 'code'.", "")
		return
	}
	req.challenge, req.method = q.Get("code_challenge"), q.Get("code_challenge_method")
	if req.challenge != "" {
		switch req.method {
		case "":
			req.method = "plain"
		case "plain", "S256":
		default:
			s.redirectError(w, &req, "invalid_request", 50149, "Invalid Code_Challenge_method parameter.", "")
			return
		}
		if len(req.challenge) < 43 || len(req.challenge) > 128 {
			s.redirectError(w, &req, "invalid_request", 501491, "Invalid size of Code_Challenge parameter.", "")
			return
		}
	}
	raw := q.Get("scope")
	_, oidc, bad := s.parseScopes(raw)
	if bad != "" {
		s.redirectError(w, &req, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope "+bad+" is not valid.", "")
		return
	}
	req.scopes, req.offline, req.openid = scopesAsRequested(raw), slices.Contains(oidc, "offline_access"), slices.Contains(oidc, "openid")
	s.auth.put(&req)

	userID := ""
	switch {
	case s.opts.Approve == "auto":
		// Approved as the person the app hinted, else as the admin, as
		// someone clicking through the pages would.
		userID = s.dir.adminID
		if u := s.userByUPN(req.loginHint); u != "" {
			userID = u
		}
	case req.prompt == "none":
		// The simulated browser has no session to sign in silently with.
		s.redirectError(w, &req, "login_required", 50058, "A silent sign-in request was sent but no user is signed in.", "")
		return
	default:
		s.renderSignIn(w, &req, "")
		return
	}
	s.signedIn(w, &req, userID)
}

// userByUPN returns the id of the user with this UPN, or "".
func (s *Server) userByUPN(upn string) string {
	if upn == "" {
		return ""
	}
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, u := range d.users {
		if strings.EqualFold(u.UPN, upn) {
			return u.ID
		}
	}
	return ""
}

// signedIn goes on once the user is known: account state, assignment,
// consent, then the code.
func (s *Server) signedIn(w http.ResponseWriter, req *authRequest, userID string) {
	d := s.dir
	now := s.now()
	d.mu.RLock()
	u := d.usersByID[userID]
	enabled := u != nil && u.Enabled
	upn := ""
	if u != nil {
		upn = u.UPN
	}
	assigned := s.assignedLocked(req, userID, now)
	missing, mayConsent := s.consentLocked(req, userID)
	d.mu.RUnlock()
	switch {
	case u == nil:
		s.renderSignIn(w, req, "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.")
		return
	case !enabled:
		s.auth.done(req.id)
		s.errorPage(w, 50057, "The user account is disabled.")
		return
	case !assigned:
		// As captured from Entra: the refusal goes back to the app.
		s.redirectError(w, req, "interaction_required", 50105,
			"The signed in user '"+upn+"' is not assigned to a role for the application '"+req.clientID+"'("+req.appName+").", "")
		return
	case len(missing) > 0 && req.prompt == "none":
		s.redirectError(w, req, "consent_required", 65001,
			"The user or administrator has not consented to use the application with ID '"+req.clientID+"' named '"+req.appName+"'. Send an interactive authorization request for this user and resource.", "")
		return
	case len(missing) > 0 && s.opts.Approve == "auto" && mayConsent:
		s.recordConsent(req, userID, missing)
	case len(missing) > 0 && s.opts.Approve == "auto":
		// The person on the "Need admin approval" page can only go back to
		// the app without consent.
		s.redirectError(w, req, "access_denied", 65004, "User declined to consent to access the app.", "cancel")
		return
	case len(missing) > 0:
		req.userID = userID
		s.auth.put(req)
		s.renderConsent(w, req, upn, missing, mayConsent)
		return
	}
	s.auth.done(req.id)
	s.redirectCode(w, req, userID)
}

// assignedLocked reports whether the user may sign in to the app: always,
// unless its service principal requires assignment; then the user must be
// assigned directly or be a direct member of an assigned group (nested
// groups do not count, as documented).
func (s *Server) assignedLocked(req *authRequest, userID string, now time.Time) bool {
	d := s.dir
	sp := d.spByID[req.spID]
	if sp == nil || req.firstParty {
		return true
	}
	if v, _ := sp.Props["appRoleAssignmentRequired"].(bool); !v {
		return true
	}
	for _, a := range d.assigns {
		if a.Props["resourceId"] != sp.ID || !a.visible(now) {
			continue
		}
		p, _ := a.Props["principalId"].(string)
		if p == userID {
			return true
		}
		if g := d.groupByID[p]; g != nil && g.memberSet[userID] {
			return true
		}
	}
	return false
}

// lowRisk are the permissions a user may consent to for an app of this
// organisation when the tenant allows user consent.
var lowRisk = []string{"openid", "profile", "email", "offline_access", "User.Read"}

// consentLocked returns the requested permissions nobody consented to yet
// for this user, and whether the user may consent to them.
func (s *Server) consentLocked(req *authRequest, userID string) (missing []string, mayConsent bool) {
	d := s.dir
	var granted []string
	s.mu.Lock()
	if req.firstParty {
		granted = append(granted, s.consented[req.clientID+"/"+userID]...)
	}
	userConsent := !s.faults.UserConsentBlocked
	s.mu.Unlock()
	s.auth.mu.Lock()
	granted = append(granted, s.auth.consents[req.clientID+"/"+userID]...)
	s.auth.mu.Unlock()
	for _, g := range d.grants {
		if g.Props["clientId"] != req.spID || req.spID == "" || g.Props["resourceId"] != d.graphSPID {
			continue
		}
		if g.Props["consentType"] == "AllPrincipals" || g.Props["principalId"] == userID {
			sc, _ := g.Props["scope"].(string)
			granted = append(granted, strings.Fields(sc)...)
		}
	}
	want := append([]string(nil), req.scopes...)
	if req.offline {
		want = append(want, "offline_access")
	}
	for _, sc := range want {
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			sc = sc[i+1:]
		}
		if sc == ".default" || hasFold(granted, sc) || hasFold(missing, sc) {
			continue
		}
		missing = append(missing, sc)
	}
	if req.firstParty && len(missing) > 0 {
		// Microsoft's own tools are consented as they are used.
		return missing, true
	}
	roles := d.rolesOf(userID)
	if roles[roleGlobalAdmin] || roles[rolePrivRoleAdmin] {
		return missing, true
	}
	mayConsent = userConsent
	for _, m := range missing {
		if !hasFold(lowRisk, m) {
			mayConsent = false
		}
	}
	return missing, mayConsent
}

func (s *Server) recordConsent(req *authRequest, userID string, scopes []string) {
	key := req.clientID + "/" + userID
	if req.firstParty {
		s.mu.Lock()
		s.consented[key] = dedupeFold(append(s.consented[key], scopes...))
		s.mu.Unlock()
		return
	}
	s.auth.mu.Lock()
	if s.auth.consents == nil {
		s.auth.consents = map[string][]string{}
	}
	s.auth.consents[key] = dedupeFold(append(s.auth.consents[key], scopes...))
	s.auth.mu.Unlock()
}

// redirectCode sends the browser back to the app with a code.
func (s *Server) redirectCode(w http.ResponseWriter, req *authRequest, userID string) {
	code := s.auth.issue(req, userID, s.now())
	v := url.Values{"code": {code}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	v.Set("session_state", newUUID())
	s.respond(w, req, v)
}

// redirectError sends an error back to the app's redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, req *authRequest, errCode string, aadsts int, text, subcode string) {
	s.auth.done(req.id)
	body := tokenErrorBody(errCode, aadsts, text)
	v := url.Values{"error": {errCode}, "error_description": {body["error_description"].(string)},
		"error_uri": {body["error_uri"].(string)}}
	if subcode != "" {
		v.Set("error_subcode", subcode)
	}
	if req.state != "" {
		v.Set("state", req.state)
	}
	s.respond(w, req, v)
}

// respond delivers the authorization response in the response mode asked.
func (s *Server) respond(w http.ResponseWriter, req *authRequest, v url.Values) {
	if req.responseMode == "form_post" {
		s.renderFormPost(w, req.redirectURI, v)
		return
	}
	target := req.redirectURI
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	w.Header().Set("Location", target+sep+v.Encode())
	w.WriteHeader(http.StatusFound)
}

// verifierMatches checks a PKCE code_verifier against the challenge.
func verifierMatches(method, challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		return b64(sum[:]) == challenge
	}
	return verifier == challenge
}

// ExpireAuthCodes lets every authorization code not yet redeemed run out
// now, as ten minutes of waiting would.
func (s *Server) ExpireAuthCodes() {
	past := s.now().Add(-time.Second)
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for _, c := range s.auth.codes {
		c.expires = past
	}
}
