package graphapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

func TestThrottlingIsRetried(t *testing.T) {
	t.Parallel() // mostly waiting: run beside the other waiting tests
	srv := startSim(t, sim.Options{})
	trace := &syncBuffer{}
	c, _ := adminClient(t, srv, graphapi.NewTracer(trace))
	ctx := ctxT(t)
	tests := []struct {
		name      string
		faults    sim.Faults
		status    int
		minWaitMs int64 // per faulted request
	}{
		// Graph sends fractional Retry-After; kiota alone would truncate
		// 0.5 to 0 and retry at once.
		{name: "429 with fractional Retry-After", faults: sim.Faults{ThrottleEvery: 3, RetryAfter: 500 * time.Millisecond}, status: 429, minWaitMs: 500},
		{name: "503 with Retry-After", faults: sim.Faults{ServerErrorEvery: 4, RetryAfter: time.Second}, status: 503, minWaitMs: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetFaults(tt.faults)
			defer srv.SetFaults(sim.Faults{})
			srv.ResetRequests()
			retried0 := c.Retried()
			start := time.Now()
			for i := range 6 {
				if _, err := c.Organization(ctx); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			took := time.Since(start)
			faulted := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Status == tt.status })
			ok := countRequests(srv, func(r sim.LoggedRequest) bool { return r.Service == "graph" && r.Status == 200 })
			if faulted < 1 || ok != 6 {
				t.Fatalf("%d × %d, %d × 200", faulted, tt.status, ok)
			}
			if got := c.Retried() - retried0; got != int64(faulted) {
				t.Errorf("the client counted %d retried answers, the tenant sent %d", got, faulted)
			}
			if min := time.Duration(int64(faulted)*tt.minWaitMs) * time.Millisecond; took < min {
				t.Fatalf("%d retries took %s, Retry-After asks for at least %s", faulted, took, min)
			}
		})
	}
	if !strings.Contains(trace.String(), " retry=1") || !strings.Contains(trace.String(), " 429 ") || !strings.Contains(trace.String(), "retry-after=") {
		t.Errorf("trace does not show the retries:\n%s", trace.String())
	}
}

func TestThrottlingBeyondRetriesIsClassified(t *testing.T) {
	t.Parallel() // mostly waiting: run beside the other waiting tests
	srv := startSim(t, sim.Options{})
	c, a := adminClient(t, srv, nil)
	fast, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	srv.SetFaults(sim.Faults{ThrottleEvery: 1, RetryAfter: 100 * time.Millisecond})
	_, err = fast.Organization(ctxT(t))
	e := wantKind(t, err, graphapi.KindThrottled, "TooManyRequests")
	if e.Status != 429 {
		t.Fatalf("status %d", e.Status)
	}
}

// TestReplicationDelayIsWaitedOut creates objects that name the one made
// just before (an app's service principal, its role assignments) while the
// tenant refuses such references for a while, and while reads lag too.
func TestReplicationDelayIsWaitedOut(t *testing.T) {
	t.Parallel() // mostly waiting: run beside the other waiting tests
	const delay = 2 * time.Second
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)
	cat, err := c.GraphPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := cat.Resolve([]string{"User.Read.All"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(sim.Faults{ReferenceDelay: delay, ReplicationDelay: delay})
	defer srv.SetFaults(sim.Faults{})

	backoff := graphapi.Backoff{Initial: 250 * time.Millisecond, Max: time.Second, Budget: 30 * time.Second}
	var waits []time.Duration
	onWait := func(attempt int, d time.Duration, e *graphapi.Error) {
		if e.Kind != graphapi.KindNotFoundYet && e.Kind != graphapi.KindNotFound {
			t.Errorf("waited on %v", e)
		}
		waits = append(waits, d)
	}

	start := time.Now()
	app, err := c.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "replication", RequiredResourceAccess: []graphapi.ResourceAccess{ra}})
	if err != nil {
		t.Fatal(err)
	}
	var sp *graphapi.ServicePrincipal
	err = graphapi.Retry(ctx, backoff, onWait, func(ctx context.Context) error {
		sp, err = c.CreateServicePrincipal(ctx, app.AppID)
		return err
	})
	if err != nil {
		t.Fatalf("service principal: %v", err)
	}
	if len(waits) == 0 {
		t.Fatal("service principal created at once despite replication delay")
	}
	err = graphapi.Retry(ctx, backoff, onWait, func(ctx context.Context) error {
		_, err := c.GrantAppRoles(ctx, sp.ID, cat.ServicePrincipalID, ra.RoleIDs)
		return err
	})
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	if took := time.Since(start); took > 2*delay+4*time.Second {
		t.Errorf("took %s for two objects with %s replication delay", took, delay)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] > time.Second {
			t.Errorf("wait %d is %s, above Max", i, waits[i])
		}
	}
}

func TestAppOnlyReplicationIsWaitedOut(t *testing.T) {
	t.Parallel() // mostly waiting: run beside the other waiting tests
	const delay = 2 * time.Second
	srv := startSim(t, sim.Options{})
	c, _ := adminClient(t, srv, nil)
	ctx := ctxT(t)
	roles := []string{"User.Read.All"}
	app, _, _ := setupApp(t, c, "fresh secret", roles)
	srv.SetFaults(sim.Faults{ReplicationDelay: delay})
	defer srv.SetFaults(sim.Faults{})
	secret, err := c.AddPassword(ctx, app.ObjectID, "new", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := graphapi.NewApp(graphapi.AppOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tenant: srv.Info().TenantID, ClientID: app.AppID, Secret: secret.Value})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		backoff   graphapi.Backoff
		wantKind  graphapi.Kind
		wantWaits bool
	}{
		{name: "not opted in: fails at once", backoff: graphapi.Backoff{Initial: 200 * time.Millisecond}, wantKind: graphapi.KindInvalidSecret},
		{name: "opted in: waits", backoff: graphapi.Backoff{Initial: 200 * time.Millisecond, Max: 500 * time.Millisecond, Budget: 20 * time.Second, RetryInvalidSecret: true}, wantWaits: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waits := 0
			var tok graphapi.AppToken
			err := graphapi.Retry(ctx, tt.backoff, func(int, time.Duration, *graphapi.Error) { waits++ }, func(ctx context.Context) error {
				var err error
				tok, err = a.VerifyRoles(ctx, roles)
				return err
			})
			if tt.wantKind != graphapi.KindUnknown {
				wantKind(t, err, tt.wantKind, "AADSTS7000215")
				if waits != 0 {
					t.Errorf("waited %d times", waits)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if waits == 0 || len(tok.Roles) != 1 {
				t.Fatalf("waits %d, token %+v", waits, tok)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	notYet := &graphapi.Error{Kind: graphapi.KindNotFoundYet, Code: "Request_BadRequest", Remedy: "wait"}
	badSecret := &graphapi.Error{Kind: graphapi.KindInvalidSecret, Code: "AADSTS7000215", Remedy: "fix"}
	forbidden := &graphapi.Error{Kind: graphapi.KindForbidden, Code: "Authorization_RequestDenied", Remedy: "ask"}
	fast := graphapi.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Budget: time.Second}
	tests := []struct {
		name      string
		backoff   graphapi.Backoff
		errs      []error // returned by successive attempts; then nil
		wantCalls int
		wantErr   bool
		wantKind  graphapi.Kind
	}{
		{name: "succeeds after replication", backoff: fast, errs: []error{notYet, notYet}, wantCalls: 3},
		{name: "404 right after create", backoff: fast, errs: []error{&graphapi.Error{Kind: graphapi.KindNotFound}}, wantCalls: 2},
		{name: "other errors are not retried", backoff: fast, errs: []error{forbidden}, wantCalls: 1, wantErr: true, wantKind: graphapi.KindForbidden},
		{name: "invalid secret only when opted in", backoff: fast, errs: []error{badSecret}, wantCalls: 1, wantErr: true, wantKind: graphapi.KindInvalidSecret},
		{name: "invalid secret opted in", backoff: graphapi.Backoff{Initial: time.Millisecond, RetryInvalidSecret: true}, errs: []error{badSecret}, wantCalls: 2},
		{name: "plain errors are classified", backoff: fast, errs: []error{errors.New("boom")}, wantCalls: 1, wantErr: true, wantKind: graphapi.KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var delays []time.Duration
			err := graphapi.Retry(context.Background(), tt.backoff, func(_ int, d time.Duration, _ *graphapi.Error) { delays = append(delays, d) },
				func(context.Context) error {
					calls++
					if calls <= len(tt.errs) {
						return tt.errs[calls-1]
					}
					return nil
				})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if len(delays) != calls-1 && err == nil {
				t.Errorf("onWait called %d times for %d calls", len(delays), calls)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, tt.wantKind, "")
		})
	}

	t.Run("backoff doubles up to Max", func(t *testing.T) {
		var delays []time.Duration
		b := graphapi.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Budget: 30 * time.Millisecond}
		err := graphapi.Retry(context.Background(), b, func(_ int, d time.Duration, _ *graphapi.Error) { delays = append(delays, d) },
			func(context.Context) error { return notYet })
		if len(delays) < 4 || delays[0] != time.Millisecond || delays[1] != 2*time.Millisecond || delays[2] != 4*time.Millisecond || delays[3] > 4*time.Millisecond {
			t.Fatalf("delays %v", delays)
		}
		e := wantKind(t, err, graphapi.KindNotFoundYet, "")
		if !strings.Contains(e.Remedy, "Still failing after waiting") {
			t.Errorf("remedy after budget: %q", e.Remedy)
		}
	})

	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		err := graphapi.Retry(ctx, graphapi.Backoff{Initial: time.Hour}, func(int, time.Duration, *graphapi.Error) { cancel() },
			func(context.Context) error { return notYet })
		wantKind(t, err, graphapi.KindCanceled, "canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(err, context.Canceled) is false for %v", err)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		d := graphapi.DefaultBackoff()
		if d.Initial != time.Second || d.Max != 10*time.Second || d.Budget != 3*time.Minute {
			t.Fatalf("default backoff %+v", d)
		}
	})
}
