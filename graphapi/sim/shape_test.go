package sim_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

func decodeObject(b []byte, failf func(string, ...any)) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		failf("body is not a JSON object (%v): %s", err, clip(b))
		return nil
	}
	return m
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// shapeDiff reports where got does not have the shape of fix: every key of
// a fixture object present with the same JSON type, recursively. null on
// either side matches anything (directory properties are nullable and the
// docs' values are examples); each element of a non-empty fixture array
// must match some element of a non-empty answer array.
func shapeDiff(fix, got any, path string, optional map[string]bool) []string {
	if fix == nil || got == nil {
		return nil
	}
	switch f := fix.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, fixture an object", orRoot(path), jsonType(got))}
		}
		var out []string
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if optional[k] {
				continue
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", orRoot(path), k))
				continue
			}
			out = append(out, shapeDiff(f[k], gv, path+"."+k, optional)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, fixture an array", orRoot(path), jsonType(got))}
		}
		if len(f) == 0 || len(g) == 0 {
			return nil
		}
		var out []string
		for i, fe := range f {
			var first []string
			matched := false
			for _, ge := range g {
				d := shapeDiff(fe, ge, fmt.Sprintf("%s[%d]", path, i), optional)
				if len(d) == 0 {
					matched = true
					break
				}
				if first == nil {
					first = d
				}
			}
			if !matched {
				out = append(out, fmt.Sprintf("%s[%d]: no element of the answer has its shape, e.g. %s", orRoot(path), i, strings.Join(first, "; ")))
			}
		}
		return out
	default:
		if jsonType(fix) != jsonType(got) {
			return []string{fmt.Sprintf("%s: %s, fixture %s", orRoot(path), jsonType(got), jsonType(fix))}
		}
		return nil
	}
}

func orRoot(path string) string {
	if path == "" {
		return "body"
	}
	return "body" + path
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
