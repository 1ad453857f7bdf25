package steps_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// TestStoppedBetweenCreateAndSave: a setup killed after Entra made the app
// but before its IDs were saved, re-run at once while Entra still hides
// the new app from lists, waits for it and makes no second app.
func TestStoppedBetweenCreateAndSave(t *testing.T) {
	h := newRegTenant(t)
	h.Srv.SetFaults(sim.Faults{ReplicationDelay: 2 * time.Second})
	ctx := context.Background()
	env, _ := h.env(20 * time.Second)

	// What is on disk: each save copies the connection; the save after
	// the create fails, as a process killed there never makes it.
	var disk store.Connection
	saves := 0
	killed := errors.New("killed")
	env.Save = func(c *store.Connection) error {
		saves++
		if saves > 1 {
			return killed
		}
		disk = *c
		return nil
	}
	conn := h.conn(nil)
	plan, err := steps.Preflight(ctx, env, h.profile, conn, h.Info.AdminUPN)
	if err != nil {
		t.Fatal(err)
	}
	run := &steps.Run{Env: env, Profile: h.profile, Conn: conn, Plan: plan}
	if err := run.Execute(ctx, []steps.Step{steps.RegisterApp()}); !errors.Is(err, killed) {
		t.Fatalf("the first run: %v, want it stopped at the save after the create", err)
	}
	if disk.App.ObjectID != "" || disk.State.CreatingApp == nil {
		t.Fatalf("on disk: app %+v, creating %v; want no IDs and the sign of the create", disk.App, disk.State.CreatingApp)
	}
	if appCreates(h.Srv) != 1 {
		t.Fatalf("%d creates, want 1", appCreates(h.Srv))
	}

	env.Save = func(c *store.Connection) error { disk = *c; return nil }
	again := disk
	plan, err = steps.Preflight(ctx, env, h.profile, &again, h.Info.AdminUPN)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Existing == nil {
		t.Fatalf("the re-run did not find the app the stopped run made; plan %+v", plan.Items)
	}
	run = &steps.Run{Env: env, Profile: h.profile, Conn: &again, Plan: plan}
	if err := run.Execute(ctx, []steps.Step{steps.RegisterApp()}); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if n := appCreates(h.Srv); n != 1 {
		t.Fatalf("%d apps made, want 1", n)
	}
	if again.App.ObjectID != plan.Existing.ObjectID || again.State.CreatingApp != nil {
		t.Fatalf("after the re-run: app %+v, creating %v", again.App, again.State.CreatingApp)
	}
}
