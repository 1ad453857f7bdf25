package ui

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// printableWriter is the terminal's side of every headless command's
// output: text from the tenant (a display name with ESC or BEL, a bidi
// override) is written as a visible escape instead of acting on the
// terminal. Newlines and tabs pass; nothing else below space does. --json output
// bypasses it (RawWriter): encoding/json escapes control characters itself.
type printableWriter struct {
	w    io.Writer
	tail []byte // an incomplete UTF-8 sequence held for the next write
}

// PrintableWriter wraps w so that text from the tenant cannot act on the
// terminal; wrapping twice is wrapping once.
func PrintableWriter(w io.Writer) io.Writer {
	if _, ok := w.(*printableWriter); ok {
		return w
	}
	return &printableWriter{w: w}
}

// RawWriter is the writer under a PrintableWriter, for JSON and for the
// full-screen wizard, which escapes what it draws itself.
func RawWriter(w io.Writer) io.Writer {
	if p, ok := w.(*printableWriter); ok {
		return p.w
	}
	return w
}

func (p *printableWriter) Write(b []byte) (int, error) {
	n := len(b)
	if len(p.tail) > 0 {
		b = append(p.tail, b...)
		p.tail = nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n', c == '\t', c >= 0x20 && c < 0x7f:
				out = append(out, c)
			default:
				out = fmt.Appendf(out, `\x%02x`, c)
			}
			i++
			continue
		}
		if !utf8.FullRune(b[i:]) && len(b)-i < utf8.UTFMax {
			p.tail = append([]byte(nil), b[i:]...)
			break
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, c)
		case r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
