package steps

import (
	"context"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

type fakeGroups map[string]string

func (f fakeGroups) GetGroup(_ context.Context, id string) (*graphapi.Group, error) {
	name, ok := f[id]
	if !ok {
		return nil, &graphapi.Error{Kind: graphapi.KindNotFound, Op: "get group", Message: "not found"}
	}
	return &graphapi.Group{ID: id, DisplayName: name}, nil
}

func TestPickGroups(t *testing.T) {
	groups := fakeGroups{"a": "Sales", "b": "Legal"}
	limited := &Profile{Name: "p", Sync: &SyncSpec{Groups: "pick", MaxGroups: 1}}
	tests := []struct {
		name    string
		profile *Profile
		ids     []string
		want    int
		kind    graphapi.Kind
	}{
		{"two groups", &Profile{Name: "p", Sync: &SyncSpec{Groups: "pick"}}, []string{"a", "b", "a"}, 2, 0},
		{"over the profile's limit", limited, []string{"a", "b"}, 0, graphapi.KindBadInput},
		{"within the limit", limited, []string{"b"}, 1, 0},
		{"unknown group", nil, []string{"a", "zzz"}, 0, graphapi.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &store.Connection{Name: "c"}
			got, err := PickGroups(context.Background(), groups, conn, tt.profile, tt.ids)
			if tt.kind != 0 {
				if !graphapi.IsKind(err, tt.kind) {
					t.Fatalf("want %s, got %v", tt.kind, err)
				}
				if len(PickedGroupIDs(conn)) != 0 {
					t.Fatal("a refused pick was stored")
				}
				return
			}
			if err != nil || len(got) != tt.want || len(PickedGroupIDs(conn)) != tt.want {
				t.Fatalf("got %+v, %v; stored %v", got, err, PickedGroupIDs(conn))
			}
		})
	}
}
