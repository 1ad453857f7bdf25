package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/entrawiz/entrawiz/graphapi"
	"github.com/entrawiz/entrawiz/steps"
)

const (
	// searchDelay is how long the search box waits after the last key
	// before it asks the server, so a typed word is one request.
	searchDelay = 300 * time.Millisecond
	// groupPageSize is the groups a page: enough to fill a tall terminal,
	// few enough that a tenant with 100k groups answers at once.
	groupPageSize = 50
	// prefetch is how near the end of the loaded list the cursor may come
	// before the next page is asked for.
	prefetch = 5
)

// Picker intents and results.
type (
	openPickerMsg struct{ name string }
	// searchTickMsg fires searchDelay after a key in the search box; only
	// the one carrying the latest seq searches.
	searchTickMsg struct{ seq int }
	// searchGroupsMsg asks the root for a page of groups.
	searchGroupsMsg struct {
		seq  int
		name string
		q    graphapi.GroupQuery
	}
	groupPageMsg struct {
		seq  int
		next bool // a further page of the same search
		page *graphapi.GroupPage
		err  error
	}
	countGroupsMsg struct {
		name string
		ids  []string
	}
	groupCountsMsg struct {
		id     string
		counts GroupCounts
		err    error
	}
	saveGroupsMsg struct {
		name string
		ids  []string
	}
	groupsSavedMsg struct {
		picked []steps.PickedGroup
		err    error
	}
)

func searchGroupsCmd(ctx context.Context, b Backend, msg searchGroupsMsg) tea.Cmd {
	return func() tea.Msg {
		page, err := b.SearchGroups(ctx, msg.name, msg.q)
		return groupPageMsg{seq: msg.seq, next: msg.q.NextLink != "", page: page, err: err}
	}
}

func groupCountsCmd(ctx context.Context, b Backend, name, id string) tea.Cmd {
	return func() tea.Msg {
		c, err := b.GroupCounts(ctx, name, id)
		return groupCountsMsg{id: id, counts: c, err: err}
	}
}

func saveGroupsCmd(ctx context.Context, b Backend, name string, ids []string) tea.Cmd {
	return func() tea.Msg {
		picked, err := b.PickGroups(ctx, name, ids)
		return groupsSavedMsg{picked: picked, err: err}
	}
}

// picker chooses the groups whose users are synced: a server-side search,
// a list loaded one page at a time, and a selection kept across searches.
type picker struct {
	c     *common
	name  string // the connection
	max   int    // the profile's limit; 0 for none
	input textinput.Model
	delay time.Duration

	seq     int // the search in hand
	query   string
	groups  []graphapi.Group
	total   int64 // matches, -1 when not known
	next    string
	loading bool
	err     error

	counts  map[string]GroupCounts
	pending map[string]bool // counts asked for

	selected map[string]string // id -> display name
	order    []string          // selection order, for saving
	cursor   int
	top      int // first visible row
	note     string
	saving   bool
	w, h     int
}

func newPicker(c *common, name string, max int, picked []steps.PickedGroup) *picker {
	in := textinput.New()
	in.Prompt = "Search: "
	in.Placeholder = "group name"
	p := &picker{c: c, name: name, max: max, input: in, delay: searchDelay, total: -1,
		counts: map[string]GroupCounts{}, pending: map[string]bool{}, selected: map[string]string{}}
	for _, g := range picked {
		p.selected[g.ID] = g.DisplayName
		p.order = append(p.order, g.ID)
	}
	return p
}

// Init focuses the search box and lists the first page of all groups.
func (p *picker) Init() tea.Cmd {
	return tea.Batch(p.input.Focus(), p.search())
}

func (p *picker) SetSize(w, h int) {
	p.w, p.h = w, h
	p.input.SetWidth(max(w-len(p.input.Prompt)-2, 10))
	p.scroll()
}

func (p *picker) Typing() bool { return p.input.Focused() }

func (p *picker) Keys() []key.Binding {
	k := p.c.keys
	if p.input.Focused() {
		return []key.Binding{withHelp(k.Down, "to the list"), withHelp(k.Back, "to the list")}
	}
	return []key.Binding{withHelp(k.Up, "up"), withHelp(k.Down, "down"), on(k.NextPage, len(p.groups) > p.visible()),
		k.Select, k.Search, on(k.Save, !p.saving), withHelp(k.Back, "back")}
}

// search starts the search for the box's text from its first page.
func (p *picker) search() tea.Cmd {
	p.seq++
	p.query = strings.TrimSpace(p.input.Value())
	p.loading, p.err = true, nil
	return emit(searchGroupsMsg{seq: p.seq, name: p.name, q: graphapi.GroupQuery{Search: p.query, Top: groupPageSize}})
}

// more asks for the next page when the cursor nears the end of the list.
func (p *picker) more() tea.Cmd {
	// Not while a typed search waits for its tick: the page would be of
	// the old search.
	if p.loading || p.next == "" || p.cursor < len(p.groups)-prefetch || strings.TrimSpace(p.input.Value()) != p.query {
		return nil
	}
	p.loading = true
	return emit(searchGroupsMsg{seq: p.seq, name: p.name, q: graphapi.GroupQuery{NextLink: p.next}})
}

// visible is how many group rows fit.
func (p *picker) visible() int { return max(p.h-6, 1) }

func (p *picker) scroll() {
	n := p.visible()
	if p.cursor < p.top {
		p.top = p.cursor
	}
	if p.cursor >= p.top+n {
		p.top = p.cursor - n + 1
	}
}

// countVisible asks for the counts of the visible groups not yet counted:
// a tenant's worth of counts is never fetched, only what is on screen.
func (p *picker) countVisible() tea.Cmd {
	var ids []string
	for i := p.top; i < min(p.top+p.visible(), len(p.groups)); i++ {
		id := p.groups[i].ID
		if _, ok := p.counts[id]; !ok && !p.pending[id] {
			p.pending[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return emit(countGroupsMsg{name: p.name, ids: ids})
}

func (p *picker) toggle() {
	if p.cursor >= len(p.groups) {
		return
	}
	g := p.groups[p.cursor]
	if _, ok := p.selected[g.ID]; ok {
		delete(p.selected, g.ID)
		for i, id := range p.order {
			if id == g.ID {
				p.order = append(p.order[:i], p.order[i+1:]...)
				break
			}
		}
		p.note = ""
		return
	}
	if p.max > 0 && len(p.selected) >= p.max {
		p.note = fmt.Sprintf("The profile allows at most %d group(s): deselect one first, or nest them in one group and pick that.", p.max)
		return
	}
	p.selected[g.ID] = g.DisplayName
	p.order = append(p.order, g.ID)
	p.note = ""
}

func (p *picker) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case searchTickMsg:
		if msg.seq != p.seq {
			return nil
		}
		return p.search()
	case groupPageMsg:
		if msg.seq != p.seq {
			return nil
		}
		p.loading = false
		if msg.err != nil {
			p.err = msg.err
			return nil
		}
		if !msg.next {
			p.groups, p.cursor, p.top, p.total = nil, 0, 0, msg.page.Count
		}
		p.groups = append(p.groups, msg.page.Groups...)
		p.next = msg.page.NextLink
		return p.countVisible()
	case groupCountsMsg:
		delete(p.pending, msg.id)
		if msg.err == nil {
			p.counts[msg.id] = msg.counts
		} else {
			p.counts[msg.id] = GroupCounts{Users: -1, Nested: -1}
		}
		return nil
	case groupsSavedMsg:
		p.saving = false
		if msg.err != nil {
			p.note = "Saving the pick failed: " + kindOf(msg.err) + " — " + graphapi.Classify(msg.err).Error()
		}
		return nil
	case tea.KeyPressMsg:
		return p.key(msg)
	}
	if p.input.Focused() {
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		return cmd
	}
	return nil
}

func (p *picker) key(km tea.KeyPressMsg) tea.Cmd {
	k := p.c.keys
	if p.input.Focused() {
		switch {
		case km.String() == "enter", km.String() == "down", km.String() == "tab", key.Matches(km, k.Back):
			p.input.Blur()
			if p.input.Value() != p.query {
				return p.search()
			}
			return nil
		}
		before := p.input.Value()
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(km)
		if p.input.Value() == before {
			return cmd
		}
		// Debounce: every key restarts the wait; only the last one's tick
		// finds its seq current.
		p.seq++
		seq := p.seq
		return tea.Batch(cmd, tea.Tick(p.delay, func(time.Time) tea.Msg { return searchTickMsg{seq: seq} }))
	}
	switch {
	case key.Matches(km, k.Search), km.String() == "tab":
		return p.input.Focus()
	case key.Matches(km, k.Back):
		return emit(backMsg{})
	case key.Matches(km, k.Up):
		if p.cursor == 0 {
			return p.input.Focus()
		}
		p.cursor--
		p.scroll()
		return p.countVisible()
	case key.Matches(km, k.Down):
		p.cursor = min(p.cursor+1, max(len(p.groups)-1, 0))
		p.scroll()
		return tea.Batch(p.countVisible(), p.more())
	case key.Matches(km, k.NextPage):
		p.cursor = min(p.cursor+p.visible(), max(len(p.groups)-1, 0))
		p.scroll()
		return tea.Batch(p.countVisible(), p.more())
	case key.Matches(km, k.PrevPage):
		p.cursor = max(p.cursor-p.visible(), 0)
		p.scroll()
		return p.countVisible()
	case key.Matches(km, k.Select):
		p.toggle()
	case key.Matches(km, k.Save):
		if p.saving {
			return nil
		}
		p.saving, p.note = true, ""
		return emit(saveGroupsMsg{name: p.name, ids: append([]string(nil), p.order...)})
	}
	return nil
}

func (p *picker) View() string {
	st := p.c.styles
	var b strings.Builder
	limit := ""
	if p.max > 0 {
		limit = fmt.Sprintf(" of at most %d", p.max)
	}
	b.WriteString(ansi.Truncate(st.Heading.Render("Pick the groups to sync")+st.Subtle.Render(" · "+steps.Printable(p.name)), p.w, "…") + "\n")
	b.WriteString(p.input.View() + "\n")
	status := ""
	switch {
	case p.err != nil:
		status = st.Err.Render("✗ " + kindOf(p.err) + ": " + steps.Printable(graphapi.Classify(p.err).Error()))
	case p.loading && len(p.groups) == 0:
		status = st.Accent.Render(p.c.spin) + " searching…"
	case p.total >= 0:
		status = st.Subtle.Render(fmt.Sprintf("%d group(s) match · %d loaded", p.total, len(p.groups)))
	default:
		status = st.Subtle.Render(fmt.Sprintf("%d loaded", len(p.groups)))
	}
	status = st.Strong.Render(fmt.Sprintf("%d selected%s", len(p.selected), limit)) + st.Subtle.Render(" · ") + status
	b.WriteString(ansi.Truncate(status, p.w, "…") + "\n")
	if len(p.groups) == 0 && !p.loading && p.err == nil {
		b.WriteString(st.Subtle.Render("No group matches.") + "\n")
	}
	end := min(p.top+p.visible(), len(p.groups))
	for i := p.top; i < end; i++ {
		b.WriteString(p.row(i) + "\n")
	}
	switch {
	case p.loading && len(p.groups) > 0:
		b.WriteString(st.Subtle.Render(p.c.spin+" loading more…") + "\n")
	case p.next != "" && end == len(p.groups):
		b.WriteString(st.Subtle.Render("↓ more") + "\n")
	}
	if p.note != "" {
		b.WriteString(st.Warn.Render(ansi.Wrap(steps.Printable(p.note), p.w, " ")) + "\n")
	}
	if p.saving {
		b.WriteString(st.Accent.Render(p.c.spin) + " saving the pick…\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (p *picker) row(i int) string {
	st := p.c.styles
	g := p.groups[i]
	mark := "[ ]"
	if _, ok := p.selected[g.ID]; ok {
		mark = st.OK.Render("[✓]")
	}
	cur := "  "
	name := steps.Printable(g.DisplayName)
	if i == p.cursor && !p.input.Focused() {
		cur, name = st.Selected.Render("▸ "), st.Selected.Render(name)
	}
	count := "…"
	if c, ok := p.counts[g.ID]; ok {
		switch {
		case c.Users < 0:
			count = "count unavailable"
		default:
			count = fmt.Sprintf("%d users", c.Users)
		}
		if c.Nested > 0 {
			count += fmt.Sprintf(" · %d nested group(s)", c.Nested)
		}
	}
	return ansi.Truncate(cur+mark+" "+name+"  "+st.Subtle.Render(count), p.w, "…")
}
