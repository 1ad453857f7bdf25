package sim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type deviceCode struct {
	code, userCode, clientID string
	scopes                   []string
	expires                  time.Time
	approveAt                time.Time // auto approval; zero in manual mode
	state                    string    // pending, approved, declined, expired, blocked
	offline                  bool      // offline_access was asked for: issue a refresh token
	userID                   string
}

type refreshGrant struct {
	userID, clientID string
	scopes           []string // as first granted, which a refresh without scope gets again
	openid           bool     // the first grant had openid: refreshes bring an ID token too
}

func (s *Server) loginMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfig)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.keys.jwks())
	})
	mux.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCodeStart)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize/login", s.loginSubmit)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize/consent", s.consentSubmit)
	mux.HandleFunc("GET /devicelogin", s.deviceLoginPage)
	mux.HandleFunc("POST /devicelogin", s.deviceLoginSubmit)
	s.adminConsentRoutes(mux)
	s.controlRoutes(mux)
	return mux
}

// resolveTenant maps the {tenant} path segment (GUID, domain, organizations,
// common) to this tenant's ID; ok is false for any other tenant.
func (s *Server) resolveTenant(t string) (string, bool) {
	d := s.dir
	switch strings.ToLower(t) {
	case strings.ToLower(d.tenantID), d.initialDomain, d.primaryDomain, "organizations", "common":
		return d.tenantID, true
	}
	return "", false
}

func (s *Server) tenantNotFound(w http.ResponseWriter, t string) {
	writeTokenError(w, http.StatusBadRequest, "invalid_tenant", 90002,
		fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t))
}

func (s *Server) openIDConfig(w http.ResponseWriter, r *http.Request) {
	tid, ok := s.resolveTenant(r.PathValue("tenant"))
	if !ok {
		s.tenantNotFound(w, r.PathValue("tenant"))
		return
	}
	base := s.info.LoginURL + "/" + tid
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     s.info.GraphURL[:len(s.info.GraphURL)-len("/v1.0")] + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		"kerberos_endpoint":     base + "/kerberos",
		"tenant_region_scope":   "EU",
		"cloud_instance_name":   "microsoftonline.com",
		"cloud_graph_host_name": "graph.windows.net",
		"msgraph_host":          strings.TrimPrefix(s.info.GraphURL[:len(s.info.GraphURL)-len("/v1.0")], "https://"),
		"rbac_url":              "https://pas.windows.net",
	})
}

func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := strings.TrimPrefix(s.info.LoginURL, "https://")
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.info.LoginURL + "/" + s.dir.tenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []any{map[string]any{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

// isPublicClient reports whether clientID may use the device-code flow here.
func (s *Server) isPublicClient(clientID string) bool {
	if clientID == GraphCLIToolsID {
		return true
	}
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, a := range d.apps {
		if a.Props["appId"] == clientID && a.visible(s.now()) {
			v, _ := a.Props["isFallbackPublicClient"].(bool)
			return v
		}
	}
	return false
}

// graphScopes splits a scope parameter into Microsoft Graph permission names,
// accepting bare names, https://graph.microsoft.com/<name>, Graph's appId
// and this tenant's own Graph URL as the resource. OIDC scopes come back in
// oidc.
func (s *Server) parseScopes(raw string) (graph []string, oidc []string, bad string) {
	graphOrigin := strings.TrimSuffix(s.info.GraphURL, "/v1.0")
	for _, sc := range strings.Fields(raw) {
		switch strings.ToLower(sc) {
		case "openid", "profile", "offline_access", "email":
			oidc = append(oidc, strings.ToLower(sc))
			continue
		}
		name := sc
		for _, prefix := range []string{GraphResource + "/", graphOrigin + "/", GraphAppID + "/"} {
			if len(sc) > len(prefix) && strings.EqualFold(sc[:len(prefix)], prefix) {
				name = sc[len(prefix):]
				break
			}
		}
		if strings.Contains(name, "/") && name != ".default" {
			return nil, nil, sc
		}
		if name != ".default" {
			if _, ok := scopeByValue(name); !ok {
				return nil, nil, sc
			}
		}
		graph = append(graph, name)
	}
	return graph, oidc, ""
}

func (s *Server) deviceCodeStart(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.resolveTenant(r.PathValue("tenant")); !ok {
		s.tenantNotFound(w, r.PathValue("tenant"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if !s.isPublicClient(clientID) {
		writeTokenError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.dir.displayName))
		return
	}
	_, oidc, bad := s.parseScopes(r.PostForm.Get("scope"))
	if bad != "" {
		writeTokenError(w, http.StatusBadRequest, "invalid_scope", 70011,
			fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", bad))
		return
	}
	now := s.now()
	dc := &deviceCode{
		code:     randomToken(48),
		userCode: userCode(),
		clientID: clientID,
		scopes:   scopesAsRequested(r.PostForm.Get("scope")),
		offline:  slices.Contains(oidc, "offline_access"),
		expires:  now.Add(15 * time.Minute),
		state:    "pending",
	}
	if s.opts.Approve == "auto" {
		dc.approveAt = now.Add(s.opts.ApproveAfter)
	}
	s.mu.Lock()
	s.devCodes[dc.code] = dc
	s.mu.Unlock()
	verify := s.info.LoginURL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        dc.userCode,
		"device_code":      dc.code,
		"verification_uri": verify,
		"expires_in":       900,
		"interval":         5,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, dc.userCode),
	})
}

// scopesAsRequested keeps the scope names in the form the client sent them,
// without offline_access, which is what the token response's scope echoes.
func scopesAsRequested(raw string) []string {
	var out []string
	for _, sc := range strings.Fields(raw) {
		if strings.EqualFold(sc, "offline_access") {
			continue
		}
		out = append(out, sc)
	}
	return out
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tid, ok := s.resolveTenant(r.PathValue("tenant"))
	if !ok {
		s.tenantNotFound(w, r.PathValue("tenant"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	switch g := r.PostForm.Get("grant_type"); g {
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		s.tokenDeviceCode(w, r, tid)
	case "client_credentials":
		s.tokenClientCredentials(w, r, tid)
	case "refresh_token":
		s.tokenRefresh(w, r, tid)
	case "authorization_code":
		s.tokenAuthCode(w, r, tid)
	case "":
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", g))
	}
}

func (s *Server) tokenDeviceCode(w http.ResponseWriter, r *http.Request, tid string) {
	code := r.PostForm.Get("device_code")
	s.mu.Lock()
	dc := s.devCodes[code]
	if dc != nil && dc.clientID != r.PostForm.Get("client_id") {
		dc = nil
	}
	now := s.now()
	if dc != nil && dc.state == "pending" && now.After(dc.expires) {
		dc.state = "expired"
	}
	if dc != nil && dc.state == "pending" && !dc.approveAt.IsZero() && !now.Before(dc.approveAt) {
		dc.state, dc.userID = "approved", s.dir.adminID
	}
	if dc != nil && dc.state == "approved" && s.faults.BlockDeviceCode {
		dc.state = "blocked"
	}
	var state string
	var snapshot deviceCode
	if dc != nil {
		state, snapshot = dc.state, *dc
		if state == "approved" || state == "blocked" || state == "declined" {
			delete(s.devCodes, code)
		}
	}
	s.mu.Unlock()

	switch state {
	case "":
		writeTokenError(w, http.StatusBadRequest, "bad_verification_code", 70018,
			"Invalid verification code due to user typing in wrong user code for device code flow.")
	case "pending":
		writeTokenError(w, http.StatusBadRequest, "authorization_pending", 70016,
			"OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	case "declined":
		writeTokenError(w, http.StatusBadRequest, "authorization_declined", 70000,
			"The user declined the sign-in request.")
	case "expired":
		writeTokenError(w, http.StatusBadRequest, "expired_token", 70019,
			"Verification code expired. Have the user retry the sign-in.")
	case "blocked":
		// As captured from Entra: 400, invalid_grant, suberror message_only.
		body := tokenErrorBody("invalid_grant", 53003,
			"Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.")
		body["suberror"] = "message_only"
		writeJSON(w, http.StatusBadRequest, body)
	case "approved":
		s.issueUserTokens(w, r, tid, snapshot.userID, snapshot.clientID, snapshot.scopes, snapshot.offline, hasFold(snapshot.scopes, "openid"))
	}
}

func (s *Server) tokenRefresh(w http.ResponseWriter, r *http.Request, tid string) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	grant, ok := s.refresh[rt]
	s.mu.Unlock()
	if !ok || grant.clientID != r.PostForm.Get("client_id") {
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70000,
			"Provided grant is invalid or malformed.")
		return
	}
	scopes := grant.scopes
	if raw := r.PostForm.Get("scope"); raw != "" {
		_, _, bad := s.parseScopes(raw)
		if bad != "" {
			writeTokenError(w, http.StatusBadRequest, "invalid_scope", 70011,
				fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", bad))
			return
		}
		scopes = scopesAsRequested(raw)
	}
	s.issueUserTokens(w, r, tid, grant.userID, grant.clientID, scopes, true, grant.openid || hasFold(scopes, "openid"))
}

// issueUserTokens answers a successful delegated grant. The refresh token
// comes only with offline_access and the ID token only with openid, as
// documented; .default means the scopes consented before, at least User.Read.
func (s *Server) issueUserTokens(w http.ResponseWriter, r *http.Request, tid, userID, clientID string, scopes []string, offline, openid bool) {
	s.issueUserTokensFor(w, r, tid, userID, clientID, "Microsoft Graph Command Line Tools", scopes, offline, openid, nil, nil)
}

// issueUserTokensFor is issueUserTokens for the app named appName, with
// extra ID token claims (nonce, email, groups) and the app roles the user
// holds in it.
func (s *Server) issueUserTokensFor(w http.ResponseWriter, r *http.Request, tid, userID, clientID, appName string, scopes []string, offline, openid bool, extra map[string]any, roles []string) {
	d := s.dir
	d.mu.RLock()
	u := d.usersByID[userID]
	var name, upn string
	if u != nil {
		name, upn = u.DisplayName, u.UPN
	}
	d.mu.RUnlock()
	if u == nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory.")
		return
	}
	now := s.now()
	life := s.tokenLifetime()
	var scp []string
	for _, sc := range scopes {
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			sc = sc[i+1:]
		}
		if sc == ".default" {
			s.mu.Lock()
			scp = append(scp, s.consented[clientID+"/"+userID]...)
			s.mu.Unlock()
			if len(scp) == 0 {
				scp = append(scp, "User.Read")
			}
			continue
		}
		scp = append(scp, sc)
	}
	scp = dedupeFold(scp)
	s.mu.Lock()
	s.consented[clientID+"/"+userID] = dedupeFold(append(s.consented[clientID+"/"+userID], scp...))
	s.mu.Unlock()
	access, err := s.keys.sign(map[string]any{
		"aud": GraphResource, "iss": "https://sts.windows.net/" + tid + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
		"appid": clientID, "app_displayname": appName, "idtyp": "user",
		"name": name, "oid": userID, "sub": userID, "tid": tid, "upn": upn, "unique_name": upn,
		"scp": strings.Join(scp, " "), "ver": "1.0", "uti": randomToken(16),
	})
	if err != nil {
		writeTokenError(w, http.StatusInternalServerError, "temporarily_unavailable", 50000, "There was an error issuing a token.")
		return
	}
	idClaims := map[string]any{
		"aud": clientID, "iss": s.info.LoginURL + "/" + tid + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
		"name": name, "oid": userID, "preferred_username": upn, "sub": pairwiseSub(userID, clientID), "tid": tid, "ver": "2.0",
	}
	for k, v := range extra {
		idClaims[k] = v
	}
	if len(roles) > 0 {
		idClaims["roles"] = roles
	}
	idToken, _ := s.keys.sign(idClaims)
	rt := ""
	if offline {
		rt = randomToken(64)
		s.mu.Lock()
		s.refresh[rt] = refreshGrant{userID: userID, clientID: clientID, scopes: scopes, openid: openid}
		s.mu.Unlock()
	}
	clientInfo, _ := json.Marshal(map[string]string{"uid": userID, "utid": tid})
	body := map[string]any{
		"token_type":     "Bearer",
		"scope":          strings.Join(scopes, " "),
		"expires_in":     int(life.Seconds()),
		"ext_expires_in": int(life.Seconds()),
		"access_token":   access,
	}
	if rt != "" {
		body["refresh_token"] = rt
	}
	if openid {
		body["id_token"] = idToken
	}
	if r.PostForm.Get("client_info") == "1" {
		body["client_info"] = b64(clientInfo)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) tokenLifetime() time.Duration {
	if f := s.CurrentFaults(); f.TokenLifetime > 0 {
		return f.TokenLifetime
	}
	return 3599 * time.Second
}

func (s *Server) tokenClientCredentials(w http.ResponseWriter, r *http.Request, tid string) {
	clientID, secretText := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(u)
		secretText, _ = url.QueryUnescape(p)
	}
	if secretText == "" && r.PostForm.Get("client_assertion") == "" {
		writeTokenError(w, http.StatusBadRequest, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	// The OIDC scopes MSAL adds to every request are ignored here, as Entra
	// ignores them in the client credentials grant; one resource remains.
	var resources []string
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		switch strings.ToLower(sc) {
		case "openid", "profile", "offline_access", "email":
		default:
			resources = append(resources, sc)
		}
	}
	scope := strings.Join(resources, " ")
	if !strings.HasSuffix(scope, "/.default") || len(resources) != 1 {
		writeTokenError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	if graph, _, bad := s.parseScopes(scope); bad != "" || len(graph) != 1 {
		writeTokenError(w, http.StatusBadRequest, "invalid_resource", 500011,
			fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
				strings.TrimSuffix(scope, "/.default"), s.dir.displayName))
		return
	}
	now := s.now()
	d := s.dir
	d.mu.RLock()
	var app *object
	for _, a := range d.apps {
		if a.Props["appId"] == clientID && a.visible(now) {
			app = a
		}
	}
	var spID, appName string
	var roles []string
	secretState := "missing"
	var assertionFailure *tokenFailure
	if app != nil && r.PostForm.Get("client_assertion") != "" {
		appName, _ = app.Props["displayName"].(string)
		if assertionFailure = s.checkAssertion(app, r, clientID, now); assertionFailure == nil {
			secretState = "ok"
		}
	} else if app != nil {
		appName, _ = app.Props["displayName"].(string)
		sum := sha256.Sum256([]byte(secretText))
		for _, sec := range app.secrets {
			if subtle.ConstantTimeCompare(sec.hash[:], sum[:]) == 1 && sec.visible(now) {
				if now.After(sec.End) {
					secretState = "expired"
				} else {
					secretState = "ok"
				}
				break
			}
		}
	}
	if app != nil {
		if sp := d.spByAppID(clientID); sp != nil && sp.visible(now) {
			spID = sp.ID
			for _, a := range d.assigns {
				if a.Props["principalId"] == sp.ID && a.Props["resourceId"] == d.graphSPID && a.visible(now) {
					if p, ok := appRoleByID(a.Props["appRoleId"].(string)); ok {
						roles = append(roles, p.value)
					}
				}
			}
		}
	}
	d.mu.RUnlock()
	switch {
	case app == nil:
		writeTokenError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, d.displayName))
		return
	case assertionFailure != nil:
		writeTokenError(w, assertionFailure.status, assertionFailure.code, assertionFailure.aadsts, assertionFailure.message)
		return
	case secretState == "missing":
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	case secretState == "expired":
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000222,
			fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID))
		return
	case spID == "":
		writeTokenError(w, http.StatusBadRequest, "unauthorized_client", 7000229,
			fmt.Sprintf("The client application %s is missing service principal in the tenant %s. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", clientID, tid))
		return
	}
	life := s.tokenLifetime()
	claims := map[string]any{
		"aud": GraphResource, "iss": "https://sts.windows.net/" + tid + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
		"appid": clientID, "app_displayname": appName, "idtyp": "app", "oid": spID, "sub": spID,
		"tid": tid, "ver": "1.0", "uti": randomToken(16),
	}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	access, err := s.keys.sign(claims)
	if err != nil {
		writeTokenError(w, http.StatusInternalServerError, "temporarily_unavailable", 50000, "There was an error issuing a token.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": int(life.Seconds()), "ext_expires_in": int(life.Seconds()), "access_token": access,
	})
}

// dedupeFold drops repeated names, comparing without case.
func dedupeFold(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

func hasFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// pairwiseSub is the ID token's subject: unique to the user and the app, as
// the platform documents (subject_types_supported: pairwise).
func pairwiseSub(userID, clientID string) string {
	sum := sha256.Sum256([]byte(userID + "|" + clientID))
	return b64(sum[:])
}
