package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The control calls below change an app after it was set up, as an admin
// (or time) would in the portal: a secret that ends early or is removed,
// consent revoked, the app deleted. They drive the tests of what entrawiz
// says and does about a connection that went wrong while nobody watched.

// SetSecretEnd moves the endDateTime of the application's password keyID
// (of every password when keyID is "") to end; a past end expires it.
func (s *Server) SetSecretEnd(appID, keyID string, end time.Time) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	app := d.appByAppID(appID)
	if app == nil {
		return fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	found := false
	for _, sec := range app.secrets {
		if keyID == "" || strings.EqualFold(sec.KeyID, keyID) {
			sec.End, found = end, true
			if sec.Start.After(end) {
				sec.Start = end.Add(-time.Hour)
			}
		}
	}
	if !found {
		return fmt.Errorf("%w: password %s on application %s", ErrNotFound, keyID, appID)
	}
	d.syncPasswordProps(app)
	return nil
}

// RemoveSecret removes the application's password keyID, as removePassword
// (or the portal's delete) does.
func (s *Server) RemoveSecret(appID, keyID string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	app := d.appByAppID(appID)
	if app == nil {
		return fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	for i, sec := range app.secrets {
		if strings.EqualFold(sec.KeyID, keyID) {
			app.secrets = append(app.secrets[:i], app.secrets[i+1:]...)
			d.syncPasswordProps(app)
			return nil
		}
	}
	return fmt.Errorf("%w: password %s on application %s", ErrNotFound, keyID, appID)
}

// RevokeConsent removes the admin consent given to the application: the
// app role assignments its service principal holds and the delegated
// grants it is the client of, as "Revoke admin consent" in the portal does.
// It returns how many were removed.
func (s *Server) RevokeConsent(appID string) (int, error) {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	sp := d.spByAppID(appID)
	if sp == nil {
		return 0, fmt.Errorf("%w: service principal of %s", ErrNotFound, appID)
	}
	removed := 0
	var kept []*object
	for _, a := range d.assigns {
		if a.Props["principalId"] == sp.ID {
			removed++
			continue
		}
		kept = append(kept, a)
	}
	d.assigns = kept
	var grants []*object
	for _, g := range d.grants {
		if g.Props["clientId"] == sp.ID {
			removed++
			continue
		}
		grants = append(grants, g)
	}
	d.grants = grants
	return removed, nil
}

// DeleteApp deletes the application with its service principal (and so
// its consents), as deleting it in the portal does.
func (s *Server) DeleteApp(appID string) error {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	app := d.appByAppID(appID)
	if app == nil {
		return fmt.Errorf("%w: application %s", ErrNotFound, appID)
	}
	for i, a := range d.apps {
		if a == app {
			d.apps = append(d.apps[:i], d.apps[i+1:]...)
			break
		}
	}
	delete(d.appByID, app.ID)
	if sp := d.spByAppID(appID); sp != nil {
		d.removeServicePrincipal(sp)
	}
	return nil
}

// appByAppID is the application with appId, visible or not.
func (d *directory) appByAppID(appID string) *object {
	for _, a := range d.apps {
		if a.Props["appId"] == appID {
			return a
		}
	}
	return nil
}

// lifecycleRoutes serves the calls above under /_sim/apps/{appId}/….
func (s *Server) lifecycleRoutes(mux *http.ServeMux) {
	reply := func(w http.ResponseWriter, result any, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, 200, result)
	}
	ok := map[string]string{"status": "ok"}
	// Body: {"keyId": "…" (optional: every password), "end": RFC 3339 time}
	// or {"keyId": …, "in": Go duration from now} ("-1h" expires it).
	mux.HandleFunc("POST /_sim/apps/{appId}/secret-end", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			KeyID string    `json:"keyId"`
			End   time.Time `json:"end"`
			In    string    `json:"in"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		end := b.End
		if b.In != "" {
			d, err := time.ParseDuration(b.In)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			end = s.now().Add(d)
		}
		if end.IsZero() {
			http.Error(w, `give "end" or "in"`, http.StatusBadRequest)
			return
		}
		reply(w, ok, s.SetSecretEnd(r.PathValue("appId"), b.KeyID, end))
	})
	mux.HandleFunc("DELETE /_sim/apps/{appId}/secrets/{keyId}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, s.RemoveSecret(r.PathValue("appId"), r.PathValue("keyId")))
	})
	mux.HandleFunc("DELETE /_sim/apps/{appId}/consent", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.RevokeConsent(r.PathValue("appId"))
		reply(w, map[string]int{"removed": n}, err)
	})
	mux.HandleFunc("DELETE /_sim/apps/{appId}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, s.DeleteApp(r.PathValue("appId")))
	})
}
