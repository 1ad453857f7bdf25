package ui

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/huh/v2"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
	"github.com/entrawiz/entrawiz/store"
)

// The accessible mode's group picker and sync: the full-screen picker and
// sync screen as prompts.

// syncingConnections are the connections whose profile syncs users.
func (a *accessible) syncingConnections(conns []store.Connection) []store.Connection {
	var out []store.Connection
	for i := range conns {
		if p := connectionProfile(&conns[i], a.b.Profiles()); p != nil && p.Sync != nil {
			out = append(out, conns[i])
		}
	}
	return out
}

// accessibleGroupPage is how many groups are listed at a time: fewer than
// the full-screen picker's page, as each is a line read aloud.
const accessibleGroupPage = 20

// pickGroups is the group picker as prompts: a search on the server, the
// matches numbered one page at a time, then the numbers of the groups to
// pick, which replace the connection's pick.
func (a *accessible) pickGroups(c store.Connection, p *steps.Profile) error {
	if p.Sync.Groups == "created" {
		a.printf("%s syncs the group its setup created, and no other: add the users to sync to that group in Entra.\n\n", c.Name)
		return nil
	}
	limit := p.Sync.MaxGroups
	current := steps.PickedGroups(&c)
	if len(current) > 0 {
		a.printf("Picked now for %s: %s.\n", c.Name, groupNames(current))
	} else {
		a.printf("No groups are picked yet for %s.\n", c.Name)
	}
	var groups []graphapi.Group
	var next string
	total := int64(-1)
	for len(groups) == 0 {
		var term string
		if err := a.form(huh.NewInput().Title("Search the groups by name (leave empty to list them all):").Value(&term)); err != nil {
			return err
		}
		term = strings.TrimSpace(term)
		page, err := a.b.SearchGroups(a.ctx, c.Name, graphapi.GroupQuery{Search: term, Top: accessibleGroupPage})
		if err != nil {
			a.printFailure("Searching the groups failed", err)
			return nil
		}
		switch {
		case len(page.Groups) == 0 && term == "":
			a.printf("The tenant has no groups to pick.\n\n")
			return nil
		case len(page.Groups) == 0:
			a.printf("No group matches %q. Search for another word, or leave it empty to list all the groups.\n", term)
			continue
		case page.Count >= 0 && term == "":
			a.printf("The tenant has %d groups.\n", page.Count)
		case page.Count >= 0:
			a.printf("%d groups match %q.\n", page.Count, term)
		}
		groups, next, total = page.Groups, page.NextLink, page.Count
		a.listGroups(c.Name, groups, 0, total, current)
	}
	for {
		var answer string
		err := a.form(huh.NewInput().Title(numbersPrompt(next != "", limit)).Value(&answer).
			Validate(func(s string) error {
				_, _, err := parseGroupNumbers(s, len(groups), next != "", limit)
				return err
			}))
		if err != nil {
			return err
		}
		nums, more, _ := parseGroupNumbers(answer, len(groups), next != "", limit)
		if more {
			page, err := a.b.SearchGroups(a.ctx, c.Name, graphapi.GroupQuery{NextLink: next})
			if err != nil {
				a.printFailure("Listing more groups failed", err)
				continue
			}
			from := len(groups)
			groups, next = append(groups, page.Groups...), page.NextLink
			a.listGroups(c.Name, groups, from, total, current)
			continue
		}
		if len(nums) == 0 {
			a.printf("The pick was not changed.\n\n")
			return nil
		}
		return a.savePick(c.Name, groups, nums)
	}
}

// savePick confirms the groups numbered nums and saves them as the pick.
func (a *accessible) savePick(name string, groups []graphapi.Group, nums []int) error {
	ids := make([]string, len(nums))
	chosen := make([]steps.PickedGroup, len(nums))
	for i, n := range nums {
		g := groups[n-1]
		ids[i], chosen[i] = g.ID, steps.PickedGroup{ID: g.ID, DisplayName: cmp.Or(g.DisplayName, g.ID)}
	}
	ok, err := a.confirm(fmt.Sprintf("Sync the users of %s? This replaces the current pick.", groupNames(chosen)))
	if err != nil {
		return err
	}
	if !ok {
		a.printf("The pick was not changed.\n\n")
		return nil
	}
	picked, err := a.b.PickGroups(a.ctx, name, ids)
	if err != nil {
		a.printFailure("Saving the pick failed", err)
		return nil
	}
	a.printf("Saved: %d groups picked for %s: %s. The next sync reads their users.\n\n", len(picked), name, groupNames(picked))
	return nil
}

// listGroups prints groups[from:] numbered from from+1 (of total, when
// known), with their member counts where they can be read.
func (a *accessible) listGroups(name string, groups []graphapi.Group, from int, total int64, picked []steps.PickedGroup) {
	page := groups[from:]
	if len(page) == 0 {
		a.printf("No more groups match.\n")
		return
	}
	a.printf("Groups %d to %d", from+1, len(groups))
	if total >= 0 {
		a.printf(" of %d", total)
	}
	a.printf(":\n")
	counts := make([]*GroupCounts, len(page))
	var wg sync.WaitGroup
	for i, g := range page {
		wg.Go(func() {
			if c, err := a.b.GroupCounts(a.ctx, name, g.ID); err == nil {
				counts[i] = &c
			}
		})
	}
	wg.Wait()
	for i, g := range page {
		a.printf("%d. %s", from+i+1, cmp.Or(g.DisplayName, g.ID))
		if c := counts[i]; c != nil {
			if c.Users >= 0 {
				a.printf(", %d users", c.Users)
			}
			if c.Nested > 0 {
				a.printf(", %d nested groups", c.Nested)
			}
		}
		if slices.ContainsFunc(picked, func(p steps.PickedGroup) bool { return p.ID == g.ID }) {
			a.printf(", picked now")
		}
		a.printf(".\n")
	}
}

func numbersPrompt(more bool, limit int) string {
	s := "Enter the numbers of the groups to pick, separated by spaces"
	if limit > 0 {
		s += fmt.Sprintf(", at most %d", limit)
	}
	if more {
		s += "; more lists the next groups"
	}
	return s + "; leave empty to keep the pick as it is:"
}

// parseGroupNumbers reads the answer to numbersPrompt: the numbers of the
// groups to pick (of n listed, at most limit unless 0), or "more" when
// there are more to list.
func parseGroupNumbers(s string, n int, more bool, limit int) (nums []int, wantMore bool, err error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "more") {
		if !more {
			return nil, false, errors.New("all the matching groups are listed already: enter the numbers of the groups to pick")
		}
		return nil, true, nil
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a number: enter the numbers listed before the groups, such as 1 3", f)
		}
		if v < 1 || v > n {
			return nil, false, fmt.Errorf("there is no group %d: the groups listed are numbered 1 to %d", v, n)
		}
		if !slices.Contains(nums, v) {
			nums = append(nums, v)
		}
	}
	if limit > 0 && len(nums) > limit {
		return nil, false, fmt.Errorf("the profile allows at most %d groups and you entered %d: pick fewer, or nest them in one group and pick that", limit, len(nums))
	}
	return nums, false, nil
}

func groupNames(groups []steps.PickedGroup) string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.DisplayName
	}
	return strings.Join(names, ", ")
}

// syncListed is how many changes of each action a preview lists.
const syncListed = 10

// syncUsers previews a sync (a dry run), and when the admin confirms, runs
// it; a run the safety limits stop is run again only on a second, explicit
// confirmation.
func (a *accessible) syncUsers(name string) error {
	a.printf("Previewing the sync of %s: a dry run, nothing is written.\n", name)
	preview, err := a.b.Sync(a.ctx, name, SyncRequest{DryRun: true}, a.syncProgress())
	if err != nil {
		return a.syncFailed(name, "The preview failed", err)
	}
	a.printSyncResult("Preview", preview)
	if preview != nil && preview.Plan != nil {
		for _, action := range []string{"create", "update", "disable", "delete"} {
			a.printChanges(preview.Plan, action, syncListed)
		}
	}
	if preview != nil && preview.Stopped != "" {
		a.printf("A real run would stop: it would disable more than %s. Nothing was changed.\n", preview.Stopped)
		a.printf("Check the picked groups, or run `entrawiz sync --allow-mass-disable` if the removals are meant.\n\n")
		return nil
	}
	ok, err := a.confirm("Run the sync now, making these changes?")
	if err != nil {
		return err
	}
	if !ok {
		a.printf("Nothing was synced.\n\n")
		return nil
	}
	return a.runSync(name, SyncRequest{})
}

// runSync runs a real sync and prints how it went.
func (a *accessible) runSync(name string, req SyncRequest) error {
	a.printf("Synchronizing the users of %s.\n", name)
	res, err := a.b.Sync(a.ctx, name, req, a.syncProgress())
	if err != nil {
		return a.syncFailed(name, "The sync failed", err)
	}
	a.printSyncResult("Synced", res)
	a.printf("\n")
	return nil
}

// syncFailed prints a failed sync; a safety stop shows the users the run
// would disable and asks twice before running it with the limits lifted.
func (a *accessible) syncFailed(name, title string, err error) error {
	var se *steps.SafetyError
	if !errors.As(err, &se) || se.Plan == nil {
		a.printFailure(title, err)
		a.printf("\n")
		return nil
	}
	n := se.Plan.Disabled
	a.printf("Safety stop: the run would disable %d users, more than %s. Nothing was changed.\n", n, se.Limit)
	a.printf("The users it would disable:\n")
	a.printChanges(se.Plan, "disable", len(se.Plan.Changes))
	a.printf("Check the picked groups; if the removals are meant, the sync can run anyway.\n")
	ok, err := a.confirm(fmt.Sprintf("Run the sync anyway and disable %d users?", n))
	if err != nil {
		return err
	}
	if !ok {
		a.printf("The sync was not run again: nothing was changed.\n\n")
		return nil
	}
	var typed string
	if err := a.form(huh.NewInput().Title(fmt.Sprintf("To confirm, type the number of users the run will disable (%d):", n)).Value(&typed)); err != nil {
		return err
	}
	if strings.TrimSpace(typed) != strconv.Itoa(n) {
		a.printf("That is not %d: nothing was changed.\n\n", n)
		return nil
	}
	return a.runSync(name, SyncRequest{AllowMassDisable: true})
}

// syncProgress prints a run's progress as at most one line a page; waits
// and failures are printed as they come.
func (a *accessible) syncProgress() func(steps.Event) {
	var mu sync.Mutex
	page := 0
	return func(ev steps.Event) {
		if ev.Sync == nil || ev.Kind != steps.StepProgress {
			a.report(ev)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		p := ev.Sync
		if p.Pages <= page {
			return
		}
		page = p.Pages
		read := fmt.Sprintf("%d users read", p.Users)
		if p.Total > 0 {
			read = fmt.Sprintf("%d of %d users read", p.Users, p.Total)
		}
		a.printf("  Page %d: %s; so far %d to create, %d to update, %d unchanged.\n", p.Pages, read, p.Created, p.Updated, p.Unchanged)
	}
}

// printSyncResult prints a run's (or a preview's) figures.
func (a *accessible) printSyncResult(title string, res *steps.SyncResult) {
	if res == nil {
		a.printf("%s: nothing to report.\n", title)
		return
	}
	a.printf("%s: a %s run, %d pages, %d users read", title, cmp.Or(res.Kind, "full"), res.Pages, res.Users)
	if res.DryRun {
		a.printf("; nothing is written yet.\n")
	} else {
		a.printf(" in %s.\n", res.Took.Round(time.Millisecond))
	}
	if p := res.Plan; p != nil {
		a.printf("Created: %d.\nUpdated: %d.\nDisabled: %d.\nUnchanged: %d.\n", p.Created, p.Updated, p.Disabled+p.Deleted, p.Unchanged)
	}
	if res.FellBack {
		a.printf("Note: a saved delta link had expired, so the groups were read in full.\n")
	}
	for _, g := range res.GoneGroups {
		a.printf("Note: the picked group %s no longer exists in Entra: its users are taken as having left it. Pick the groups again.\n", g)
	}
}

// printChanges lists up to limit of a plan's changes of one action, and
// says how many more there are.
func (a *accessible) printChanges(p *store.SyncPlan, action string, limit int) {
	total := map[string]int{"create": p.Created, "update": p.Updated, "disable": p.Disabled, "delete": p.Deleted}[action]
	listed := 0
	for _, c := range p.Changes {
		if c.Action != action || listed == limit {
			continue
		}
		a.printf("To %s: %s", action, c.UserPrincipalName)
		if c.DisplayName != "" {
			a.printf(" (%s)", c.DisplayName)
		}
		a.printf(".\n")
		listed++
	}
	if more := total - listed; more > 0 && listed > 0 {
		a.printf("And %d more to %s.\n", more, action)
	}
}
