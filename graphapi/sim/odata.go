package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// query is the OData system query options of one request.
type query struct {
	sel      []string
	top      int // 0: the API's default
	skip     int // decoded from $skiptoken
	filter   *filterExpr
	search   []searchClause
	count    bool // $count=true with ConsistencyLevel: eventual
	eventual bool // ConsistencyLevel: eventual
	raw      url.Values
	hasOrder bool
}

type queryErr struct{ code, msg string }

func parseQuery(r *http.Request) (query, *queryErr) {
	raw := r.URL.Query()
	q := query{raw: raw, eventual: strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")}
	if v := raw.Get("$select"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				q.sel = append(q.sel, p)
			}
		}
	}
	if v := raw.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			return q, &queryErr{"Request_UnsupportedQuery", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v)}
		}
		q.top = n
	}
	if v := raw.Get("$skiptoken"); v != "" && !isDeltaState(v) { // delta reads its own
		n, ok := decodeSkipToken(v)
		if !ok {
			return q, &queryErr{"Request_BadRequest", "The specified page token value has expired and can no longer be included in your request."}
		}
		q.skip = n
	}
	if raw.Has("$skip") {
		return q, &queryErr{"Request_BadRequest", "'$skip' is not supported by the service."}
	}
	q.count = raw.Get("$count") == "true" && q.eventual
	if v := raw.Get("$search"); v != "" {
		if !q.eventual {
			return q, &queryErr{"Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"}
		}
		clauses, err := parseSearch(v)
		if err != nil {
			return q, &queryErr{"Request_UnsupportedQuery", err.Error()}
		}
		q.search = clauses
	}
	if v := raw.Get("$filter"); v != "" {
		f, err := parseFilter(v)
		if err != nil {
			return q, &queryErr{"BadRequest", "Invalid filter clause: " + err.Error()}
		}
		if op := f.advancedOnly(); op != "" && !(q.eventual && raw.Get("$count") == "true") {
			return q, &queryErr{"Request_UnsupportedQuery", fmt.Sprintf("Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information", op)}
		}
		q.filter = f
	}
	q.hasOrder = raw.Get("$orderby") != ""
	return q, nil
}

// project keeps the selected properties (id always) or, without $select,
// the defaults the caller passed in.
func (q query) project(props map[string]any) map[string]any {
	if len(q.sel) == 0 || q.selected(props) {
		return props
	}
	out := map[string]any{}
	if id, ok := props["id"]; ok {
		out["id"] = id
	}
	// Annotations are not properties: a polymorphic item keeps its
	// @odata.type under $select.
	for k, v := range props {
		if strings.HasPrefix(k, "@odata.") {
			out[k] = v
		}
	}
	for _, k := range q.sel {
		for pk, v := range props {
			if strings.EqualFold(pk, k) {
				out[pk] = v
			}
		}
	}
	return out
}

// selected reports whether props holds only what project keeps, as a
// render that honoured $select already returns.
func (q query) selected(props map[string]any) bool {
	for k := range props {
		if k == "id" || strings.HasPrefix(k, "@odata.") {
			continue
		}
		if !slices.ContainsFunc(q.sel, func(s string) bool { return strings.EqualFold(s, k) }) {
			return false
		}
	}
	return true
}

func encodeSkipToken(n int) string {
	b, _ := json.Marshal(map[string]int{"o": n})
	return "RFNwdAIA" + base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(t string) (int, bool) {
	if !strings.HasPrefix(t, "RFNwdAIA") {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(t[len("RFNwdAIA"):])
	if err != nil {
		return 0, false
	}
	var v map[string]int
	if json.Unmarshal(b, &v) != nil || v["o"] < 0 {
		return 0, false
	}
	return v["o"], true
}

// page writes one page of a collection. total is the number of matching
// items; render produces item i of the matching items. The nextLink carries
// every original query option plus $skiptoken.
func (c *gctx) page(set string, total int, render func(i int) map[string]any) {
	c.pageJSON(set, total, func(buf []byte, i int) []byte { return appendJSON(buf, c.q.project(render(i))) })
}

// pageJSON is page with items that append themselves as JSON, already
// projected: a 999-user page without a map per user.
func (c *gctx) pageJSON(set string, total int, appendItem func(buf []byte, i int) []byte) {
	size := c.q.top
	if size == 0 {
		size = 100
	}
	start := min(c.q.skip, total)
	end := min(start+size, total)
	// The page is written into one buffer, as appendJSON would write the
	// map page writes (its keys in order): a 999-user page is about
	// 300 KB, and growing it from empty, then copying it into the
	// envelope, was most of serving it.
	bp := pageBufs.Get().(*[]byte)
	buf := append((*bp)[:0], `{"@odata.context":`...)
	buf = appendJSONString(buf, c.context(set))
	if c.q.count && start == 0 {
		buf = append(buf, `,"@odata.count":`...)
		buf = strconv.AppendInt(buf, int64(total), 10)
	}
	if end < total {
		next := url.Values{}
		for k, v := range c.q.raw {
			if k != "$skiptoken" {
				next[k] = v
			}
		}
		next.Set("$skiptoken", encodeSkipToken(end))
		buf = append(buf, `,"@odata.nextLink":`...)
		buf = appendJSONString(buf, c.base()+"/"+strings.Join(c.seg, "/")+"?"+encodeQuery(next))
	}
	buf = append(buf, `,"value":[`...)
	for i := start; i < end; i++ {
		if i > start {
			buf = append(buf, ',')
		}
		buf = appendItem(buf, i)
	}
	buf = append(buf, "]}\n"...)
	writeGraphBody(c.w, http.StatusOK, buf)
	if cap(buf) <= maxPooledPage {
		*bp = buf
		pageBufs.Put(bp)
	}
}

// pageBufs are the buffers pageJSON writes pages into; a Write does not
// keep the slice it is given, so a buffer is reused once written.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledPage is the largest buffer pageBufs keeps (a 999-user page
// with every property is well under it).
const maxPooledPage = 4 << 20

// encodeQuery encodes query options the way Graph writes them in links:
// the $ of system options is kept literal.
func encodeQuery(v url.Values) string {
	return strings.ReplaceAll(v.Encode(), "%24", "$")
}

// countOnly answers a /$count segment: text/plain, a bare integer, and only
// with ConsistencyLevel: eventual.
func (c *gctx) countOnly(n int) {
	if !c.q.eventual {
		c.fail(http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
		return
	}
	c.w.Header().Set("Content-Type", "text/plain")
	c.w.WriteHeader(http.StatusOK)
	fmt.Fprint(c.w, n)
}

type searchClause struct{ prop, term string }

// parseSearch reads `"displayName:term"` clauses joined by OR.
func parseSearch(v string) ([]searchClause, error) {
	var out []searchClause
	for _, part := range splitOr(v) {
		part = strings.TrimSpace(part)
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' {
			return nil, fmt.Errorf("Syntax error: character '%s' is not valid at position 0 in '%s'.", part[:min(1, len(part))], v)
		}
		prop, term, ok := strings.Cut(part[1:len(part)-1], ":")
		if !ok {
			return nil, fmt.Errorf("Invalid search clause '%s': expected \"property:term\".", part)
		}
		out = append(out, searchClause{prop: prop, term: strings.ToLower(term)})
	}
	return out, nil
}

func splitOr(v string) []string {
	var parts []string
	inQuote := false
	last := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			inQuote = !inQuote
		}
		if !inQuote && i+4 <= len(v) && v[i:i+4] == " OR " {
			parts = append(parts, v[last:i])
			last = i + 4
			i += 3
		}
	}
	return append(parts, v[last:])
}

// matchSearch applies $search as directory objects do: the term matches the
// start of any word of the property (tokenized on spaces and punctuation).
func matchSearch(clauses []searchClause, get func(prop string) any) bool {
	if len(clauses) == 0 {
		return true
	}
	for _, cl := range clauses {
		s, _ := get(cl.prop).(string)
		s = strings.ToLower(s)
		if strings.HasPrefix(s, cl.term) {
			return true
		}
		for _, word := range strings.FieldsFunc(s, func(r rune) bool {
			return r == ' ' || r == '-' || r == '_' || r == '.' || r == '@'
		}) {
			if strings.HasPrefix(word, cl.term) {
				return true
			}
		}
	}
	return false
}

// matching returns the items a list request's $search and $filter keep.
// The caller holds the directory lock; on a bad filter it has answered 400
// and ok is false.
func matching[T any](c *gctx, items []T, visible func(T) bool, get func(T) getter, resource string) ([]T, bool) {
	var out []T
	for _, it := range items {
		if !visible(it) {
			continue
		}
		g := get(it)
		if !matchSearch(c.q.search, func(p string) any { v, _ := g(p); return v }) {
			continue
		}
		if c.q.filter != nil {
			keep, err := c.q.filter.eval(g, resource)
			if err != nil {
				c.fail(http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
				return nil, false
			}
			if !keep {
				continue
			}
		}
		out = append(out, it)
	}
	return out, true
}

// propsGetter reads a map-shaped object's properties.
func propsGetter(o *object) getter {
	return func(p string) (any, bool) { v, ok := o.Props[p]; return v, ok }
}
