package ui

import (
	"context"
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// Rotate makes the fake's expired connection current again.
func (f *fakeBackend) Rotate(ctx context.Context, connection string, report func(steps.Event)) (*steps.RotateResult, error) {
	f.record("rotate " + connection)
	report(steps.Event{Step: "add-secret", Kind: steps.StepDone, Message: "secret abc… added"})
	f.mu.Lock()
	defer f.mu.Unlock()
	s := store.Secret{KeyID: "11111111-1111-1111-1111-111111111111", Hint: "new", Status: steps.SecretActive,
		End: testNow.AddDate(1, 0, 0)}
	for i := range f.conns {
		if f.conns[i].Name == connection {
			for j := range f.conns[i].Secrets {
				f.conns[i].Secrets[j].Status = steps.SecretRetiring
			}
			f.conns[i].Secrets = append(f.conns[i].Secrets, s)
		}
	}
	return &steps.RotateResult{Connection: connection, Rotated: true, Secret: &s}, nil
}

func TestDashboardRotatesAnExpiredSecret(t *testing.T) {
	f := newFake(t)
	f.conns = testConnections(testNow)
	f.conns[0].Secrets[len(f.conns[0].Secrets)-1].End = testNow.Add(-time.Hour)
	d := newDriver(t, f, Options{Width: 100, Height: 30})
	d.contains("EXPIRED on", "r rotates the secret", "r rotate secret")
	d.press("r")
	// The new secret is handed off as after a setup, hidden until asked for.
	d.contains("Give the product these values", "hidden")
	d.press("enter")
	// Finishing the hand-off returns to the dashboard, not to the setup's
	// finish screen.
	d.contains("new secret new… active until")
	d.lacks("EXPIRED on", "All done")
}
