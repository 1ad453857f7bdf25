package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/entrawiz/entrawiz/app"
	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// groupsFake is the fake Backend's tenant groups and sync runs.
type groupsFake struct {
	groups   []graphapi.Group
	nested   map[string]int
	pickErr  error
	picked   []string
	dryRun   *steps.SyncResult
	realRun  *steps.SyncResult
	syncErr  error // returned by a real run
	progress []steps.SyncProgress
	runs     []store.RunRecord
	// hold, when set, blocks a real run until closed, so a test can look
	// at the screen mid-run.
	hold chan struct{}
	// step, when set, makes a real run wait for a value on it before each
	// progress event but the first, so a test sees every one on screen.
	step chan struct{}
}

func manyGroups(n int) []graphapi.Group {
	out := make([]graphapi.Group, n)
	for i := range out {
		out[i] = graphapi.Group{ID: fmt.Sprintf("g-%05d", i), DisplayName: fmt.Sprintf("Team %05d", i)}
	}
	out[3].DisplayName = "Sales EMEA"
	out[7].DisplayName = "Sales US"
	return out
}

// SearchGroups pages through the matching groups; a next link is
// "next|search|offset".
func (f *fakeBackend) SearchGroups(ctx context.Context, connection string, q graphapi.GroupQuery) (*graphapi.GroupPage, error) {
	search, off, top := q.Search, 0, q.Top
	if q.NextLink != "" {
		parts := strings.Split(q.NextLink, "|")
		search = parts[1]
		off, _ = strconv.Atoi(parts[2])
		top, _ = strconv.Atoi(parts[3])
	}
	f.record(fmt.Sprintf("SearchGroups %q %d", search, off))
	match := f.gf.groups
	if search != "" {
		match = nil
		for _, g := range f.gf.groups {
			if strings.Contains(strings.ToLower(g.DisplayName), strings.ToLower(search)) {
				match = append(match, g)
			}
		}
	}
	page := &graphapi.GroupPage{Count: -1}
	if q.NextLink == "" {
		page.Count = int64(len(match))
	}
	end := min(off+top, len(match))
	page.Groups = match[off:end]
	if end < len(match) {
		page.NextLink = fmt.Sprintf("next|%s|%d|%d", search, end, top)
	}
	return page, nil
}

func (f *fakeBackend) GroupCounts(ctx context.Context, connection, groupID string) (GroupCounts, error) {
	f.record("GroupCounts " + groupID)
	return GroupCounts{Users: int64(len(groupID) * 10), Nested: f.gf.nested[groupID]}, nil
}

func (f *fakeBackend) PickGroups(ctx context.Context, connection string, ids []string) ([]steps.PickedGroup, error) {
	f.record("PickGroups " + strings.Join(ids, ","))
	if f.gf.pickErr != nil {
		return nil, f.gf.pickErr
	}
	var out []steps.PickedGroup
	for _, id := range ids {
		name := id
		for _, g := range f.gf.groups {
			if g.ID == id {
				name = g.DisplayName
			}
		}
		out = append(out, steps.PickedGroup{ID: id, DisplayName: name})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gf.picked = ids
	// Saved on the connection, as the real one does, so the dashboard
	// shows the pick.
	for i := range f.conns {
		if c := &f.conns[i]; c.Name == connection {
			c.State.Groups = out
		}
	}
	return out, nil
}

func (f *fakeBackend) Sync(ctx context.Context, connection string, req SyncRequest, report func(steps.Event)) (*steps.SyncResult, error) {
	f.record(fmt.Sprintf("Sync dry=%v allow=%v", req.DryRun, req.AllowMassDisable))
	if req.DryRun {
		return f.gf.dryRun, nil
	}
	for i, p := range f.gf.progress {
		if i > 0 && f.gf.step != nil {
			select {
			case <-f.gf.step:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		report(steps.Event{Step: "sync", Kind: steps.StepProgress, Sync: &p, Message: fmt.Sprintf("page %d: %d users read", p.Pages, p.Users)})
	}
	if f.gf.hold != nil {
		select {
		case <-f.gf.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// Lifting the limits lets a run the safety limits stopped go through.
	var se *steps.SafetyError
	if f.gf.syncErr != nil && !(req.AllowMassDisable && errors.As(f.gf.syncErr, &se)) {
		return nil, f.gf.syncErr
	}
	return f.gf.realRun, nil
}

func (f *fakeBackend) SyncRuns(ctx context.Context, connection string, n int) ([]store.RunRecord, error) {
	f.record("SyncRuns")
	return f.gf.runs, nil
}

func (f *fakeBackend) CheckTenant(ctx context.Context, connection string) (*app.LiveView, error) {
	return nil, nil
}
