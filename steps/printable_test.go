package steps

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "Sales EMEA", "Sales EMEA"},
		{"letters of other scripts", "Åsa Øberg · 山田太郎 · Ελένη", "Åsa Øberg · 山田太郎 · Ελένη"},
		{"emoji", "Team 🚀 ✓", "Team 🚀 ✓"},
		{"a backslash stays", `CONTOSO\ada`, `CONTOSO\ada`},
		{"title and clear screen", "Evil\x1b]0;pwned\x07\x1b[2J", `Evil\x1b]0;pwned\x07\x1b[2J`},
		{"NUL", "a\x00b", `a\x00b`},
		{"tab, newline, carriage return", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI", "a\u009b2Jb", `a\u009b2Jb`},
		{"C1 bounds", "\u0080\u009f\u00a0", `\u0080\u009f` + "\u00a0"},
		{"right-to-left override", "abc\u202eexe.txt", `abc\u202eexe.txt`},
		{"bidi bounds", "\u202a\u2029\u202f\u2066\u2069\u206a", `\u202a` + "\u2029\u202f" + `\u2066\u2069` + "\u206a"},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"an encoded surrogate is invalid", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"last byte", "ok\x1b", `ok\x1b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrintableDoesNotAllocateForPlainText(t *testing.T) {
	for _, s := range []string{"Sales EMEA", "Åsa Øberg 山田太郎 🚀", ""} {
		if n := testing.AllocsPerRun(100, func() { _ = Printable(s) }); n != 0 {
			t.Errorf("Printable(%q) allocates %v times", s, n)
		}
		if got := Printable(s); got != s {
			t.Errorf("Printable(%q) = %q", s, got)
		}
	}
}

// unsafeIn reports whether s holds anything Printable must escape.
func unsafeIn(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return true
		}
	}
	return false
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "Sales", "Evil\x1b]0;pwned\x07\x1b[2J", "a\u202eb", "\xff\xfe", "山田\u0085", "x\u2066y\u2069", "=cmd|' /C calc'!A0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Printable(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Printable(%q) = %q: not valid UTF-8", s, got)
		}
		if unsafeIn(got) {
			t.Fatalf("Printable(%q) = %q: still holds a control or bidi character", s, got)
		}
		if !unsafeIn(s) && got != s {
			t.Fatalf("Printable(%q) = %q: changed text that needed no escape", s, got)
		}
		if unsafeIn(s) && got == s {
			t.Fatalf("Printable(%q) left it as it was", s)
		}
		// Escaping never loses text: every byte of s is in got, as itself
		// or as an escape, so got is never shorter.
		if len(got) < len(s) {
			t.Fatalf("Printable(%q) = %q: shorter than its input", s, got)
		}
		if Printable(got) != got {
			t.Fatalf("Printable is not idempotent on %q", s)
		}
		if strings.ContainsRune(got, 0x1b) {
			t.Fatalf("Printable(%q) = %q: holds ESC", s, got)
		}
	})
}
