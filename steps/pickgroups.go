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
// connection, within the profile's limit on the number of groups. With a
// profile whose sync group is the one it creates, that group stays first
// and the others are extra groups, when the profile allows them.
func PickGroups(ctx context.Context, g GroupReader, conn *store.Connection, p *Profile, ids []string) ([]PickedGroup, error) {
	ids = uniqueIDs(ids)
	var sync, extra []string
	if p != nil && p.Sync != nil && p.Sync.Groups == "created" {
		created := CreatedGroupID(conn)
		if picked := PickedGroups(conn); created == "" && len(picked) > 0 {
			created = picked[0].ID
		}
		for _, id := range ids {
			if !strings.EqualFold(id, created) {
				extra = append(extra, id)
			}
		}
		if len(extra) > 0 && !p.Sync.ExtraGroups {
			name := "the group it creates"
			if p.CreateGroup != nil {
				name = fmt.Sprintf("the group it creates, %q", p.CreateGroup.DisplayName)
			}
			return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "pick groups", Code: "DedicatedGroup",
				Message: fmt.Sprintf("the profile %s syncs %s, and no other", p.Name, name),
				Remedy:  "Add the users to sync to that group in Entra (groups nested in it count too)."}
		}
		if created == "" {
			return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "pick groups", Code: "NoGroupYet",
				Message: fmt.Sprintf("the profile %s syncs the group it creates, which is not made yet", p.Name),
				Remedy:  "Run `entrawiz setup` first."}
		}
		sync = []string{created}
	} else {
		sync = ids
		if p != nil && p.Sync != nil && p.Sync.ExtraGroups && len(ids) > 1 {
			// The first group picked is the sync group, the rest extra.
			n := max(p.Sync.MaxGroups, 1)
			if n < len(ids) {
				sync, extra = ids[:n], ids[n:]
			}
		}
		if p != nil && p.Sync != nil && p.Sync.MaxGroups > 0 && len(sync) > p.Sync.MaxGroups {
			return nil, &graphapi.Error{Kind: graphapi.KindBadInput, Op: "pick groups", Code: "TooManyGroups",
				Message: fmt.Sprintf("the profile %s allows %s; %d were given", p.Name, atMostGroups(p.Sync.MaxGroups), len(ids)),
				Remedy:  "Pick fewer groups, or nest them in one group and pick that."}
		}
	}
	var out []PickedGroup
	for i, id := range append(slices.Clone(sync), extra...) {
		grp, err := g.GetGroup(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", id, err)
		}
		out = append(out, PickedGroup{ID: grp.ID, DisplayName: grp.DisplayName, Extra: i >= len(sync)})
	}
	conn.State.Groups = out
	return out, nil
}

// atMostGroups words a limit on groups: "only 1 group", "at most 3 groups".
func atMostGroups(n int) string {
	if n == 1 {
		return "only 1 group"
	}
	return fmt.Sprintf("at most %d groups", n)
}

func uniqueIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, id) }) {
			out = append(out, id)
		}
	}
	return out
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

// SyncGroupIDs are the IDs of the picked groups whose users are synced:
// extra groups are not, they only group users the sync groups bring.
func SyncGroupIDs(conn *store.Connection) []string {
	var ids []string
	for _, g := range PickedGroups(conn) {
		if !g.Extra {
			ids = append(ids, g.ID)
		}
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
