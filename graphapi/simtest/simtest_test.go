package simtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/graphapi/simtest"
)

// TestAdmin: the administrator is signed in whether the sim approves device
// codes by itself or waits for the control API, and the Graph client acts
// as them.
func TestAdmin(t *testing.T) {
	for _, approve := range []string{"manual", "auto"} {
		t.Run(approve, func(t *testing.T) {
			t.Parallel()
			tn := simtest.Start(t, sim.Options{Users: 3, Groups: 1, Approve: approve})
			admin, g := tn.Admin(t, []string{"User.Read"})
			me, err := g.Me(context.Background())
			if err != nil {
				t.Fatalf("read /me: %v", err)
			}
			if !strings.EqualFold(me.UserPrincipalName, tn.Info.AdminUPN) {
				t.Errorf("signed in as %q, want the admin %q", me.UserPrincipalName, tn.Info.AdminUPN)
			}
			if id, ok := admin.Identity(); !ok || !strings.EqualFold(id.UPN, tn.Info.AdminUPN) {
				t.Errorf("admin identity %+v (%v), want %s", id, ok, tn.Info.AdminUPN)
			}
		})
	}
}
