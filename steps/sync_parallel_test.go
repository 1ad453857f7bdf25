package steps_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/entrawiz/entrawiz/graphapi/sim"
	"github.com/entrawiz/entrawiz/steps"
)

// Three picked groups (5,000 users each, six pages) are read side by side:
// a run stopped after six pages has pages of more than one group staged,
// resumes every group where it stood without asking for a page twice, and
// ends with the tenant's truth.
func TestSyncReadsGroupsSideBySide(t *testing.T) {
	h := newSyncTenant(t, sim.Options{Users: 15000, Groups: 3})
	var picked []string
	for _, name := range []string{"Sales Team 1", "Marketing Team 2", "Engineering Team 3"} {
		picked = append(picked, h.group(t, name))
	}
	stopped := errors.New("stopped")
	h.ResetRequests()
	_, err := h.sync(picked, func(o *steps.SyncOptions) {
		o.AfterPage = func(n int) error {
			if n == 7 { // the delta links, then six pages of users
				return stopped
			}
			return nil
		}
	})
	if !errors.Is(err, stopped) {
		t.Fatalf("want the stop, got %v", err)
	}
	st, err := h.db.Staged(context.Background())
	if err != nil || st == nil || len(st.Walks) != 3 {
		t.Fatalf("staged: %+v %v", st, err)
	}
	read := 0
	for _, w := range st.Walks {
		if w.Link != "" {
			read++
		}
	}
	if read < 2 {
		t.Errorf("after six pages, %d of the groups had a page staged, want them read side by side: %+v", read, st.Walks)
	}
	h.ResetRequests()
	res := h.mustSync(t, picked, nil)
	if !res.Resumed || res.Plan.Created != 15001 {
		t.Fatalf("resumed %v, plan %+v; want all 15,001 users created", res.Resumed, res.Plan)
	}
	// A group with pages staged went on from its saved link: its first
	// page was not asked for again.
	for i, w := range st.Walks {
		if w.Link == "" {
			continue
		}
		for _, r := range h.Requests() {
			if strings.Contains(r.Path, "/groups/"+st.Dirty[i]+"/transitiveMembers/") && strings.HasSuffix(r.Path, "graph.user") &&
				!strings.Contains(r.Query, "skiptoken") {
				t.Errorf("group %d was read again from its first page: %s?%s", i, r.Path, r.Query)
			}
		}
	}
	h.assertTruth(t, picked)
}
