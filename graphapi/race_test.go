package graphapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/graphapi/sim"
)

// TestNewClientWhileRequestsRun makes Graph clients while other clients'
// requests are being answered and parsed, as the wizard does when it makes
// the app-only client during the admin's run. msgraph-sdk-go's
// NewGraphServiceClient writes the kiota backing-store factory, a package
// global that every model and Graph error read while a response is parsed;
// under -race this test reports that write unless NewClient leaves the
// global alone after the first client.
func TestNewClientWhileRequestsRun(t *testing.T) {
	srv := startSim(t, sim.Options{})
	c, a := adminClient(t, srv, nil)
	ctx := ctxT(t)
	app, err := c.CreateApplication(ctx, graphapi.ApplicationSpec{DisplayName: "race"})
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	const missing = "00000000-0000-0000-0000-00000000dead"

	const makers, readers, rounds = 3, 3, 8
	start := make(chan struct{})
	errs := make(chan error, (makers+readers)*rounds*2)
	var wg sync.WaitGroup
	for range makers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range rounds {
				nc, err := graphapi.NewClient(graphapi.ClientOptions{Cloud: srv.cloud, HTTPClient: srv.hc, Tokens: a})
				if err != nil {
					errs <- err
					return
				}
				// The new client must work: a Graph error from it is parsed too.
				_, err = nc.GetApplication(ctx, missing)
				if err == nil || graphapi.Classify(err).Kind != graphapi.KindNotFound {
					errs <- fmt.Errorf("new client: get missing application: want not found, got %v", err)
				}
			}
		}()
	}
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range rounds {
				got, err := c.GetApplication(ctx, app.ObjectID)
				if err != nil {
					errs <- fmt.Errorf("get application: %w", err)
				} else if got.AppID != app.AppID {
					errs <- fmt.Errorf("get application: app ID %q, want %q", got.AppID, app.AppID)
				}
				_, err = c.GetApplication(ctx, missing)
				if err == nil || graphapi.Classify(err).Kind != graphapi.KindNotFound {
					errs <- fmt.Errorf("get missing application: want not found, got %v", err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
