package app

import (
	"testing"
	"time"

	"github.com/entrawiz/entrawiz/store"
)

func TestMergeConnection(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old := store.Secret{KeyID: "k-old", Status: "active", End: t0.AddDate(1, 0, 0)}
	base := store.Connection{Name: "c", Secrets: []store.Secret{old},
		State: store.State{Sync: &store.SyncSummary{Created: 1}, Test: &store.TestResult{Passed: true}}}
	retiring, next := old, store.Secret{KeyID: "k-new", Status: "active", End: t0.AddDate(2, 0, 0)}
	retiring.Status = "retiring"

	// A rotation wrote while this run (a sync) ran.
	theirs := *cloneConnection(&base)
	theirs.Secrets = []store.Secret{retiring, next}
	theirs.State.Credentials = []store.Credential{{KeyID: "k-new"}}
	// This run changed only the sync summary.
	mine := *cloneConnection(&base)
	mine.State.Sync = &store.SyncSummary{Created: 2}

	got := mergeConnection(cloneConnection(&base), &mine, &theirs)
	if len(got.Secrets) != 2 || got.Secrets[0].Status != "retiring" || got.Secrets[1].KeyID != "k-new" {
		t.Fatalf("secrets %+v: the rotation's were lost", got.Secrets)
	}
	if got.State.Sync.Created != 2 || len(got.State.Credentials) != 1 || !got.State.Test.Passed {
		t.Fatalf("state %+v: a record was lost", got.State)
	}

	// This run removed a secret record that theirs still has, and added one.
	mine2 := *cloneConnection(&base)
	mine2.Secrets = []store.Secret{{KeyID: "k-mine", Status: "next"}}
	got = mergeConnection(cloneConnection(&base), &mine2, &theirs)
	ids := []string{}
	for _, s := range got.Secrets {
		ids = append(ids, s.KeyID)
	}
	if len(ids) != 2 || ids[0] != "k-new" || ids[1] != "k-mine" {
		t.Fatalf("secrets %v, want k-new (theirs) and k-mine (mine), not k-old (removed here)", ids)
	}
}

// TestMergeSecretsEnteredByHand: secrets entered by hand have no key ID;
// their keyring items tell them apart (and one item is one record).
func TestMergeSecretsEnteredByHand(t *testing.T) {
	first := store.Secret{KeyringName: "client-secret/c/manual-1", Status: "active"}
	base := store.Connection{Name: "c", Secrets: []store.Secret{first}}
	mine := *cloneConnection(&base)
	mine.Secrets[0].Status = "replaced"
	mine.Secrets = append(mine.Secrets, store.Secret{KeyringName: "client-secret/c/manual-2", Status: "active"})
	got := mergeConnection(cloneConnection(&base), &mine, cloneConnection(&base))
	if len(got.Secrets) != 2 || got.Secrets[0].Status != "replaced" || got.Secrets[1].Status != "active" {
		t.Fatalf("secrets %+v, want the replaced and the new active one", got.Secrets)
	}
}
