package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// policyGraph is a Graph whose only working call is the lifetime policy.
type policyGraph struct {
	Graph
	pol *graphapi.SecretLifetimePolicy
	err error
}

func (g policyGraph) SecretLifetimePolicy(context.Context) (*graphapi.SecretLifetimePolicy, error) {
	return g.pol, g.err
}

func TestChooseLifetime(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p90 := &graphapi.SecretLifetimePolicy{Enforced: true, MaxLifetime: 90 * 24 * time.Hour, MaxLifetimeISO: "P90D"}
	forbidden := &graphapi.Error{Kind: graphapi.KindForbidden, Code: "Authorization_RequestDenied"}
	for _, tc := range []struct {
		name     string
		days     int
		g        Graph
		wantDays float64
		note     string
	}{
		{"no policy reader", 365, nil, 365, ""},
		{"policy unreadable", 365, policyGraph{err: forbidden}, 365, ""},
		{"policy off", 365, policyGraph{pol: &graphapi.SecretLifetimePolicy{}}, 365, ""},
		{"inside the policy", 30, policyGraph{pol: p90}, 30, ""},
		{"capped", 365, policyGraph{pol: p90}, 90 - 1.0/24, "at most 90 days (P90D)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{Env: &Env{Graph: tc.g, Now: func() time.Time { return now }}, Profile: &Profile{Secret: &SecretSpec{LifetimeDays: tc.days}}}
			lt := ChooseLifetime(context.Background(), r)
			if got := lt.End.Sub(now).Hours() / 24; fmt.Sprintf("%.3f", got) != fmt.Sprintf("%.3f", tc.wantDays) {
				t.Errorf("lifetime %.3f days, want %.3f", got, tc.wantDays)
			}
			if tc.note == "" && lt.Note != "" || !strings.Contains(lt.Note, tc.note) {
				t.Errorf("note %q, want %q", lt.Note, tc.note)
			}
		})
	}
}

func TestExplainLifetimeRefusal(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	refusal := &graphapi.Error{Kind: graphapi.KindBadInput, Code: "CredentialInvalidLifetimeAsPerAppPolicy", Status: 400,
		Message: "Credential lifetime exceeds the max value allowed as per assigned policy '00000000-0000-0000-0000-000000000000'."}
	lt := Lifetime{End: now.AddDate(0, 0, 365)}
	err := explainLifetimeRefusal(fmt.Errorf("wrapped: %w", refusal), lt, now)
	var ge *graphapi.Error
	if !errors.As(err, &ge) || !strings.Contains(ge.Message, "365 days") || !strings.Contains(ge.Remedy, "Policy.Read.All") {
		t.Fatalf("unreadable policy: %v / %+v", err, ge)
	}
	lt.Policy = &graphapi.SecretLifetimePolicy{Enforced: true, MaxLifetime: 180 * 24 * time.Hour, MaxLifetimeISO: "P180D"}
	err = explainLifetimeRefusal(refusal, lt, now)
	if !errors.As(err, &ge) || !strings.Contains(ge.Message, "at most 180 days (P180D)") || !strings.Contains(ge.Remedy, "180 or less") {
		t.Fatalf("known maximum: %+v", ge)
	}
	other := errors.New("network down")
	if explainLifetimeRefusal(other, lt, now) != other {
		t.Fatal("other errors must pass through")
	}
}

// refusingGraph refuses addPassword beyond max, as Entra does with a
// lifetime policy, and serves the policy when readable.
type refusingGraph struct {
	policyGraph
	max  time.Duration
	now  time.Time
	adds []time.Time
}

func (g *refusingGraph) AddPassword(_ context.Context, _, name string, end time.Time) (*graphapi.NewSecret, error) {
	g.adds = append(g.adds, end)
	if end.Sub(g.now) > g.max {
		return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Code: "CredentialInvalidLifetimeAsPerAppPolicy", Status: 400}
	}
	return &graphapi.NewSecret{PasswordCredential: graphapi.PasswordCredential{KeyID: "k", DisplayName: name, End: end}, Value: "v"}, nil
}

func TestAddWithinPolicyAfterRefusal(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p90 := &graphapi.SecretLifetimePolicy{Enforced: true, MaxLifetime: 90 * 24 * time.Hour, MaxLifetimeISO: "P90D"}
	for _, tc := range []struct {
		name      string
		readable  bool
		wantAdds  int
		wantError string
	}{
		{"policy readable: capped and tried again", true, 2, ""},
		{"policy unreadable: a clear refusal", false, 1, "refuses a client secret of 365 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &refusingGraph{max: 90 * 24 * time.Hour, now: now}
			if tc.readable {
				g.pol = p90
			} else {
				g.err = &graphapi.Error{Kind: graphapi.KindForbidden}
			}
			r := &Run{Env: &Env{Graph: g, Now: func() time.Time { return now }}, Profile: &Profile{Secret: &SecretSpec{LifetimeDays: 365}},
				Conn: &store.Connection{}}
			_, _, err := addWithinPolicy(context.Background(), r, "entrawiz x", false)
			if len(g.adds) != tc.wantAdds {
				t.Errorf("%d addPassword calls, want %d", len(g.adds), tc.wantAdds)
			}
			if tc.wantError == "" && err != nil || tc.wantError != "" && (err == nil || !strings.Contains(err.Error(), tc.wantError)) {
				t.Errorf("error %v, want %q", err, tc.wantError)
			}
		})
	}
}
