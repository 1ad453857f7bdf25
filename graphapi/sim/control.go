package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// ErrNotFound is returned by control calls naming something the tenant does
// not have.
var ErrNotFound = errors.New("sim: not found")

func (s *Server) findDeviceCode(userCode string) *deviceCode {
	userCode = strings.ToUpper(strings.TrimSpace(userCode))
	for _, dc := range s.devCodes {
		if dc.userCode == userCode {
			return dc
		}
	}
	return nil
}

// ApproveDeviceCode signs in as upn and approves the pending device code, as
// a person would on the verification page.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	s.dir.mu.RLock()
	var uid string
	for _, u := range s.dir.users {
		if strings.EqualFold(u.UPN, upn) {
			uid = u.ID
		}
	}
	s.dir.mu.RUnlock()
	if uid == "" {
		return fmt.Errorf("%w: user %s", ErrNotFound, upn)
	}
	return s.setDeviceCode(userCode, "approved", uid)
}

// DeclineDeviceCode declines the pending device code.
func (s *Server) DeclineDeviceCode(userCode string) error {
	return s.setDeviceCode(userCode, "declined", "")
}

// ExpireDeviceCode lets the device code run out now.
func (s *Server) ExpireDeviceCode(userCode string) error {
	return s.setDeviceCode(userCode, "expired", "")
}

func (s *Server) setDeviceCode(userCode, state, uid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.findDeviceCode(userCode)
	if dc == nil {
		return fmt.Errorf("%w: device code %s", ErrNotFound, userCode)
	}
	if dc.state != "pending" {
		return fmt.Errorf("sim: device code %s is %s", userCode, dc.state)
	}
	dc.state, dc.userID = state, uid
	return nil
}

// PendingDeviceCodes returns the user codes waiting for approval.
func (s *Server) PendingDeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, dc := range s.devCodes {
		if dc.state == "pending" {
			out = append(out, dc.userCode)
		}
	}
	return out
}

// ExpireSecrets moves the end date of every password of the application with
// appID into the past.
func (s *Server) ExpireSecrets(appID string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.apps {
		if a.Props["appId"] == appID {
			past := s.now().Add(-time.Hour)
			for _, sec := range a.secrets {
				sec.End = past
				if sec.Start.After(past) {
					sec.Start = past.Add(-time.Hour)
				}
			}
			d.syncPasswordProps(a)
			return nil
		}
	}
	return fmt.Errorf("%w: application %s", ErrNotFound, appID)
}

// AddMember adds a user or group to a group.
func (s *Server) AddMember(groupID, memberID string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.groupByID[groupID]
	if g == nil || (d.usersByID[memberID] == nil && d.groupByID[memberID] == nil) {
		return ErrNotFound
	}
	d.addMember(g, memberID, true)
	return nil
}

// RemoveMember removes a direct member from a group.
func (s *Server) RemoveMember(groupID, memberID string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.groupByID[groupID]
	if g == nil || !d.removeMember(g, memberID) {
		return ErrNotFound
	}
	return nil
}

// DisableUser sets accountEnabled to false.
func (s *Server) DisableUser(id string) error {
	return s.changeUser(id, func(u *user) { u.Enabled = false })
}

// RenameUser changes a user's display name.
func (s *Server) RenameUser(id, displayName string) error {
	return s.changeUser(id, func(u *user) { u.DisplayName = displayName })
}

func (s *Server) changeUser(id string, f func(*user)) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.usersByID[id]
	if u == nil {
		return ErrNotFound
	}
	f(u)
	u.version = d.nextSeq()
	return nil
}

// DeleteUser deletes a user (soft delete, as Entra does).
func (s *Server) DeleteUser(id string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.deleteUser(id) {
		return ErrNotFound
	}
	return nil
}

// DeleteGroup deletes a group: it leaves the groups it was in, and groups
// delta reports it removed.
func (s *Server) DeleteGroup(id string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.deleteGroup(id) {
		return ErrNotFound
	}
	return nil
}

// CreateUser adds an enabled member user and returns its id.
func (s *Server) CreateUser(displayName string) string {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	given, sur, _ := strings.Cut(displayName, " ")
	nick := strings.ToLower(strings.ReplaceAll(displayName, " ", ".")) + fmt.Sprint(len(d.users))
	u := d.addUser(given, sur, nick, "Sales", "Analyst", true)
	u.DisplayName = displayName
	d.stamp(&u.replica, s.CurrentFaults())
	return u.ID
}

// UserIDs returns the ids of all users, in creation order.
func (s *Server) UserIDs() []string {
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, len(d.users))
	for i, u := range d.users {
		out[i] = u.ID
	}
	return out
}

// GroupID returns the id of the group with this display name.
func (s *Server) GroupID(displayName string) (string, error) {
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, g := range d.groups {
		if g.DisplayName == displayName {
			return g.ID, nil
		}
	}
	return "", fmt.Errorf("%w: group %q", ErrNotFound, displayName)
}

// controlRoutes serves the control API under /_sim, the same calls as the
// methods above for programs that run the simulator as a server.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	s.lifecycleRoutes(mux)
	mux.HandleFunc("GET /_sim/info", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.info) })
	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		reqs := s.Requests()
		counts := map[string]int{}
		for _, q := range reqs {
			counts[q.Service]++
		}
		writeJSON(w, 200, map[string]any{"total": len(reqs), "by_service": counts, "requests": reqs})
	})
	mux.HandleFunc("DELETE /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, faultsJSON(s.CurrentFaults()))
	})
	mux.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var fj FaultsJSON
		if err := json.NewDecoder(r.Body).Decode(&fj); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, err := fj.Faults()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		writeJSON(w, 200, faultsJSON(f))
	})
	mux.HandleFunc("POST /_sim/{action}", func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			UserCode, UPN, AppID, GroupID, MemberID, UserID, DisplayName string
			// MaxLifetime is a Go duration for secret-max-lifetime and
			// cert-max-lifetime ("" or "0": none).
			MaxLifetime string
			// Forbid is for forbid-secrets and forbid-multi-tenant.
			Forbid bool
			// Roles are directory role names for admin-roles.
			Roles []string
		}
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var err error
		var result any = map[string]string{"status": "ok"}
		switch r.PathValue("action") {
		case "approve":
			if a.UPN == "" {
				a.UPN = s.info.AdminUPN
			}
			err = s.ApproveDeviceCode(a.UserCode, a.UPN)
		case "decline":
			err = s.DeclineDeviceCode(a.UserCode)
		case "expire-device-code":
			err = s.ExpireDeviceCode(a.UserCode)
		case "expire-secrets":
			err = s.ExpireSecrets(a.AppID)
		case "secret-max-lifetime":
			var d time.Duration
			if a.MaxLifetime != "" {
				d, err = time.ParseDuration(a.MaxLifetime)
			}
			if err == nil {
				s.SetSecretMaxLifetime(d)
			}
		case "cert-max-lifetime":
			var d time.Duration
			if a.MaxLifetime != "" {
				d, err = time.ParseDuration(a.MaxLifetime)
			}
			if err == nil {
				s.SetCertMaxLifetime(d)
			}
		case "forbid-secrets":
			s.ForbidSecrets(a.Forbid)
		case "forbid-multi-tenant":
			s.ForbidMultiTenant(a.Forbid)
		case "admin-roles":
			err = s.SetAdminRoles(a.Roles...)
		case "admin-consent":
			if a.UPN == "" {
				a.UPN = s.info.AdminUPN
			}
			err = s.GrantAdminConsent(a.AppID, a.UPN)
		case "add-member":
			err = s.AddMember(a.GroupID, a.MemberID)
		case "remove-member":
			err = s.RemoveMember(a.GroupID, a.MemberID)
		case "disable-user":
			err = s.DisableUser(a.UserID)
		case "delete-user":
			err = s.DeleteUser(a.UserID)
		case "delete-group":
			err = s.DeleteGroup(a.GroupID)
		case "rename-user":
			err = s.RenameUser(a.UserID, a.DisplayName)
		case "create-user":
			result = map[string]string{"id": s.CreateUser(a.DisplayName)}
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, 200, result)
	})
}

// FaultsJSON is Faults as the control API and `entrawiz sim` flags spell it:
// durations as Go duration strings.
type FaultsJSON struct {
	Latency          string `json:"latency,omitempty"`
	ThrottleEvery    int    `json:"throttle_every,omitempty"`
	RetryAfter       string `json:"retry_after,omitempty"`
	ServerErrorEvery int    `json:"server_error_every,omitempty"`
	ReplicationDelay string `json:"replication_delay,omitempty"`
	ReferenceDelay   string `json:"reference_delay,omitempty"`
	BlockDeviceCode  bool   `json:"block_device_code,omitempty"`
	DeltaTokenTTL    string `json:"delta_token_ttl,omitempty"`
	TokenLifetime    string `json:"token_lifetime,omitempty"`
	// UserConsentBlocked: the tenant does not allow user consent.
	UserConsentBlocked bool `json:"user_consent_blocked,omitempty"`
}

// Faults parses the durations.
func (fj FaultsJSON) Faults() (Faults, error) {
	f := Faults{ThrottleEvery: fj.ThrottleEvery, ServerErrorEvery: fj.ServerErrorEvery, BlockDeviceCode: fj.BlockDeviceCode, UserConsentBlocked: fj.UserConsentBlocked}
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{fj.Latency, &f.Latency}, {fj.RetryAfter, &f.RetryAfter}, {fj.ReplicationDelay, &f.ReplicationDelay}, {fj.ReferenceDelay, &f.ReferenceDelay},
		{fj.DeltaTokenTTL, &f.DeltaTokenTTL}, {fj.TokenLifetime, &f.TokenLifetime}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return Faults{}, err
		}
		*d.dst = v
	}
	return f, nil
}

func faultsJSON(f Faults) FaultsJSON {
	str := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return FaultsJSON{Latency: str(f.Latency), ThrottleEvery: f.ThrottleEvery, RetryAfter: str(f.RetryAfter),
		ServerErrorEvery: f.ServerErrorEvery, ReplicationDelay: str(f.ReplicationDelay), ReferenceDelay: str(f.ReferenceDelay), BlockDeviceCode: f.BlockDeviceCode,
		DeltaTokenTTL: str(f.DeltaTokenTTL), TokenLifetime: str(f.TokenLifetime), UserConsentBlocked: f.UserConsentBlocked}
}

// deviceLoginPage is the verification page. It is written with
// html.EscapeString rather than html/template: templates make the linker
// keep every exported method of every type in the binary (reflect's
// MethodByName), which multiplies the size of any program that embeds the
// simulator next to msgraph-sdk-go.
const deviceLoginPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to your account (simulated tenant)</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">
<h1>Enter code</h1>
<p>This is the <b>entrawiz simulated tenant</b> (%s), not Microsoft.</p>
%s
<form method="post" action="/devicelogin">
<p><label>Code <input name="otc" value="%s" autofocus></label></p>
<p><label>Sign in as <select name="upn">%s</select></label></p>
<p><button name="action" value="approve">Continue</button> <button name="action" value="decline">Cancel</button></p>
</form></body></html>`

func (s *Server) deviceLoginPage(w http.ResponseWriter, r *http.Request) {
	s.renderDeviceLogin(w, r.URL.Query().Get("otc"), "")
}

func (s *Server) renderDeviceLogin(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if msg != "" {
		msg = "<p><b>" + html.EscapeString(msg) + "</b></p>"
	}
	var users strings.Builder
	for _, u := range []string{s.info.AdminUPN, s.info.UserUPN} {
		users.WriteString("<option>" + html.EscapeString(u) + "</option>")
	}
	fmt.Fprintf(w, deviceLoginPage, html.EscapeString(s.dir.displayName), msg, html.EscapeString(code), users.String())
}

func (s *Server) deviceLoginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code := r.PostForm.Get("otc")
	var err error
	var done string
	if r.PostForm.Get("action") == "decline" {
		err, done = s.DeclineDeviceCode(code), "You declined the sign-in. You can close this window."
	} else {
		err, done = s.ApproveDeviceCode(code, r.PostForm.Get("upn")), "You have signed in. You can close this window and return to the application."
	}
	if err != nil {
		s.renderDeviceLogin(w, code, "That code didn't work. Check the code and try again.")
		return
	}
	s.renderDeviceLogin(w, "", done)
}
