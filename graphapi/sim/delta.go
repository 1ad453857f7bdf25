package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page sizes of a delta round. Microsoft documents no default; a Microsoft
// moderator on Microsoft Q&A gives 200 objects (users, contacts) and 500
// directory links (group members) as both the default and the cap of
// `Prefer: odata.maxpagesize`
// (https://learn.microsoft.com/en-us/answers/a/2052165). $top is not
// supported on delta (G:concepts/delta-query-overview.md).
const (
	deltaPageSize = 200 // objects a page
	deltaMaxLinks = 500 // members@delta links a page; scaled down with smaller pages
	deltaMaxIDs   = 50
	deltaTTL      = 7 * 24 * time.Hour // G:concepts/delta-query-overview.md
	// deltaPrefix marks the sim's delta state tokens, so parseQuery leaves
	// them to delta instead of reading them as a list's $skiptoken.
	deltaPrefix = "ZGx0"
)

// deltaState is everything a delta round needs, carried opaquely in
// $skiptoken and $deltatoken: the original query (tokens encode it, and later
// calls don't repeat it), and where the round stands.
type deltaState struct {
	Set     string   `json:"t"`
	Sel     []string `json:"s,omitempty"`
	IDs     []string `json:"i,omitempty"` // $filter=id eq … or …
	Members bool     `json:"m,omitempty"` // groups: report members@delta
	Size    int      `json:"z,omitempty"` // odata.maxpagesize of the first request

	Init  bool   `json:"n,omitempty"` // initial round: every object, not only changes
	Since uint64 `json:"a,omitempty"` // report changes after this sequence number
	Snap  uint64 `json:"b,omitempty"` // directory seq when the round began
	// Floor is where the next round must start instead of Snap, because an
	// object still replicating was skipped.
	Floor    uint64 `json:"f,omitempty"`
	HasFloor bool   `json:"h,omitempty"`

	Phase   int    `json:"p,omitempty"` // 0: tombstones, 1: objects
	Pos     int    `json:"o,omitempty"`
	Cur     string `json:"c,omitempty"` // id of the object at Pos whose members are being split
	MemPos  int    `json:"k,omitempty"`
	PageSeq uint64 `json:"q,omitempty"` // directory seq when the previous page was cut

	Issued int64 `json:"e,omitempty"` // deltatoken: unix milliseconds
}

func encodeDelta(st deltaState) string {
	b, _ := json.Marshal(st)
	return deltaPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeDelta(tok string) (deltaState, bool) {
	var st deltaState
	if !isDeltaState(tok) {
		return st, false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[len(deltaPrefix):])
	if err != nil || json.Unmarshal(b, &st) != nil || (st.Set != "users" && st.Set != "groups") {
		return st, false
	}
	return st, st.Pos >= 0 && st.MemPos >= 0
}

// isDeltaState reports whether a $skiptoken is a delta round's state.
func isDeltaState(tok string) bool { return strings.HasPrefix(tok, deltaPrefix) }

// rawParam reads a query option by name, ignoring case: the docs spell it
// both $deltatoken and $deltaToken.
func rawParam(v url.Values, name string) (string, bool) {
	for k, vals := range v {
		if strings.EqualFold(k, name) && len(vals) > 0 {
			return vals[0], true
		}
	}
	return "", false
}

// delta serves /users/delta and /groups/delta (G:user-delta.md,
// group-delta.md, concepts/delta-query-overview.md).
func (c *gctx) delta(set string) {
	if set != "users" && set != "groups" {
		c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
		return
	}
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if len(c.seg) > 2 {
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", c.seg[2]))
		return
	}
	raw := c.q.raw
	skip, hasSkip := rawParam(raw, "$skiptoken")
	dtok, hasDelta := rawParam(raw, "$deltatoken")
	var st deltaState
	switch {
	case hasSkip:
		var ok bool
		if st, ok = decodeDelta(skip); !ok || st.Set != set {
			c.badRequest("The specified page token value has expired and can no longer be included in your request.")
			return
		}
	case hasDelta && dtok != "" && dtok != "latest":
		var ok bool
		if st, ok = decodeDelta(dtok); !ok || st.Set != set {
			c.badRequest("Badly formed delta token.")
			return
		}
		ttl := c.s.CurrentFaults().DeltaTokenTTL
		if ttl <= 0 {
			ttl = deltaTTL
		}
		if c.now().Sub(time.UnixMilli(st.Issued)) > ttl {
			c.deltaExpired(set, st)
			return
		}
		st = deltaState{Set: set, Sel: st.Sel, IDs: st.IDs, Members: st.Members, Since: st.Since}
	default:
		var ok bool
		if st, ok = c.deltaQuery(set); !ok {
			return
		}
		if dtok == "latest" {
			// "Sync from now": only a deltaLink (G:concepts/delta-query-overview.md).
			d := c.s.dir
			d.mu.RLock()
			st.Since = d.seq
			d.mu.RUnlock()
			st.Issued = c.now().UnixMilli()
			c.writeDeltaPage(st, nil, "@odata.deltaLink", encodeDelta(st))
			return
		}
		st.Init = true
	}
	size := st.Size
	if n := maxPageSize(c.r.Header); n > 0 {
		size = n
		c.w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(min(n, deltaPageSize)))
	}
	if size <= 0 || size > deltaPageSize {
		size = deltaPageSize
	}
	items, cur, done := c.s.dir.deltaPage(st, size, c.now())
	if !done {
		c.writeDeltaPage(st, items, "@odata.nextLink", encodeDelta(cur))
		return
	}
	// The next round reports what changed after this round began, or after
	// the point where an object still replicating was skipped. Its page size
	// comes from its own requests' Prefer header.
	next := deltaState{Set: set, Sel: st.Sel, IDs: st.IDs, Members: st.Members,
		Since: cur.Snap, Issued: c.now().UnixMilli()}
	if cur.HasFloor {
		next.Since = min(next.Since, cur.Floor)
	}
	c.writeDeltaPage(st, items, "@odata.deltaLink", encodeDelta(next))
}

// deltaQuery reads the first request of a round: $select, $filter on ids
// only, $expand=members on groups; everything else delta does not support.
func (c *gctx) deltaQuery(set string) (deltaState, bool) {
	st := deltaState{Set: set, Sel: c.q.sel}
	for k := range c.q.raw {
		switch strings.ToLower(k) {
		case "$top", "$orderby", "$search", "$count", "$skip":
			c.fail(http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("The query parameter '%s' is not supported with change tracking over the '%s' resource.", k, set))
			return st, false
		case "$expand":
			if set != "groups" || !strings.EqualFold(strings.TrimSpace(c.q.raw.Get(k)), "members") {
				c.fail(http.StatusBadRequest, "Request_UnsupportedQuery",
					fmt.Sprintf("The query parameter '%s' is not supported with change tracking over the '%s' resource.", k, set))
				return st, false
			}
			// The older delta-query-groups.md uses $expand=members; the
			// 2024 group-delta.md says $select=members. Both work here.
			st.Members = true
		}
	}
	if set == "users" {
		for _, s := range st.Sel {
			if singleUserOnly[strings.ToLower(s)] {
				c.fail(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
				return st, false
			}
		}
	}
	if set == "groups" {
		// Members are tracked with $select=members, and by default
		// (G:group-delta.md, concepts/delta-query-groups.md).
		st.Members = st.Members || len(st.Sel) == 0
		for _, s := range st.Sel {
			if strings.EqualFold(s, "members") {
				st.Members = true
			}
		}
	}
	if c.q.filter != nil {
		ids, ok := c.q.filter.ids()
		if !ok || len(ids) > deltaMaxIDs {
			c.fail(http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Change tracking over '%s' supports $filter only as id eq '{id}' joined by 'or', with at most %d ids.", set, deltaMaxIDs))
			return st, false
		}
		st.IDs = ids
	}
	if n := maxPageSize(c.r.Header); n > 0 {
		st.Size = min(n, deltaPageSize)
	}
	return st, true
}

// maxPageSize reads odata.maxpagesize from the Prefer headers; 0 if absent.
func maxPageSize(h http.Header) int {
	for _, v := range h.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "odata.maxpagesize") {
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n > 0 {
					return n
				}
			}
		}
	}
	return 0
}

// deltaExpired answers a deltatoken older than the token lifetime. The docs
// name two signals: an expired token gets "a 40X-series error with a code
// such as syncStateNotFound", and a resync is 410 Gone with a Location to a
// URL with an empty $deltaToken (G:concepts/delta-query-overview.md; codes
// and text from G:concepts/errors.md). Both are given at once: 410,
// Location, and syncStateNotFound.
func (c *gctx) deltaExpired(set string, st deltaState) {
	q := url.Values{}
	if len(st.Sel) > 0 {
		q.Set("$select", strings.Join(st.Sel, ","))
	}
	if len(st.IDs) > 0 {
		parts := make([]string, len(st.IDs))
		for i, id := range st.IDs {
			parts[i] = "id eq '" + strings.ReplaceAll(id, "'", "''") + "'"
		}
		q.Set("$filter", strings.Join(parts, " or "))
	}
	if st.Members && len(st.Sel) > 0 && !containsFold(st.Sel, "members") {
		q.Set("$expand", "members")
	}
	q.Set("$deltatoken", "")
	c.w.Header().Set("Location", c.base()+"/"+set+"/"+c.seg[1]+"?"+encodeQuery(q))
	c.fail(http.StatusGone, "syncStateNotFound",
		"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (c *gctx) writeDeltaPage(st deltaState, items []map[string]any, linkKey, tok string) {
	ctx := c.base() + "/$metadata#" + st.Set
	if len(st.Sel) > 0 {
		ctx += "(" + strings.Join(st.Sel, ",") + ")"
	}
	param := "$skiptoken"
	if linkKey == "@odata.deltaLink" {
		param = "$deltatoken"
	}
	if items == nil {
		items = []map[string]any{}
	}
	writeGraphJSON(c.w, http.StatusOK, map[string]any{
		"@odata.context": ctx,
		linkKey:          c.base() + "/" + st.Set + "/" + c.seg[1] + "?" + param + "=" + tok,
		"value":          items,
	})
}

// deltaPage cuts the next page of a round. A round lists tombstones first,
// then users or groups (all of them in an initial round; in a change round
// those whose version is after Since). A group's members@delta is split
// across pages when it does not fit, and the group appears again with the
// next slice (G:concepts/delta-query-groups.md). Objects still replicating
// are skipped and the next round starts early enough to report them.
func (d *directory) deltaPage(st deltaState, size int, now time.Time) ([]map[string]any, deltaState, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if st.Snap == 0 {
		st.Snap = d.seq
		st.PageSeq = d.seq
	}
	kind := strings.TrimSuffix(st.Set, "s")
	var want map[string]bool
	if len(st.IDs) > 0 {
		want = make(map[string]bool, len(st.IDs))
		for _, id := range st.IDs {
			want[id] = true
		}
	} else if st.Phase == 1 && st.PageSeq < d.seq {
		// Deletions since the last page shift the list left; step back by as
		// many, replaying rather than skipping (replays are documented).
		for _, t := range d.tombstones {
			if t.kind == kind && t.seq > st.PageSeq {
				st.Pos--
			}
		}
		st.Pos = max(st.Pos, 0)
	}
	skipped := func() {
		if !st.HasFloor || st.Since < st.Floor {
			st.Floor, st.HasFloor = st.Since, true
		}
	}
	linkBudget := max(1, size*deltaMaxLinks/deltaPageSize)
	items := make([]map[string]any, 0, min(size, 64))
	links := 0
	full := func() bool { return len(items) >= size || links >= linkBudget }

	if st.Phase == 0 {
		for ; st.Pos < len(d.tombstones) && !full(); st.Pos++ {
			t := d.tombstones[st.Pos]
			if t.kind != kind || t.seq <= st.Since || t.seq > st.Snap || (want != nil && !want[t.id]) {
				continue
			}
			items = append(items, map[string]any{"id": t.id, "@removed": map[string]any{"reason": t.reason}})
		}
		if st.Pos >= len(d.tombstones) {
			st.Phase, st.Pos = 1, 0
		}
	}
	var changes map[string][]memberChange
	if st.Set == "groups" && st.Members && !st.Init {
		changes = d.memberChanges(st.Since, st.Snap)
	}
	n := len(d.users)
	if st.Set == "groups" {
		n = len(d.groups)
	}
	if want != nil {
		n = len(st.IDs)
	}
	for st.Phase == 1 && st.Pos < n && !full() {
		var u *user
		var g *group
		switch {
		case want != nil && st.Set == "users":
			u = d.usersByID[st.IDs[st.Pos]]
		case want != nil:
			g = d.groupByID[st.IDs[st.Pos]]
		case st.Set == "users":
			u = d.users[st.Pos]
		default:
			g = d.groups[st.Pos]
		}
		if u != nil {
			st.Pos++
			if !st.Init && u.version <= st.Since {
				continue
			}
			if !u.visible(now) {
				skipped()
				continue
			}
			items = append(items, u.render(st.Sel))
			continue
		}
		if g == nil || (!st.Init && g.version <= st.Since) {
			st.Pos++
			continue
		}
		if !g.visible(now) {
			skipped()
			st.Pos++
			continue
		}
		if st.Cur != g.ID {
			st.Cur, st.MemPos = g.ID, 0
		}
		item := g.render(st.Sel)
		if !st.Members {
			items = append(items, item)
			st.Pos++
			continue
		}
		refs, done := d.memberSlice(g, &st, changes, linkBudget-links, now, skipped)
		if len(refs) > 0 {
			item["members@delta"] = refs
		}
		items = append(items, item)
		links += len(refs)
		if done {
			st.Pos++
			st.Cur, st.MemPos = "", 0
		}
	}
	st.PageSeq = d.seq
	if st.Phase == 1 && st.Pos >= n {
		return items, st, true
	}
	return items, st, false
}

// memberSlice returns up to budget members@delta entries of g from
// st.MemPos on, advances st.MemPos past them, and reports whether the group
// is done. An initial round lists the current members; a change round lists
// each member whose membership changed in (Since, Snap], added or removed.
func (d *directory) memberSlice(g *group, st *deltaState, changes map[string][]memberChange, budget int, now time.Time, skipped func()) ([]map[string]any, bool) {
	ref := func(id, kind string) map[string]any {
		return map[string]any{"@odata.type": "#microsoft.graph." + kind, "id": id}
	}
	budget = max(budget, 1)
	var out []map[string]any
	if !st.Init {
		list := changes[g.ID]
		end := min(len(list), st.MemPos+budget)
		for _, ch := range list[min(st.MemPos, len(list)):end] {
			r := ref(ch.memberID, ch.memberKind)
			if ch.removed {
				r["@removed"] = map[string]any{"reason": "deleted"}
			}
			out = append(out, r)
		}
		st.MemPos = end
		return out, end >= len(list)
	}
	// Removals since the last page shift the member list left: step back,
	// replaying rather than skipping.
	if st.MemPos > 0 && st.PageSeq < d.seq {
		i := sort.Search(len(d.memberLog), func(i int) bool { return d.memberLog[i].seq > st.PageSeq })
		for _, ch := range d.memberLog[i:] {
			if ch.groupID == g.ID && ch.removed {
				st.MemPos--
			}
		}
		st.MemPos = max(st.MemPos, 0)
	}
	total := len(g.members)
	start := min(st.MemPos, total)
	end := min(total, start+budget)
	for _, id := range g.members[start:end] {
		switch u, sub := d.usersByID[id], d.groupByID[id]; {
		case u != nil && u.visible(now):
			out = append(out, ref(id, "user"))
		case sub != nil && sub.visible(now):
			out = append(out, ref(id, "group"))
		default:
			skipped()
		}
	}
	st.MemPos = end
	return out, end >= total
}

// memberChanges returns, per group, the last change of each member in the
// sequence window (since, snap], in the order the changes happened.
func (d *directory) memberChanges(since, snap uint64) map[string][]memberChange {
	i := sort.Search(len(d.memberLog), func(i int) bool { return d.memberLog[i].seq > since })
	last := map[[2]string]int{}
	var window []memberChange
	for _, ch := range d.memberLog[i:] {
		if ch.seq > snap {
			break
		}
		key := [2]string{ch.groupID, ch.memberID}
		if j, ok := last[key]; ok {
			window[j].groupID = "" // superseded
		}
		last[key] = len(window)
		window = append(window, ch)
	}
	out := map[string][]memberChange{}
	for _, ch := range window {
		if ch.groupID != "" {
			out[ch.groupID] = append(out[ch.groupID], ch)
		}
	}
	return out
}
