package ui

import (
	"bytes"
	"testing"
)

// TestPrintableWriter: controls from the tenant are escaped, the output's
// own newlines and tabs pass, and a character split across writes arrives
// whole.
func TestPrintableWriter(t *testing.T) {
	var buf bytes.Buffer
	w := PrintableWriter(&buf)
	if PrintableWriter(w) != w {
		t.Fatal("wrapping twice wraps twice")
	}
	in := "name\tEvil\x1b]0;x\x07 Zoë \u202e😀\n"
	b := []byte(in)
	for i := range b { // one byte a write: every rune is split
		w.Write(b[i : i+1])
	}
	want := "name\tEvil\\x1b]0;x\\x07 Zoë \\u202e😀\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	if RawWriter(w) != &buf {
		t.Fatal("RawWriter does not give the writer underneath")
	}
}
