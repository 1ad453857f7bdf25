package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// groupDeleter deletes a group (graphapi.Client does).
type groupDeleter interface {
	DeleteGroup(ctx context.Context, id string) error
}

// DeleteCreatedGroup deletes the security group the setup created for the
// connection; a group already gone is not an error. It returns the group's
// name, or "" when the setup created none.
func DeleteCreatedGroup(ctx context.Context, g Graph, conn *store.Connection) (string, error) {
	grp := conn.State.Group
	if grp == nil || grp.ID == "" {
		return "", nil
	}
	gd, ok := g.(groupDeleter)
	if !ok {
		return "", errors.New("deleting the group needs a sign-in")
	}
	if err := gd.DeleteGroup(ctx, grp.ID); err != nil && !graphapi.IsKind(err, graphapi.KindNotFound) {
		return "", fmt.Errorf("delete the group %s: %w", grp.DisplayName, err)
	}
	return grp.DisplayName, nil
}

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
