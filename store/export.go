package store

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// exportColumns are the CSV export's header, in the order of exportRow.
var exportColumns = []string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle",
	"department", "accountEnabled", "state", "disabledAt", "updatedAt"}

// ExportCSV writes the synced users as CSV, one row a user as EachUser
// reads them. Every cell is made safe to open: control characters are
// shown escaped (EscapeControls), and a cell a spreadsheet would take for
// a formula (beginning with = + - @, tab or carriage return) is prefixed
// with a single quote.
func ExportCSV(ctx context.Context, w io.Writer, db *DirDB) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(exportColumns); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	err := db.EachUser(ctx, func(u DirUser) error {
		row := exportRow(u)
		for i := range row {
			row[i] = csvCell(row[i])
		}
		return cw.Write(row)
	})
	if err != nil {
		return fmt.Errorf("export users: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// exportRow is u's cells, as exportColumns names them.
func exportRow(u DirUser) []string {
	dis := ""
	if u.DisabledAt != nil {
		dis = u.DisabledAt.UTC().Format(time.RFC3339)
	}
	return []string{u.ID, u.UserPrincipalName, u.DisplayName, u.GivenName, u.Surname, u.Mail, u.JobTitle,
		u.Department, strconv.FormatBool(u.AccountEnabled), u.State, dis, u.UpdatedAt.UTC().Format(time.RFC3339)}
}

// csvCell is s as a CSV cell that is safe to open in a spreadsheet: its
// control characters escaped, and a leading character that would make it
// a formula (OWASP's CSV injection list) neutralised with a quote.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + EscapeControls(s)
	}
	return EscapeControls(s)
}

// ExportJSON writes the synced users as a JSON array, one user a line,
// each written as EachUser reads it, so no more than one user is ever in
// memory. encoding/json escapes control characters, so the output needs no
// further guarding.
func ExportJSON(ctx context.Context, w io.Writer, db *DirDB) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	sep := "\n  "
	err := db.EachUser(ctx, func(u DirUser) error {
		b, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("encode user %s: %w", u.ID, err)
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		sep = ",\n  "
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("export users: %w", err)
	}
	if _, err := io.WriteString(w, "\n]\n"); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// EscapeControls returns s with every character that could act on a
// terminal or reorder text shown in place of a visible escape: C0 controls
// (tab and newline too, as the fields it is for are one line), DEL and C1
// controls as \xNN or \u00NN, the bidi overrides and isolates (U+202A to
// U+202E, U+2066 to U+2069) as \uNNNN, and each byte that is not valid
// UTF-8 as \xNN. Text with none of them is returned as it is, without
// allocating. steps.Printable is the name the rest of the product uses.
func EscapeControls(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c) {
				writeEscapedByte(&b, c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeEscapedByte(&b, c)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// firstUnsafe is the index of the first byte of s EscapeControls changes,
// or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if unsafeASCII(c) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unsafeRune(r) {
			return i
		}
		i += size
	}
	return -1
}

func unsafeASCII(c byte) bool { return c < 0x20 || c == 0x7f }

// unsafeRune reports a non-ASCII rune EscapeControls escapes: a C1
// control, or a bidi override or isolate (which can make a name read as
// another, the "Trojan Source" trick).
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

func writeEscapedByte(b *strings.Builder, c byte) {
	switch c {
	case '\t':
		b.WriteString(`\t`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	default:
		const hex = "0123456789abcdef"
		b.WriteString(`\x`)
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
}
