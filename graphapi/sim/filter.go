package sim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// filterExpr is a parsed $filter: the subset of OData the directory
// supports that entrawiz and common clients use.
type filterExpr struct {
	op       string // and, or, not, eq, ne, gt, ge, lt, le, startswith, endswith, any, in
	left     *filterExpr
	right    *filterExpr
	prop     string
	lit      any
	list     []any
	lambdaOp string // any(): the comparison inside
}

// getter returns a property's value and whether the resource has it.
type getter func(prop string) (any, bool)

type token struct {
	kind string // ident, string, number, punct
	text string
	val  any
}

func lexFilter(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		ch := rune(s[i])
		switch {
		case unicode.IsSpace(ch):
			i++
		case ch == '(' || ch == ')' || ch == ',' || ch == ':':
			out = append(out, token{kind: "punct", text: string(ch)})
			i++
		case ch == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string literal at position %d", i)
			}
			out = append(out, token{kind: "string", val: b.String()})
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(),:'", rune(s[j])) {
				j++
			}
			word := s[i:j]
			if n, err := strconv.ParseFloat(word, 64); err == nil && !strings.Contains(word, "-") {
				out = append(out, token{kind: "number", text: word, val: n})
			} else {
				out = append(out, token{kind: "ident", text: word})
			}
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	pos  int
}

func parseFilter(s string) (*filterExpr, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("syntax error at '%s'", p.toks[p.pos].text)
	}
	return e, nil
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "ident" && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) expect(punct string) error {
	if p.pos >= len(p.toks) || p.toks[p.pos].text != punct {
		return fmt.Errorf("expected '%s'", punct)
	}
	p.pos++
	return nil
}

func (p *filterParser) or() (*filterExpr, error) {
	l, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var r *filterExpr
		if r, err = p.and(); err == nil {
			l = &filterExpr{op: "or", left: l, right: r}
		}
	}
	return l, err
}

func (p *filterParser) and() (*filterExpr, error) {
	l, err := p.unary()
	for err == nil && p.peekWord("and") {
		p.pos++
		var r *filterExpr
		if r, err = p.unary(); err == nil {
			l = &filterExpr{op: "and", left: l, right: r}
		}
	}
	return l, err
}

func (p *filterParser) unary() (*filterExpr, error) {
	if p.peekWord("not") {
		p.pos++
		e, err := p.unary()
		return &filterExpr{op: "not", left: e}, err
	}
	if p.pos < len(p.toks) && p.toks[p.pos].text == "(" {
		p.pos++
		e, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return e, err
	}
	return p.primary()
}

func (p *filterParser) literal() (any, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("expected a literal")
	}
	t := p.toks[p.pos]
	p.pos++
	switch {
	case t.kind == "string" || t.kind == "number":
		return t.val, nil
	case t.text == "true":
		return true, nil
	case t.text == "false":
		return false, nil
	case t.text == "null":
		return nil, nil
	case t.kind == "ident": // unquoted GUID
		return t.text, nil
	}
	return nil, fmt.Errorf("unexpected '%s'", t.text)
}

func (p *filterParser) primary() (*filterExpr, error) {
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != "ident" {
		return nil, fmt.Errorf("expected a property or function")
	}
	word := p.toks[p.pos].text
	p.pos++
	lw := strings.ToLower(word)
	if lw == "startswith" || lw == "endswith" {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		prop := p.toks[p.pos].text
		p.pos++
		if err := p.expect(","); err != nil {
			return nil, err
		}
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &filterExpr{op: lw, prop: prop, lit: lit}, p.expect(")")
	}
	if prop, ok := strings.CutSuffix(word, "/any"); ok {
		// prop/any(x:x eq 'v')
		if err := p.expect("("); err != nil {
			return nil, err
		}
		p.pos++ // variable
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		p.pos++ // variable again
		if p.pos >= len(p.toks) {
			return nil, fmt.Errorf("incomplete lambda")
		}
		op := strings.ToLower(p.toks[p.pos].text)
		p.pos++
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &filterExpr{op: "any", prop: prop, lambdaOp: op, lit: lit}, p.expect(")")
	}
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("expected an operator after '%s'", word)
	}
	op := strings.ToLower(p.toks[p.pos].text)
	p.pos++
	if op == "in" {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var list []any
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			list = append(list, lit)
			if p.pos < len(p.toks) && p.toks[p.pos].text == "," {
				p.pos++
				continue
			}
			break
		}
		return &filterExpr{op: "in", prop: word, list: list}, p.expect(")")
	}
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("unknown operator '%s'", op)
	}
	lit, err := p.literal()
	return &filterExpr{op: op, prop: word, lit: lit}, err
}

// advancedOnly names an operator used that needs ConsistencyLevel: eventual
// and $count=true.
func (e *filterExpr) advancedOnly() string {
	if e == nil {
		return ""
	}
	switch e.op {
	case "ne":
		return "ne"
	case "not":
		return "not"
	case "endswith":
		return "endsWith"
	}
	if s := e.left.advancedOnly(); s != "" {
		return s
	}
	return e.right.advancedOnly()
}

// ids returns the ids of a filter of the form id eq 'a' or id eq 'b'
// (the only filter delta accepts), or ok false.
func (e *filterExpr) ids() ([]string, bool) {
	switch e.op {
	case "eq":
		if s, ok := e.lit.(string); ok && e.prop == "id" {
			return []string{s}, true
		}
	case "or":
		l, ok1 := e.left.ids()
		r, ok2 := e.right.ids()
		return append(l, r...), ok1 && ok2
	}
	return nil, false
}

// eval applies the filter to one resource; resource names it in errors.
func (e *filterExpr) eval(get getter, resource string) (bool, error) {
	switch e.op {
	case "and", "or":
		l, err := e.left.eval(get, resource)
		if err != nil {
			return false, err
		}
		if e.op == "and" && !l || e.op == "or" && l {
			return l, nil
		}
		return e.right.eval(get, resource)
	case "not":
		v, err := e.left.eval(get, resource)
		return !v, err
	}
	v, ok := get(e.prop)
	if !ok {
		return false, fmt.Errorf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", e.prop, resource)
	}
	switch e.op {
	case "startswith", "endswith":
		s, _ := v.(string)
		lit, _ := e.lit.(string)
		if e.op == "startswith" {
			return strings.HasPrefix(strings.ToLower(s), strings.ToLower(lit)), nil
		}
		return strings.HasSuffix(strings.ToLower(s), strings.ToLower(lit)), nil
	case "any":
		for _, item := range asList(v) {
			if compare(item, "eq", e.lit) {
				return true, nil
			}
		}
		return false, nil
	case "in":
		for _, lit := range e.list {
			if compare(v, "eq", lit) {
				return true, nil
			}
		}
		return false, nil
	}
	return compare(v, e.op, e.lit), nil
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return nil
}

func compare(v any, op string, lit any) bool {
	switch a := v.(type) {
	case string:
		b, ok := lit.(string)
		if !ok {
			return op == "ne"
		}
		c := strings.Compare(strings.ToLower(a), strings.ToLower(b))
		return cmpResult(c, op)
	case bool:
		b, ok := lit.(bool)
		return ok && (op == "eq" && a == b || op == "ne" && a != b)
	case nil:
		return op == "eq" && lit == nil || op == "ne" && lit != nil
	case float64:
		b, ok := lit.(float64)
		if !ok {
			return false
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return cmpResult(c, op)
	}
	return false
}

func cmpResult(c int, op string) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}
