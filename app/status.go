package app

import (
	"cmp"
	"context"
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
	// At is when the status was taken.
	At time.Time `json:"at"`
	// Live is what the tenant said; nil when it was not asked.
	Live *LiveView `json:"live,omitempty"`
	// LocalOnly says why (some of) what is shown comes from the local
	// record alone, not the tenant; "" when the tenant confirmed it all.
	LocalOnly string `json:"localOnly,omitempty"`
	// Problems are what an admin must act on (`status --check`).
	Problems []Problem `json:"problems,omitempty"`
	// Schedule is what `entrawiz schedule install` set up, if readable.
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
}

// SecretStatus is the active client secret and when it ends.
type SecretStatus struct {
	KeyID    string    `json:"keyId"`
	Hint     string    `json:"hint"`
	Expires  time.Time `json:"expires"`
	DaysLeft int       `json:"daysLeft"`
	// State: ok, expiring (inside 30 days), expired, removed (no longer on
	// the app), unknown (entered by hand).
	State string `json:"state"`
	// Source says where Expires comes from: "tenant" (the app's
	// endDateTime, read now) or "local" (the config's record).
	Source string `json:"source"`
}

// StatusRequest is what a status asks for.
type StatusRequest struct {
	// Live asks the tenant, without prompting anyone.
	Live bool
	// Within is how near an expiry counts as a problem (default 30 days).
	Within time.Duration
}

// DefaultExpiryWarning is how near the end a secret is warned of.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// Status describes the named connection, or every one with name "": from
// the saved config, and with req.Live from the tenant too. Nothing is
// written, locally or in the tenant.
func (a *App) Status(ctx context.Context, name string, req StatusRequest) ([]ConnectionStatus, error) {
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
	within := cmp.Or(req.Within, DefaultExpiryWarning)
	out := []ConnectionStatus{}
	for i := range conns {
		var live *LiveView
		if req.Live {
			live = a.checkTenant(ctx, &conns[i])
		}
		st := DescribeConnection(&conns[i], a.now(), live)
		if !req.Live {
			st.LocalOnly = "the tenant was not asked"
		}
		st.Problems = problems(&st, within)
		st.Schedule = a.scheduleStatus(&conns[i])
		out = append(out, st)
	}
	return out, nil
}

// DescribeConnection is a connection's status at now, from its saved
// record and, when live is not nil, what the tenant said about it: the
// tenant's word wins (a secret the tenant expired or removed is said to
// be so, whatever the config remembers). Every surface that shows a
// secret's days left counts them here (steps.DaysLeft).
func DescribeConnection(c *store.Connection, now time.Time, live *LiveView) ConnectionStatus {
	st := ConnectionStatus{Name: c.Name, Profile: c.Profile, Tenant: c.Tenant, App: c.App, Enabled: c.Enabled,
		LastTest: steps.LastTest(c), LastSync: steps.LastSync(c), At: now, Live: live}
	if s := steps.ActiveSecret(c); s != nil {
		ss := &SecretStatus{KeyID: s.KeyID, Hint: s.Hint, Expires: s.End, Source: "local"}
		if live != nil && !live.SecretEnd.IsZero() {
			ss.Expires, ss.Source = live.SecretEnd, "tenant"
		}
		ss.DaysLeft, ss.State = steps.DaysLeft(now, ss.Expires), steps.ExpiryState(now, ss.Expires)
		switch {
		case live != nil && live.AppExists != nil && !*live.AppExists:
			ss.State, ss.DaysLeft, ss.Source = "removed", 0, "tenant"
		case live != nil && live.SecretOnApp != nil && !*live.SecretOnApp:
			ss.State, ss.DaysLeft, ss.Source = "removed", 0, "tenant"
		case live != nil && live.SecretRefused == "invalid":
			ss.State, ss.DaysLeft, ss.Source = "removed", 0, "tenant"
		case live != nil && live.SecretRefused == "expired" && ss.State != "expired":
			ss.State, ss.DaysLeft, ss.Source = "expired", 0, "tenant"
		}
		switch ss.State {
		case "unknown":
			ss.DaysLeft = 0
			st.Warnings = append(st.Warnings, "the client secret was entered by hand: its expiry is not known")
		case "expired":
			st.Warnings = append(st.Warnings, "the client secret has expired: the product can no longer sign in")
		case "removed":
			st.Warnings = append(st.Warnings, "the client secret is no longer on the app: the product can no longer sign in")
		case "expiring":
			st.Warnings = append(st.Warnings, fmt.Sprintf("the client secret expires in %d days", ss.DaysLeft))
		}
		st.Secret = ss
	} else if c.Profile != "" {
		st.Warnings = append(st.Warnings, "no client secret is stored")
	}
	st.Credentials = connectionCredentials(c, now)
	if ss := st.Secret; ss != nil && ss.Source == "tenant" {
		for i := range st.Credentials {
			if strings.EqualFold(st.Credentials[i].KeyID, ss.KeyID) {
				st.Credentials[i].End, st.Credentials[i].DaysLeft, st.Credentials[i].State = ss.Expires, ss.DaysLeft, ss.State
			}
		}
	}
	for _, cr := range st.Credentials {
		if cr.Status == steps.SecretNext {
			st.Warnings = append(st.Warnings, "a rotation stopped before its new secret "+cr.Hint+"… was active: run `entrawiz rotate` to finish it")
		}
	}
	if st.LastTest != nil && !st.LastTest.Passed {
		st.Warnings = append(st.Warnings, "the last connection test failed")
	}
	if live != nil {
		if live.AppExists != nil && !*live.AppExists {
			st.Warnings = append(st.Warnings, "the app registration is gone from the tenant")
		}
		if len(live.MissingPermissions) > 0 {
			st.Warnings = append(st.Warnings, "admin consent is missing for "+strings.Join(live.MissingPermissions, ", "))
		}
		switch {
		case !live.Checked():
			st.LocalOnly = "the tenant could not be asked: " + strings.Join(live.Limits, "; ")
		case len(live.Limits) > 0:
			st.LocalOnly = "partly from the local record: " + strings.Join(live.Limits, "; ")
		}
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
