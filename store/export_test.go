package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// exportNow is when the export tests' run happened.
var exportNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// hostileUser is a user whose names carry a terminal's controls and
// spreadsheet formulas, as a tenant's users may.
var hostileUser = StagedUser{ID: "u-evil", UserPrincipalName: "evil@contoso.com",
	DisplayName: "Evil\x1b]0;pwned\x07\x1b[2J", GivenName: "=cmd|' /C calc'!A0", Surname: "+1+1",
	Mail: "@SUM(A1)", JobTitle: "-2+3", Department: "\tlead\r", AccountEnabled: false}

// exportDB is a directory database a full run filled with users.
func exportDB(t *testing.T, users ...StagedUser) *DirDB {
	t.Helper()
	ctx := context.Background()
	db, err := OpenDirectory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := Stage{Kind: "full", GroupSet: "x", Groups: []string{"g"}, Dirty: []string{"g"}, Step: "ready"}
	if err := db.BeginStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	members := make([]Membership, len(users))
	for i, u := range users {
		members[i] = Membership{GroupID: "g", MemberID: u.ID}
	}
	if err := db.StagePage(ctx, &StagePage{Users: users, Members: members, Stage: st, Now: exportNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reconcile(ctx, ReconcileOptions{Now: exportNow}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestExportCSVMakesEveryCellSafe(t *testing.T) {
	plain := StagedUser{ID: "u-ada", UserPrincipalName: "ada@contoso.com", DisplayName: "Åda Lövelace 🚀",
		GivenName: "Åda", Surname: "Lövelace", Mail: "ada@contoso.com", JobTitle: "R&D, lead", Department: `Eng "core"`, AccountEnabled: true}
	db := exportDB(t, plain, hostileUser)
	var out bytes.Buffer
	if err := ExportCSV(context.Background(), &out, db); err != nil {
		t.Fatal(err)
	}
	if i := bytes.IndexFunc(out.Bytes(), func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
		t.Fatalf("the CSV holds a control character at %d: %q", i, out.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	wantHeader := []string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle",
		"department", "accountEnabled", "state", "disabledAt", "updatedAt"}
	at := exportNow.Format(time.RFC3339)
	want := [][]string{
		wantHeader,
		// Ordered by UPN, as EachUser reads them.
		{"u-ada", "ada@contoso.com", "Åda Lövelace 🚀", "Åda", "Lövelace", "ada@contoso.com", "R&D, lead", `Eng "core"`,
			"true", "active", "", at},
		{"u-evil", "evil@contoso.com", `Evil\x1b]0;pwned\x07\x1b[2J`, `'=cmd|' /C calc'!A0`, "'+1+1", "'@SUM(A1)", "'-2+3", `'\tlead\r`,
			"false", "disabled", at, at},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Sales", "Sales"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@x", "'@x"},
		{"\t=1", `'\t=1`},
		{"\r=1", `'\r=1`},
		{"a=1", "a=1"},
		{"'=1", "'=1"},
		{"\x1b=1", `\x1b=1`},
	}
	for _, tt := range tests {
		if got := csvCell(tt.in); got != tt.want {
			t.Errorf("csvCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExportJSONEscapesControlsAndStreams(t *testing.T) {
	plain := StagedUser{ID: "u-ada", UserPrincipalName: "ada@contoso.com", DisplayName: "Åda", AccountEnabled: true}
	db := exportDB(t, plain, hostileUser)
	var out bytes.Buffer
	if err := ExportJSON(context.Background(), &out, db); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\x1b\x07\t\r") {
		t.Fatalf("the JSON holds a raw control character: %q", s)
	}
	if !strings.Contains(s, `Evil\u001b]0;pwned\u0007\u001b[2J`) {
		t.Fatalf("the display name is not escaped as JSON escapes it: %s", s)
	}
	// The array, one user a line, as the export has always written it.
	lines := strings.Split(s, "\n")
	if len(lines) != 5 || lines[0] != "[" || lines[3] != "]" || lines[4] != "" ||
		!strings.HasPrefix(lines[1], `  {"id":"u-ada",`) || !strings.HasSuffix(lines[1], "},") ||
		!strings.HasPrefix(lines[2], `  {"id":"u-evil",`) || !strings.HasSuffix(lines[2], "}") {
		t.Fatalf("the JSON is not one user a line:\n%s", s)
	}
	var users []DirUser
	if err := json.Unmarshal(out.Bytes(), &users); err != nil {
		t.Fatalf("the JSON does not parse: %v", err)
	}
	if len(users) != 2 || users[1].DisplayName != hostileUser.DisplayName || users[1].GivenName != hostileUser.GivenName ||
		users[1].Department != hostileUser.Department || users[1].DisabledAt == nil || !users[1].DisabledAt.Equal(exportNow) {
		t.Fatalf("the JSON does not read back as written: %+v", users)
	}
}

func TestExportOfNoUsers(t *testing.T) {
	db, err := OpenDirectory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var j, c bytes.Buffer
	if err := ExportJSON(context.Background(), &j, db); err != nil || j.String() != "[\n]\n" {
		t.Fatalf("JSON of no users: %q %v", j.String(), err)
	}
	var users []DirUser
	if err := json.Unmarshal(j.Bytes(), &users); err != nil || len(users) != 0 {
		t.Fatalf("JSON of no users does not parse as an empty array: %v", err)
	}
	if err := ExportCSV(context.Background(), &c, db); err != nil || c.String() != strings.Join(exportColumns, ",")+"\n" {
		t.Fatalf("CSV of no users: %q %v", c.String(), err)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errWriteFailed
	}
	w.n -= len(p)
	return len(p), nil
}

var errWriteFailed = errors.New("disk full")

func TestExportReturnsErrors(t *testing.T) {
	ctx := context.Background()
	export := map[string]func(context.Context, io.Writer, *DirDB) error{"csv": ExportCSV, "json": ExportJSON}
	for name, fn := range export {
		t.Run(name+" closed database", func(t *testing.T) {
			db := exportDB(t, hostileUser)
			db.Close()
			if err := fn(ctx, &bytes.Buffer{}, db); err == nil || !strings.Contains(err.Error(), "export users") {
				t.Fatalf("err = %v, want the read's error", err)
			}
		})
		t.Run(name+" cancelled", func(t *testing.T) {
			db := exportDB(t, hostileUser)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := fn(cctx, &bytes.Buffer{}, db); err == nil {
				t.Fatal("a cancelled export succeeded")
			}
		})
	}
	db := exportDB(t, hostileUser)
	if err := ExportJSON(ctx, &failingWriter{n: 1}, db); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("JSON to a failing writer: %v", err)
	}
	// csv.Writer buffers: the failure surfaces at the flush.
	if err := ExportCSV(ctx, &failingWriter{n: 10}, db); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("CSV to a failing writer: %v", err)
	}
}
