package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// Forget removes a connection's secrets from the keyring. With deleteApp it
// first deletes the app registration in Entra (its enterprise app goes with
// it); an app already gone is not an error.
func Forget(ctx context.Context, g Graph, secrets store.Secrets, conn *store.Connection, deleteApp bool) error {
	if deleteApp && conn.App.ObjectID != "" {
		if g == nil {
			return errors.New("deleting the app needs a sign-in")
		}
		err := g.DeleteApplication(ctx, conn.App.ObjectID)
		if err != nil && !graphapi.IsKind(err, graphapi.KindNotFound) {
			return fmt.Errorf("delete the app registration: %w", err)
		}
	}
	var errs []error
	for _, s := range conn.Secrets {
		if s.KeyringName != "" {
			if err := secrets.Delete(s.KeyringName); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
