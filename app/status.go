package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// ConnectionStatus is one connection as `status` and the dashboard show it.
type ConnectionStatus struct {
	Name     string             `json:"name"`
	Profile  string             `json:"profile"`
	Tenant   store.Tenant       `json:"tenant"`
	App      store.App          `json:"app"`
	Enabled  bool               `json:"enabled"`
	Secret   *SecretStatus      `json:"secret,omitempty"`
	LastTest *steps.TestResult  `json:"lastTest,omitempty"`
	LastSync *steps.SyncSummary `json:"lastSync,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	// Credentials are all the app's client secrets, entrawiz-made or not,
	// as the last rotation read them and as entrawiz stored them since.
	Credentials []steps.Credential `json:"credentials,omitempty"`
}

// SecretStatus is the active client secret and when it ends.
type SecretStatus struct {
	KeyID    string    `json:"keyId"`
	Hint     string    `json:"hint"`
	Expires  time.Time `json:"expires"`
	DaysLeft int       `json:"daysLeft"`
	State    string    `json:"state"` // ok, expiring (inside 30 days), expired, unknown
}

// Status describes the named connection, or every one with name "", from
// the saved config alone.
func (a *App) Status(name string) ([]ConnectionStatus, error) {
	cfg, err := store.LoadConfig(a.o.ConfigDir)
	if err != nil {
		return nil, err
	}
	conns := cfg.Connections
	if name != "" {
		c, err := pickConnection(cfg, name)
		if err != nil {
			return nil, err
		}
		conns = []store.Connection{*c}
	}
	now := a.now()
	out := []ConnectionStatus{}
	for i := range conns {
		out = append(out, DescribeConnection(&conns[i], now))
	}
	return out, nil
}

// DescribeConnection is a connection's status at now. Every surface that
// shows a secret's days left counts them here (steps.DaysLeft).
func DescribeConnection(c *store.Connection, now time.Time) ConnectionStatus {
	st := ConnectionStatus{Name: c.Name, Profile: c.Profile, Tenant: c.Tenant, App: c.App, Enabled: c.Enabled,
		LastTest: steps.LastTest(c), LastSync: steps.LastSync(c)}
	if s := steps.ActiveSecret(c); s != nil {
		ss := &SecretStatus{KeyID: s.KeyID, Hint: s.Hint, Expires: s.End, DaysLeft: steps.DaysLeft(now, s.End), State: steps.ExpiryState(now, s.End)}
		switch ss.State {
		case "unknown":
			ss.DaysLeft = 0
			st.Warnings = append(st.Warnings, "the client secret was entered by hand: its expiry is not known")
		case "expired":
			st.Warnings = append(st.Warnings, "the client secret has expired: the product can no longer sign in")
		case "expiring":
			st.Warnings = append(st.Warnings, fmt.Sprintf("the client secret expires in %d days", ss.DaysLeft))
		}
		st.Secret = ss
	} else if c.Profile != "" {
		st.Warnings = append(st.Warnings, "no client secret is stored")
	}
	st.Credentials = connectionCredentials(c, now)
	for _, cr := range st.Credentials {
		if cr.Status == steps.SecretNext {
			st.Warnings = append(st.Warnings, "a rotation stopped before its new secret "+cr.Hint+"… was active: run `entrawiz rotate` to finish it")
		}
	}
	if st.LastTest != nil && !st.LastTest.Passed {
		st.Warnings = append(st.Warnings, "the last connection test failed")
	}
	return st
}

// connectionCredentials merges the app's client secrets as last read with
// the secrets entrawiz stored since, with expiry counted from now.
func connectionCredentials(c *store.Connection, now time.Time) []steps.Credential {
	out := steps.Credentials(c)
	seen := map[string]bool{}
	for i := range out {
		seen[strings.ToLower(out[i].KeyID)] = true
		out[i].Status, out[i].RemoveAfter = "", time.Time{}
		for _, s := range c.Secrets {
			if strings.EqualFold(s.KeyID, out[i].KeyID) {
				out[i].MadeBy, out[i].Status, out[i].RemoveAfter = "entrawiz", s.Status, s.RemoveAfter
				if !s.End.IsZero() {
					out[i].End = s.End
				}
			}
		}
	}
	for _, s := range c.Secrets {
		if !seen[strings.ToLower(s.KeyID)] {
			out = append(out, steps.Credential{KeyID: s.KeyID, DisplayName: s.DisplayName, Hint: s.Hint, Start: s.Start, End: s.End,
				MadeBy: "entrawiz", Status: s.Status, RemoveAfter: s.RemoveAfter})
		}
	}
	for i := range out {
		out[i].DaysLeft, out[i].State = steps.DaysLeft(now, out[i].End), steps.ExpiryState(now, out[i].End)
	}
	return out
}
