package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends v encoded as encoding/json does without HTML escaping
// (map keys sorted, the same string escapes), with no reflection for the
// values the tenant renders: maps, slices, strings, booleans, numbers and
// nil. A 999-user page is most of a sync's serving time, and reflection
// made it several times slower. Other types go through encoding/json.
func appendJSON(buf []byte, v any) []byte {
	switch v := v.(type) {
	case rawJSON:
		return append(buf, v...)
	case nil:
		return append(buf, "null"...)
	case string:
		return appendJSONString(buf, v)
	case bool:
		return strconv.AppendBool(buf, v)
	case int:
		return strconv.AppendInt(buf, int64(v), 10)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case map[string]any:
		if v == nil {
			return append(buf, "null"...)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSON(buf, v[k])
		}
		return append(buf, '}')
	case []any:
		return appendJSONList(buf, v)
	case []map[string]any:
		return appendJSONList(buf, v)
	case []string:
		return appendJSONList(buf, v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(buf, "null"...)
	}
	return append(buf, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// rawJSON is a value already encoded.
type rawJSON []byte

func appendJSONList[T any](buf []byte, list []T) []byte {
	if list == nil {
		return append(buf, "null"...)
	}
	buf = append(buf, '[')
	for i, item := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSON(buf, item)
	}
	return append(buf, ']')
}

// appendJSONString quotes s as encoding/json does with SetEscapeHTML(false).
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '\\', '"':
				buf = append(buf, '\\', b)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
