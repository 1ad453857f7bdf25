package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/store"
)

// PickedGroup is a group whose users are synced.
type PickedGroup = store.PickedGroup

// GroupReader reads groups by ID. *graphapi.Client implements it.
type GroupReader interface {
	GetGroup(ctx context.Context, id string) (*graphapi.Group, error)
}

// PickGroups checks that the groups exist and stores them on the
// connection, within the profile's limit on the number of groups.
func PickGroups(ctx context.Context, g GroupReader, conn *store.Connection, p *Profile, ids []string) ([]PickedGroup, error) {
	if p != nil && p.Sync != nil && p.Sync.MaxGroups > 0 && len(ids) > p.Sync.MaxGroups {
		return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "pick groups", Code: "TooManyGroups",
			Message: fmt.Sprintf("the profile %s allows at most %d groups; %d were given", p.Name, p.Sync.MaxGroups, len(ids)),
			Remedy:  "Pick fewer groups, or nest them in one group and pick that."}
	}
	if p != nil && p.Sync != nil && p.Sync.Groups == "created" {
		if picked := PickedGroups(conn); len(picked) == 1 && !slices.ContainsFunc(ids, func(id string) bool { return !strings.EqualFold(id, picked[0].ID) }) {
			return picked, nil
		}
		name := "the group it creates"
		if p.CreateGroup != nil {
			name = fmt.Sprintf("the group it creates, %q", p.CreateGroup.DisplayName)
		}
		return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "pick groups", Code: "DedicatedGroup",
			Message: fmt.Sprintf("the profile %s syncs %s, and no other", p.Name, name),
			Remedy:  "Add the users to sync to that group in Entra (groups nested in it count too)."}
	}
	seen := map[string]bool{}
	var out []PickedGroup
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		grp, err := g.GetGroup(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", id, err)
		}
		out = append(out, PickedGroup{ID: grp.ID, DisplayName: grp.DisplayName})
	}
	conn.State.Groups = out
	return out, nil
}

// SavedProfile is the profile a connection was set up with, as saved on
// it, or nil when it was not saved (connections made by early versions).
func SavedProfile(conn *store.Connection) *Profile {
	var p Profile
	if raw := conn.State.Profile; raw != nil && json.Unmarshal(raw, &p) == nil && p.Name != "" {
		return &p
	}
	return nil
}

// PickedGroups reads the connection's picked groups.
func PickedGroups(conn *store.Connection) []PickedGroup {
	return conn.State.Groups
}

// PickedGroupIDs is PickedGroups' IDs.
func PickedGroupIDs(conn *store.Connection) []string {
	var ids []string
	for _, g := range PickedGroups(conn) {
		ids = append(ids, g.ID)
	}
	return ids
}

// SyncSummary is the last sync run of a connection, kept for `status`.
type SyncSummary = store.SyncSummary

// RecordSync stores a run's summary on the connection.
func RecordSync(conn *store.Connection, at time.Time, res *SyncResult, err error) {
	s := SyncSummary{At: at}
	if res != nil {
		s.Kind, s.DryRun, s.Took = res.Kind, res.DryRun, res.Took.Round(time.Millisecond).String()
		if p := res.Plan; p != nil {
			s.Created, s.Updated, s.Disabled, s.Deleted, s.Unchanged = p.Created, p.Updated, p.Disabled, p.Deleted, p.Unchanged
		}
	}
	if err != nil {
		s.Error = err.Error()
	}
	conn.State.Sync = &s
}

// LastSync is the connection's last sync run, or nil.
func LastSync(conn *store.Connection) *SyncSummary {
	return conn.State.Sync
}

// RecordProfile keeps the profile a connection is set up with on it.
func RecordProfile(conn *store.Connection, p *Profile) {
	if b, err := json.Marshal(p); err == nil {
		conn.State.Profile = b
	}
}
