package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

type statusOptions struct {
	Connection string
	JSON       bool
}

func newStatusCmd(f *factory) *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show connections: app, secret expiry, consent, last test",
		Long: `Show what entrawiz has set up, from the saved config alone (no sign-in, no network):
each connection's tenant, app, client secret and when it expires (warned inside 30
days), the permissions consented, and the last connection test.`,
		Example: "  entrawiz status\n  entrawiz status --json",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return statusRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Connection, "connection", "", "only this connection (as named by entrawiz status)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON on stdout")
	return cmd
}

// connectionStatus is one connection in `status --json`.
type connectionStatus struct {
	Name     string             `json:"name"`
	Profile  string             `json:"profile"`
	Tenant   store.Tenant       `json:"tenant"`
	App      store.App          `json:"app"`
	Enabled  bool               `json:"enabled"`
	Secret   *secretStatus      `json:"secret,omitempty"`
	LastTest *steps.TestResult  `json:"lastTest,omitempty"`
	LastSync *steps.SyncSummary `json:"lastSync,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
	// Credentials are all the app's client secrets, entrawiz-made or not,
	// as the last rotation read them and as entrawiz stored them since.
	Credentials []steps.Credential `json:"credentials,omitempty"`
}

type secretStatus struct {
	KeyID    string    `json:"keyId"`
	Hint     string    `json:"hint"`
	Expires  time.Time `json:"expires"`
	DaysLeft int       `json:"daysLeft"`
	State    string    `json:"state"` // ok, expiring (inside 30 days), expired
}

func describeConnection(c *store.Connection, now time.Time) connectionStatus {
	st := connectionStatus{Name: c.Name, Profile: c.Profile, Tenant: c.Tenant, App: c.App, Enabled: c.Enabled, LastTest: steps.LastTest(c),
		LastSync: steps.LastSync(c)}
	if s := steps.ActiveSecret(c); s != nil {
		ss := &secretStatus{KeyID: s.KeyID, Hint: s.Hint, Expires: s.End, DaysLeft: daysLeft(now, s.End), State: "ok"}
		switch {
		case s.End.IsZero():
			ss.State, ss.DaysLeft = "unknown", 0
			st.Warnings = append(st.Warnings, "the client secret was entered by hand: its expiry is not known")
		case !s.End.After(now):
			ss.State = "expired"
			st.Warnings = append(st.Warnings, "the client secret has expired: the product can no longer sign in")
		case s.End.Sub(now) < 30*24*time.Hour:
			ss.State = "expiring"
			st.Warnings = append(st.Warnings, fmt.Sprintf("the client secret expires in %d days", ss.DaysLeft))
		}
		st.Secret = ss
	} else if c.Profile != "" {
		st.Warnings = append(st.Warnings, "no client secret is stored")
	}
	st.Credentials = connectionCredentials(c, now)
	for _, cr := range st.Credentials {
		if cr.Status == "" || cr.Status == steps.SecretActive {
			continue
		}
		if cr.Status == steps.SecretNext {
			st.Warnings = append(st.Warnings, "a rotation stopped before its new secret "+cr.Hint+"… was active: run `entrawiz rotate` to finish it")
		}
	}
	if st.LastTest != nil && !st.LastTest.Passed {
		st.Warnings = append(st.Warnings, "the last connection test failed")
	}
	return st
}

func statusRun(ctx context.Context, f *factory, opts *statusOptions) error {
	cfg, _, err := f.loadConfig()
	if err != nil {
		return err
	}
	conns := cfg.Connections
	if opts.Connection != "" {
		c, err := pickConnection(cfg, opts.Connection)
		if err != nil {
			return err
		}
		conns = []store.Connection{*c}
	}
	now := f.now()
	var out []connectionStatus
	for i := range conns {
		out = append(out, describeConnection(&conns[i], now))
	}
	if opts.JSON {
		if out == nil {
			out = []connectionStatus{}
		}
		enc := json.NewEncoder(f.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"connections": out})
	}
	if len(out) == 0 {
		fmt.Fprintln(f.Out, "No connection is set up yet. Run `entrawiz setup --help` to start.")
		return nil
	}
	for _, s := range out {
		fmt.Fprintf(f.Out, "%s\n  tenant   %s (%s)\n  app      %s (%s)\n", s.Name, s.Tenant.DisplayName, s.Tenant.ID, s.App.DisplayName, s.App.AppID)
		switch {
		case s.Secret != nil && s.Secret.State == "unknown":
			fmt.Fprintf(f.Out, "  secret   %s… expiry unknown (entered by hand)\n", s.Secret.Hint)
		case s.Secret != nil:
			fmt.Fprintf(f.Out, "  secret   %s… expires %s (%s, %d days)\n", s.Secret.Hint, s.Secret.Expires.Format("2006-01-02"), s.Secret.State, s.Secret.DaysLeft)
		}
		if s.LastTest != nil {
			res := "passed"
			if !s.LastTest.Passed {
				res = "failed"
			}
			fmt.Fprintf(f.Out, "  tested   %s, %s\n", s.LastTest.At.Local().Format("2006-01-02 15:04"), res)
		}
		for _, cr := range s.Credentials {
			tag := cr.MadeBy
			if cr.Status != "" {
				tag += ", " + cr.Status
			}
			fmt.Fprintf(f.Out, "  key      %s %-22q %s… ends %s (%s, %d days; %s)\n", cr.KeyID, cr.DisplayName, cr.Hint,
				cr.End.Format("2006-01-02"), cr.State, cr.DaysLeft, tag)
		}
		if ls := s.LastSync; ls != nil {
			res := fmt.Sprintf("%s run: %d created, %d updated, %d disabled, %d deleted", ls.Kind, ls.Created, ls.Updated, ls.Disabled, ls.Deleted)
			if ls.DryRun {
				res = "dry " + res
			}
			if ls.Error != "" {
				res = "failed: " + ls.Error
			}
			fmt.Fprintf(f.Out, "  synced   %s, %s\n", ls.At.Local().Format("2006-01-02 15:04"), res)
		}
		fmt.Fprintf(f.Out, "  enabled  %v\n", s.Enabled)
		for _, w := range s.Warnings {
			fmt.Fprintf(f.Out, "  ! %s\n", w)
		}
	}
	return nil
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
