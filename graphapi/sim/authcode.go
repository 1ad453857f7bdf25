package sim

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// tokenAuthCode redeems an authorization code (grant_type
// authorization_code). The code is single use and short lived; the redirect
// URI must be the one the code was issued to; a PKCE verifier must match its
// challenge; a confidential client (a web redirect URI) authenticates with
// its secret, a public client (mobile and desktop, SPA) must not.
func (s *Server) tokenAuthCode(w http.ResponseWriter, r *http.Request, tid string) {
	f := r.PostForm
	clientID, secretText := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(u)
		secretText, _ = url.QueryUnescape(p)
	}
	code := f.Get("code")
	if code == "" {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
		return
	}
	now := s.now()
	s.auth.mu.Lock()
	c := s.auth.codes[code]
	var snap authCode
	state := "ok"
	switch {
	case c == nil || c.req.clientID != clientID:
		state = "unknown"
	case c.redeemed:
		state = "redeemed"
	case now.After(c.expires):
		state = "expired"
	default:
		c.redeemed = true
		snap = *c
	}
	s.auth.mu.Unlock()
	switch state {
	case "unknown":
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case "redeemed":
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	case "expired":
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	}
	req := snap.req
	if got := f.Get("redirect_uri"); got != req.redirectURI {
		writeTokenError(w, http.StatusBadRequest, "invalid_client", 500112,
			fmt.Sprintf("The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", got, req.redirectURI))
		return
	}
	if req.challenge != "" && !verifierMatches(req.method, req.challenge, f.Get("code_verifier")) {
		writeTokenError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return
	}
	hasCred := secretText != "" || f.Get("client_assertion") != ""
	if req.platform == "web" {
		switch s.checkSecret(clientID, secretText, hasCred) {
		case "missing":
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		case "wrong":
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		case "expired":
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000222,
				fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID))
			return
		}
	} else if hasCred {
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		return
	}
	extra, roles := s.idTokenClaims(&req, snap.userID)
	s.issueUserTokensFor(w, r, tid, snap.userID, clientID, req.appName, req.scopes, req.offline, req.openid, extra, roles)
}

// checkSecret says whether secretText is a current secret of the app:
// "ok", "missing" (none sent), "wrong", or "expired".
func (s *Server) checkSecret(clientID, secretText string, hasCred bool) string {
	if !hasCred {
		return "missing"
	}
	if secretText == "" {
		return "ok" // a client assertion: certificates are not simulated
	}
	now := s.now()
	sum := sha256.Sum256([]byte(secretText))
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, a := range d.apps {
		if a.Props["appId"] != clientID || !a.visible(now) {
			continue
		}
		for _, sec := range a.secrets {
			if subtle.ConstantTimeCompare(sec.hash[:], sum[:]) == 1 && sec.visible(now) {
				if now.After(sec.End) {
					return "expired"
				}
				return "ok"
			}
		}
	}
	return "wrong"
}

// idTokenClaims are the claims the app asked for beyond the defaults: the
// nonce, email (the email scope or the optional claim), groups
// (groupMembershipClaims), and roles (app roles the user holds, directly or
// through a group it is a direct member of).
func (s *Server) idTokenClaims(req *authRequest, userID string) (map[string]any, []string) {
	extra := map[string]any{}
	if req.nonce != "" {
		extra["nonce"] = req.nonce
	}
	d := s.dir
	now := s.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	u := d.usersByID[userID]
	if u == nil {
		return extra, nil
	}
	if (hasFold(req.scopes, "email") || req.emailClaim != "") && u.Mail != "" {
		extra["email"] = u.Mail
	}
	direct, in := d.groupsOf(userID, true)
	var roles []string
	var assignedGroups []string
	if sp := d.spByID[req.spID]; sp != nil && !req.firstParty {
		appRoles, _ := sp.Props["appRoles"].([]any)
		for _, a := range d.assigns {
			if a.Props["resourceId"] != sp.ID || !a.visible(now) {
				continue
			}
			p, _ := a.Props["principalId"].(string)
			if direct[p] {
				assignedGroups = append(assignedGroups, p)
			}
			if p != userID && !direct[p] {
				continue
			}
			for _, ar := range appRoles {
				m, _ := ar.(map[string]any)
				if m != nil && strings.EqualFold(fmt.Sprint(m["id"]), fmt.Sprint(a.Props["appRoleId"])) {
					if v, _ := m["value"].(string); v != "" && !hasFold(roles, v) {
						roles = append(roles, v)
					}
				}
			}
		}
	}
	switch strings.ToLower(req.groupClaims) {
	case "securitygroup", "all", "directoryrole":
		var ids []string
		for _, g := range d.groups {
			if in[g.ID] && (g.SecurityEnabled || strings.EqualFold(req.groupClaims, "all")) {
				ids = append(ids, g.ID)
			}
		}
		extra["groups"] = ids
	case "applicationgroup":
		extra["groups"] = assignedGroups
	}
	return extra, roles
}
