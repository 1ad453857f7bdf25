package app

import (
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// StoredSecret reads the connection's active client secret from the secret
// store, to show the admin once on request. Nothing else reads it to print.
func (a *App) StoredSecret(name string) (string, *store.Secret, error) {
	conn, err := a.Connection(name)
	if err != nil {
		return "", nil, err
	}
	return steps.StoredSecret(a.o.Secrets, conn)
}
