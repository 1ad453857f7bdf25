package ui

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/entrawiz/entrawiz/store"
)

// printableWriter is the terminal's side of every headless command's
// output: text from the tenant (a display name with ESC or BEL, a bidi
// override) is written as a visible escape instead of acting on the
// terminal, by the same rules as steps.Printable (store.EscapeControls);
// only the output's own newlines and tabs pass. --json output bypasses it
// (RawWriter): encoding/json escapes control characters itself.
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
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	p.tail = append([]byte(nil), b[cut:]...)
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b[:cut]), "\n") {
		text, newline := strings.CutSuffix(line, "\n")
		for i, field := range strings.Split(text, "\t") {
			if i > 0 {
				out.WriteByte('\t')
			}
			out.WriteString(store.EscapeControls(field))
		}
		if newline {
			out.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(p.w, out.String()); err != nil {
		return 0, err
	}
	return n, nil
}
