package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
	"github.com/entrawiz/entrawiz/store/storetest"
)

// TestSyncOverlappingRotationKeepsTheDeliveredSecret is D1: a slow sync and
// a rotation with delivery run at once; the sync ends last. The rotation's
// new, delivered secret must stay recorded, and a clean-up afterwards must
// not remove it from Entra or the keyring.
func TestSyncOverlappingRotationKeepsTheDeliveredSecret(t *testing.T) {
	w := newWorld(t, 300, 5, sim.Faults{})
	ctx := context.Background()
	name := w.mustSetup(w.app(nil), "directory-sync")
	all, err := w.srv.GroupID("All Users")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.app(nil).PickGroups(ctx, name, []string{all}, false); err != nil {
		t.Fatalf("pick: %v", err)
	}

	// The sync reads its connection, then waits at its first event.
	g := newGate()
	var syncErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, syncErr = w.app(nil).Sync(ctx, name, SyncRequest{}, g.report)
	}()
	<-g.reached

	var delivered string
	res, err := w.app(nil).Rotate(ctx, name, RotateRequest{Deliver: func(_ context.Context, s string) error {
		delivered = s
		return nil
	}}, nil, nil)
	if err != nil || !res.Rotated {
		t.Fatalf("rotate: %v (%+v)", err, res)
	}
	close(g.open)
	wg.Wait()
	if syncErr != nil {
		t.Fatalf("sync: %v", syncErr)
	}

	conn, err := w.app(nil).Connection(name)
	if err != nil {
		t.Fatal(err)
	}
	active := steps.ActiveSecret(conn)
	if active == nil || active.KeyID != res.Secret.KeyID {
		t.Fatalf("after the sync ended, the active secret is %+v, want the rotated %s", active, res.Secret.KeyID)
	}
	if steps.LastSync(conn) == nil {
		t.Errorf("the sync's summary was lost")
	}

	clean, err := w.app(nil).Rotate(ctx, name, RotateRequest{RotateOptions: steps.RotateOptions{CleanUp: true, Finish: true}}, nil, nil)
	if err != nil {
		t.Fatalf("clean-up: %v", err)
	}
	for _, id := range clean.Removed {
		if strings.EqualFold(id, res.Secret.KeyID) {
			t.Fatalf("clean-up removed the delivered secret %s", id)
		}
	}
	if v, err := w.keys.Get(active.KeyringName); err != nil || v != delivered {
		t.Fatalf("the keyring no longer holds the delivered secret (%v)", err)
	}
	if err := w.works(conn.App.AppID, delivered); err != nil {
		t.Fatalf("the delivered secret no longer signs in: %v", err)
	}
}

// TestTwoRotationsAtOnce: the second is refused at once, naming the first,
// and every secret made is recorded and works.
func TestTwoRotationsAtOnce(t *testing.T) {
	w := newWorld(t, 20, 2, sim.Faults{})
	ctx := context.Background()
	name := w.mustSetup(w.app(nil), "directory-sync")

	g := newGate()
	var first *steps.RotateResult
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, firstErr = w.app(nil).Rotate(ctx, name, RotateRequest{}, nil, g.report)
	}()
	<-g.reached
	_, err := w.app(nil).Rotate(ctx, name, RotateRequest{}, nil, nil)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.Command != "entrawiz test" {
		t.Fatalf("a second rotation: %v, want a BusyError naming the first", err)
	}
	close(g.open)
	<-done
	if firstErr != nil || !first.Rotated {
		t.Fatalf("first rotation: %v", firstErr)
	}
	conn, _ := w.app(nil).Connection(name)
	for _, s := range conn.Secrets {
		v, err := w.keys.Get(s.KeyringName)
		if err != nil {
			t.Fatalf("secret %s recorded but not in the keyring", s.KeyID)
		}
		if err := w.works(conn.App.AppID, v); err != nil {
			t.Fatalf("secret %s does not work: %v", s.KeyID, err)
		}
	}
	if len(conn.Secrets) != 2 {
		t.Fatalf("%d secrets recorded, want the old and the new", len(conn.Secrets))
	}
}

// TestTwoSetupsAtOnce: one app, the second setup refused while the first
// runs, and a re-run after it finds everything done.
func TestTwoSetupsAtOnce(t *testing.T) {
	w := newWorld(t, 20, 2, sim.Faults{})
	ctx := context.Background()
	p, _ := steps.LoadProfile("directory-sync")
	first, err := w.app(nil).NewSetup(p, w.info.TenantDomain)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SignIn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Preflight(ctx, nil); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	done := make(chan error)
	go func() { done <- first.Execute(ctx, g.report) }()
	<-g.reached
	_, err = w.setup(w.app(nil), "directory-sync")
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("a second setup while the first runs: %v, want a BusyError", err)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatalf("first setup: %v", err)
	}
	if _, err := w.setup(w.app(nil), "directory-sync"); err != nil {
		t.Fatalf("setup again: %v", err)
	}
	if apps := w.tagged(w.app(nil), "directory-sync"); len(apps) != 1 {
		t.Fatalf("%d apps in the tenant, want 1", len(apps))
	}
}

// TestSetupPlannedBeforeAnotherFinishedMakesNoSecondApp: two admins' runs
// both plan while nothing exists; the first finishes; the second's execute
// plans again instead of creating another app.
func TestSetupPlannedBeforeAnotherFinishedMakesNoSecondApp(t *testing.T) {
	w := newWorld(t, 20, 2, sim.Faults{})
	ctx := context.Background()
	p, _ := steps.LoadProfile("directory-sync")
	late, err := w.app(nil).NewSetup(p, w.info.TenantDomain)
	if err != nil {
		t.Fatal(err)
	}
	if err := late.SignIn(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := late.Preflight(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.mustSetup(w.app(nil), "directory-sync")
	if err := late.Execute(ctx, nil); err != nil {
		t.Fatalf("the late setup: %v", err)
	}
	if apps := w.tagged(w.app(nil), "directory-sync"); len(apps) != 1 {
		t.Fatalf("%d apps in the tenant, want 1", len(apps))
	}
}

// TestNoTenantWriteWithoutAWorkingSecretStore is D7: with no keyring, a
// locked one or a read-only config directory, setup and rotate change
// nothing in the tenant.
func TestNoTenantWriteWithoutAWorkingSecretStore(t *testing.T) {
	w := newWorld(t, 20, 2, sim.Faults{})
	ctx := context.Background()
	name := w.mustSetup(w.app(nil), "directory-sync")
	writes := func() int {
		n := 0
		for _, r := range w.srv.Requests() {
			if r.IsGraphWrite() {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name    string
		secrets store.Secrets
	}{
		{"no keyring", storetest.NoKeyring{}},
		{"locked keyring", storetest.Failing{Err: store.ErrKeyringLocked}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := writes()
			a := w.app(tc.secrets)
			p, _ := steps.LoadProfile("sso-sync")
			if _, err := a.NewSetup(p, w.info.TenantDomain); !isLocal(err) {
				t.Errorf("setup: %v, want a local precondition error", err)
			}
			if _, err := a.Rotate(ctx, name, RotateRequest{}, nil, nil); !isLocal(err) {
				t.Errorf("rotate: %v, want a local precondition error", err)
			}
			if n := writes() - before; n != 0 {
				t.Errorf("%d writes reached the tenant", n)
			}
		})
	}
	t.Run("config directory not writable", func(t *testing.T) {
		before := writes()
		a := w.app(nil)
		a.o.ConfigDir = filepath.Join(w.dir, "config.json", "sub") // under a file: cannot be made
		p, _ := steps.LoadProfile("directory-sync")
		if _, err := a.NewSetup(p, w.info.TenantDomain); !isLocal(err) {
			t.Errorf("setup: %v, want a local precondition error", err)
		}
		if n := writes() - before; n != 0 {
			t.Errorf("%d writes reached the tenant", n)
		}
	})
}

func isLocal(err error) bool {
	var le *LocalError
	return errors.As(err, &le)
}

// TestInterruptedSetupRerunUnderReplication is D2: a setup stopped just
// after it created the app, run again at once while Entra still hides the
// new app, waits for it instead of creating another.
func TestInterruptedSetupRerunUnderReplication(t *testing.T) {
	const delay = 3 * time.Second
	w := newWorld(t, 20, 2, sim.Faults{ReplicationDelay: delay})
	p, _ := steps.LoadProfile("directory-sync")
	for try := 0; try < 2; try++ {
		s, err := w.app(nil).NewSetup(p, w.info.TenantDomain)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SignIn(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Preflight(context.Background(), nil); err != nil {
			t.Fatalf("try %d: preflight: %v", try, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = s.Execute(ctx, func(ev steps.Event) {
			if ev.Step == "register-app" && ev.Kind == steps.StepProgress {
				cancel() // Ctrl-C just after the app was made and saved
			}
		})
		cancel()
		if try == 0 && !errors.Is(err, context.Canceled) {
			t.Fatalf("the interrupted setup: %v", err)
		}
	}
	name := w.mustSetup(w.app(nil), "directory-sync")
	time.Sleep(delay) // let anything made last become visible before counting
	apps := w.tagged(w.app(nil), "directory-sync")
	if len(apps) != 1 {
		t.Fatalf("%d apps in the tenant after interrupted re-runs, want 1", len(apps))
	}
	conn, _ := w.app(nil).Connection(name)
	if conn.App.ObjectID != apps[0].ObjectID {
		t.Fatalf("the config names app %s, the tenant has %s", conn.App.ObjectID, apps[0].ObjectID)
	}
	secret, _, err := steps.StoredSecret(w.keys, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.works(conn.App.AppID, secret); err != nil {
		t.Fatalf("the stored secret: %v", err)
	}
}

// TestOneSyncAtATime is D3: a second sync while a sync runs is refused at
// once, naming it; a preview beside it plans from what is stored and
// leaves the running sync's stage alone; the running sync finishes and a
// preview afterwards finds nothing left to do.
func TestOneSyncAtATime(t *testing.T) {
	w := newWorld(t, 200, 3, sim.Faults{})
	ctx := context.Background()
	name := w.mustSetup(w.app(nil), "directory-sync")
	all, _ := w.srv.GroupID("All Users")
	if _, _, err := w.app(nil).PickGroups(ctx, name, []string{all}, false); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	done := make(chan error)
	go func() {
		_, _, err := w.app(nil).Sync(ctx, name, SyncRequest{Full: true}, g.report)
		done <- err
	}()
	<-g.reached
	_, _, err := w.app(nil).Sync(ctx, name, SyncRequest{}, nil)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder == nil {
		t.Fatalf("a sync while another runs: %v, want a BusyError naming it", err)
	}
	_, preview, err := w.app(nil).Sync(ctx, name, SyncRequest{DryRun: true}, nil)
	if err != nil {
		t.Fatalf("a preview beside a running sync: %v", err)
	}
	users := preview.Plan.Created
	if users < 200 {
		t.Fatalf("the preview plans %d creates, want every user of All Users", users)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatalf("the running sync: %v", err)
	}
	_, res, err := w.app(nil).Sync(ctx, name, SyncRequest{DryRun: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Plan; p.Created+p.Updated+p.Disabled+p.Deleted != 0 || p.ActiveBefore < 200 {
		t.Fatalf("after the sync, a preview finds changes: %+v (want the users stored)", p)
	}
}

// TestCleanUpNeverRemovesASecretItCannotRead: with the keyring timing out
// on the secrets' items, a clean-up stops instead of taking the active
// secret for an orphan and removing it from Entra and the keyring.
func TestCleanUpNeverRemovesASecretItCannotRead(t *testing.T) {
	w := newWorld(t, 20, 2, sim.Faults{})
	ctx := context.Background()
	name := w.mustSetup(w.app(nil), "directory-sync")
	conn, _ := w.app(nil).Connection(name)
	active := steps.ActiveSecret(conn)
	secret, _ := w.keys.Get(active.KeyringName)

	slow := slowSecretItems{w.keys}
	res, err := w.app(slow).Rotate(ctx, name, RotateRequest{RotateOptions: steps.RotateOptions{CleanUp: true, Finish: true}}, nil, nil)
	if err == nil {
		t.Fatalf("a clean-up that could not read the keyring went ahead: %+v", res)
	}
	if res != nil && len(res.Removed) > 0 {
		t.Fatalf("removed %v", res.Removed)
	}
	if v, err := w.keys.Get(active.KeyringName); err != nil || v != secret {
		t.Fatalf("the active secret's keyring item: %v", err)
	}
	if err := w.works(conn.App.AppID, secret); err != nil {
		t.Fatalf("the active secret no longer works: %v", err)
	}
}

// slowSecretItems is a keyring that answers for its own checks but times
// out on every client secret's item, as a keyring that locks part way does.
type slowSecretItems struct{ store.Secrets }

func (k slowSecretItems) Get(name string) (string, error) {
	if strings.HasPrefix(name, "client-secret/") {
		return "", store.ErrKeyringTimeout
	}
	return k.Secrets.Get(name)
}
