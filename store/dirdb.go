package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // pure-Go SQLite driver
	sqlite3 "modernc.org/sqlite/lib"
)

// DirectoryPath is where the directory database lives in dir.
func DirectoryPath(dir string) string { return filepath.Join(dir, "directory.db") }

// ConnectionDirectory is the folder, in a config directory, of the named
// connection's directory database: each connection syncs its own groups,
// so each has its own users, runs and delta links.
func ConnectionDirectory(configDir, connection string) string {
	return filepath.Join(configDir, "directories", url.PathEscape(connection))
}

// LegacyGroupSet is the group set of the last run applied to the directory
// database an earlier version kept for all connections in the config
// directory itself; "" when there is none, or none was applied.
func LegacyGroupSet(configDir string) (string, error) {
	if _, err := os.Stat(DirectoryPath(configDir)); err != nil {
		return "", nil
	}
	db, err := OpenDirectory(configDir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	cur, err := db.Cursor(context.Background())
	return cur.GroupSet, err
}

// AdoptLegacyDirectory moves the directory database an earlier version
// kept in the config directory itself to connDir, when connDir has none
// yet. The caller has decided it is this connection's.
func AdoptLegacyDirectory(configDir, connDir string) error {
	legacy := DirectoryPath(configDir)
	if _, err := os.Stat(legacy); err != nil {
		return nil
	}
	if _, err := os.Stat(DirectoryPath(connDir)); err == nil {
		return nil
	}
	if err := os.MkdirAll(connDir, 0o700); err != nil {
		return fmt.Errorf("move the directory database: %w", err)
	}
	// The WAL first: a database moved without its WAL would lose the
	// last commits.
	for _, suffix := range []string{"-wal", "-shm", ""} {
		err := os.Rename(legacy+suffix, DirectoryPath(connDir)+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("move the directory database: %w", err)
		}
	}
	return nil
}

// DirDB is the local directory database the sync engine writes: the users
// of the picked groups, their memberships, the runs, and the delta links.
// Every change of a run goes through a run-scoped staging area first, so a
// crash or a refused run leaves the previous state as it was.
//
// A preview (see Preview) works on a handle of its own, whose staging area
// no other handle sees.
type DirDB struct {
	db   *sql.DB
	q    querier   // db, or a preview's one connection
	conn *sql.Conn // a preview's connection; nil for a real handle
	path string
	// preview is set on a preview's handle, which never applies a run.
	preview bool
}

// querier is what *sql.DB and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// DirUser is a synced user.
type DirUser struct {
	ID                string     `json:"id"`
	UserPrincipalName string     `json:"userPrincipalName"`
	DisplayName       string     `json:"displayName"`
	GivenName         string     `json:"givenName,omitempty"`
	Surname           string     `json:"surname,omitempty"`
	Mail              string     `json:"mail,omitempty"`
	JobTitle          string     `json:"jobTitle,omitempty"`
	Department        string     `json:"department,omitempty"`
	AccountEnabled    bool       `json:"accountEnabled"`
	State             string     `json:"state"` // active, disabled or deleted
	DisabledAt        *time.Time `json:"disabledAt,omitempty"`
	UpdatedAt         time.Time  `json:"updatedAt"`
}

// Membership is a user (or nested group) in a picked group.
type Membership struct {
	GroupID  string
	MemberID string
}

// usersTable is the users table's definition. A full run builds the next
// users table (next_users) page by page while it reads, and applying the
// run swaps it in, so the apply does not write 100k rows at the end.
// plan is what the full run that wrote the row planned for the user
// (create, update, disable, unchanged or none).
const usersTable = ` (
	id TEXT PRIMARY KEY, upn TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT '',
	given_name TEXT NOT NULL DEFAULT '', surname TEXT NOT NULL DEFAULT '', mail TEXT NOT NULL DEFAULT '',
	job_title TEXT NOT NULL DEFAULT '', department TEXT NOT NULL DEFAULT '', account_enabled INTEGER NOT NULL DEFAULT 1,
	state TEXT NOT NULL, disabled_at INTEGER, updated_at INTEGER NOT NULL, plan TEXT NOT NULL DEFAULT '')`

// pairsTable is the definition of memberships and of stage_members, which
// a full run renames over it.
const pairsTable = ` (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id)) WITHOUT ROWID`

// tables defines every table of the directory database but runs: in the
// database itself for a real run, and again in a preview's temporary
// database, where they hide the real ones from the preview's statements.
// Each definition starts with CREATE TABLE or CREATE INDEX, which
// mainSchema and previewSchema rewrite.
const tables = `
CREATE TABLE users` + usersTable + `;
CREATE TABLE next_users` + usersTable + `;
CREATE TABLE groups (id TEXT PRIMARY KEY);
CREATE TABLE subgroups (group_id TEXT NOT NULL, sub_id TEXT NOT NULL, PRIMARY KEY (group_id, sub_id)) WITHOUT ROWID;
CREATE TABLE memberships` + pairsTable + `;
CREATE INDEX memberships_user ON memberships(user_id);
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE stage (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);
CREATE TABLE stage_users (
	id TEXT PRIMARY KEY, upn TEXT NOT NULL, display_name TEXT NOT NULL, given_name TEXT NOT NULL, surname TEXT NOT NULL,
	mail TEXT NOT NULL, job_title TEXT NOT NULL, department TEXT NOT NULL, account_enabled INTEGER NOT NULL,
	removed TEXT NOT NULL DEFAULT '');
CREATE TABLE stage_members` + pairsTable + `;
CREATE TABLE stage_subgroups (group_id TEXT NOT NULL, sub_id TEXT NOT NULL, PRIMARY KEY (group_id, sub_id)) WITHOUT ROWID;
CREATE TABLE stage_changes (group_id TEXT NOT NULL, member_id TEXT NOT NULL, member_type TEXT NOT NULL,
	removed INTEGER NOT NULL, PRIMARY KEY (group_id, member_id)) WITHOUT ROWID;
CREATE TABLE work_del (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
CREATE TABLE work_add (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id)) WITHOUT ROWID;
CREATE INDEX work_add_user ON work_add(user_id);
CREATE TABLE work_plan (id TEXT PRIMARY KEY, action TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX work_plan_action ON work_plan(action);
`

// mainSchema is the directory database's schema.
var mainSchema = strings.NewReplacer("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ").
	Replace(tables) + `CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started INTEGER NOT NULL, finished INTEGER,
	kind TEXT NOT NULL, created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '');
`

// previewSchema is a preview's copy of the tables, in its connection's
// temporary database.
var previewSchema = strings.NewReplacer("CREATE TABLE ", "CREATE TEMP TABLE ", "CREATE INDEX ", "CREATE INDEX temp.").Replace(tables)

// pageSize is the page size of a new directory database. 16 and 64 KiB
// pages made fewer write calls but each commit of a page of users wrote
// more, and the 100k-user sync with 50 ms latency ran 0.2-0.3 s slower.
const pageSize = 4096

// OpenDirectory opens (creating it, mode 0600) the directory database in a
// config directory. A file there that is not a directory database, or is
// damaged, is left as it is and reported as a *CorruptDirectoryError, by
// OpenDirectory or by the first method that reads the damage.
func OpenDirectory(dir string) (*DirDB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open directory database: %w", err)
	}
	path := DirectoryPath(dir)
	// SQLite would take a short file of anything for an empty database,
	// and write one over it.
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open directory database: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("open directory database: %w", err)
	}
	// Every transaction of a real handle writes: it takes the write lock
	// when it begins (immediate), waiting for it as long as the busy
	// timeout allows. A transaction that read first and then wrote would
	// fail at once with SQLITE_BUSY when another handle (a preview
	// recording its run) wrote in between.
	db, err := sql.Open("sqlite", dsn(path, "MEMORY")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open directory database: %w", err)
	}
	// One connection: SQLite has one writer anyway, and the work tables
	// must be seen by every statement of a run.
	db.SetMaxOpenConns(1)
	d := &DirDB{db: db, q: db, path: path}
	// The page size is set before WAL mode, which fixes it; WAL mode is
	// kept in the file.
	if _, err := db.Exec(fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL", pageSize)); err != nil {
		db.Close()
		return nil, d.checked(fmt.Errorf("open directory database %s: %w", path, err))
	}
	if _, err := db.Exec(mainSchema); err != nil {
		db.Close()
		return nil, d.checked(fmt.Errorf("open directory database %s: %w", path, err))
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, d.checked(fmt.Errorf("open directory database %s: %w", path, err))
	}
	return d, nil
}

// dsn is the data source name of the database at path, with the pragmas
// every connection sets; tempStore is MEMORY or FILE.
func dsn(path, tempStore string) string {
	// The path is a URI's: a % or ? in it must be escaped.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(0)&_pragma=temp_store(" + tempStore + ")&_pragma=cache_size(-16384)"
}

// sqliteMagic begins every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// checkHeader reports a file at path that is not empty and is not an
// SQLite database, without changing it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open directory database: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if string(head[:n]) != sqliteMagic {
		return &CorruptDirectoryError{Path: path, Err: errors.New("not an SQLite database")}
	}
	return nil
}

// CorruptDirectoryError is a directory database SQLite cannot read: a file
// that is not one, or a damaged one. It is left as it is: the synced users
// it holds may still be recovered from it.
type CorruptDirectoryError struct {
	Path string
	Err  error
}

func (e *CorruptDirectoryError) Error() string {
	name := filepath.Base(e.Path)
	return fmt.Sprintf("the directory database %s is damaged (%v); it was left untouched: move it aside, with any %s-wal and %s-shm "+
		"files beside it, and the next sync rebuilds it with a full run", e.Path, e.Err, name, name)
}

func (e *CorruptDirectoryError) Unwrap() error { return e.Err }

// checked turns an error SQLite gives for a damaged database into a
// *CorruptDirectoryError.
func (d *DirDB) checked(err error) error {
	var se *sqlite.Error
	var ce *CorruptDirectoryError
	if err == nil || errors.As(err, &ce) || !errors.As(err, &se) {
		return err
	}
	if c := se.Code() & 0xff; c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB {
		return &CorruptDirectoryError{Path: d.path, Err: err}
	}
	return err
}

// check is checked for a method's named error, deferred.
func (d *DirDB) check(err *error) { *err = d.checked(*err) }

// migrate brings a database made by an earlier version up to the schema.
// An earlier version staged a full run's users where this one does not
// look for them, so a run it left unfinished is dropped (the next run
// starts afresh) rather than resumed without its pages.
func migrate(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'plan'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have migrated meanwhile.
	if _, err := tx.Exec(`ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT ''`); err != nil {
		if strings.Contains(err.Error(), "duplicate column") {
			return nil
		}
		return err
	}
	if err := clearStage(context.Background(), tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database; a preview's staging area goes with it.
func (d *DirDB) Close() error {
	if d.conn != nil {
		d.conn.Close()
	}
	return d.db.Close()
}

// Preview opens another handle on the database, for a preview (a dry run).
// Its staging area, and a copy of the applied directory taken in one read,
// are in its connection's temporary database, which no other handle sees
// and which goes when the handle is closed. A preview so never reads,
// writes or discards a real run's stage (nor a real run a preview's), and
// plans against one state of the directory even when a real run is applied
// meanwhile. Only its run record is written to the database; Reconcile
// never applies a run there.
func (d *DirDB) Preview(ctx context.Context) (_ *DirDB, err error) {
	// Deferred transactions: a preview's only touch the temporary
	// database, and must not take the database's write lock.
	// Its temporary database in a file, with the main database's cache:
	// in memory it held the directory's copy and the run's pages, and a
	// preview of 100k users peaked at 240 MB rather than 130 MB.
	db, err := sql.Open("sqlite", dsn(d.path, "FILE"))
	if err != nil {
		return nil, fmt.Errorf("open a preview: %w", err)
	}
	db.SetMaxOpenConns(1)
	// One connection held for the whole preview: should it break, the
	// preview fails rather than go on in a new connection without its
	// tables, on the real ones.
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, d.checked(fmt.Errorf("open a preview: %w", err))
	}
	p := &DirDB{db: db, q: conn, conn: conn, path: d.path, preview: true}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if _, err := conn.ExecContext(ctx, previewSchema+"PRAGMA temp.cache_size = -16384;"); err != nil {
		return nil, d.checked(fmt.Errorf("open a preview: %w", err))
	}
	err = p.tx(ctx, "open a preview", func(tx *sql.Tx) error {
		return execAll(ctx, tx, []stmt{
			{`INSERT INTO temp.users (id, upn, display_name, given_name, surname, mail, job_title, department, account_enabled,
				state, disabled_at, updated_at) SELECT id, upn, display_name, given_name, surname, mail, job_title, department,
				account_enabled, state, disabled_at, updated_at FROM main.users`, nil},
			{`INSERT INTO temp.memberships (group_id, user_id) SELECT group_id, user_id FROM main.memberships`, nil},
			{`INSERT INTO temp.subgroups (group_id, sub_id) SELECT group_id, sub_id FROM main.subgroups`, nil},
			{`INSERT INTO temp.groups (id) SELECT id FROM main.groups`, nil},
			{`INSERT INTO temp.sync_state (key, value) SELECT key, value FROM main.sync_state`, nil},
		})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SyncCursor is where the last applied run left off: the picked groups it
// covered and the delta links to continue from.
type SyncCursor struct {
	GroupSet    string `json:"groupSet"`
	UsersDelta  string `json:"usersDelta"`
	GroupsDelta string `json:"groupsDelta"`
}

// Cursor reads the saved cursor; zero when no run was applied yet.
func (d *DirDB) Cursor(ctx context.Context) (_ SyncCursor, err error) {
	defer d.check(&err)
	var c SyncCursor
	var raw string
	err = d.q.QueryRowContext(ctx, `SELECT value FROM sync_state WHERE key = 'cursor'`).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read sync state: %w", err)
	}
	return c, json.Unmarshal([]byte(raw), &c)
}

// Stage is where an unfinished run stands. It is saved in the same
// transaction as the page it follows, so a resumed run neither loses nor
// repeats a page.
type Stage struct {
	RunID    int64    `json:"runId"`
	Kind     string   `json:"kind"` // full or incremental
	DryRun   bool     `json:"dryRun,omitempty"`
	GroupSet string   `json:"groupSet"`
	Groups   []string `json:"groups"`
	// Step is users-delta, groups-delta, resolve, read-groups or ready.
	Step  string   `json:"step"`
	Dirty []string `json:"dirty,omitempty"` // picked groups read in full this run
	Group int      `json:"group"`           // read-groups: index into Dirty
	Link  string   `json:"link,omitempty"`  // the next page of the current walk
	// Subgroups is set once the current group's nested groups are staged.
	Subgroups bool `json:"subgroups,omitempty"`
	// The links this run saves when it is applied.
	UsersDelta  string `json:"usersDelta,omitempty"`
	GroupsDelta string `json:"groupsDelta,omitempty"`
	// Planned counts what a full run plans for the users it has read so
	// far, kept with the pages so that a resumed run goes on counting.
	Planned PlanCounts `json:"planned"`
	// Gone are the picked groups found deleted in Entra, read as empty.
	Gone []string `json:"gone,omitempty"`
}

// PlanCounts counts users by what a run does to them.
type PlanCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Disabled  int `json:"disabled"`
	Unchanged int `json:"unchanged"`
}

func (c *PlanCounts) add(action string) {
	switch action {
	case "create":
		c.Created++
	case "update":
		c.Updated++
	case "disable":
		c.Disabled++
	case "unchanged":
		c.Unchanged++
	}
}

// StagedUser is a user read from Graph in this run. Removed is the
// @removed reason of a user deleted in Entra.
type StagedUser struct {
	ID, UserPrincipalName, DisplayName, GivenName, Surname, Mail, JobTitle, Department string
	AccountEnabled                                                                     bool
	Removed                                                                            string
}

// MemberChange is a members@delta entry of a group in the picked groups'
// trees. Type is "user" or "group", or GroupDeleted for a picked group
// deleted in Entra (with its own ID as the member).
type MemberChange struct {
	GroupID, MemberID, Type string
	Removed                 bool
}

// GroupDeleted is the MemberChange type of a picked group deleted in
// Entra: the run reads it in full, and finds it empty.
const GroupDeleted = "deleted"

// StagePage is one page of a run, written with the run's new position.
type StagePage struct {
	Users     []StagedUser
	Members   []Membership // users of a picked group read in full
	Subgroups []Membership // nested groups of a picked group
	Changes   []MemberChange
	Stage     Stage
	Now       time.Time // when the page was read: a full run's change times
}

// Staged returns the unfinished run, or nil.
func (d *DirDB) Staged(ctx context.Context) (_ *Stage, err error) {
	defer d.check(&err)
	var raw string
	err = d.q.QueryRowContext(ctx, `SELECT value FROM stage WHERE id = 1`).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read staged run: %w", err)
	}
	var st Stage
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("read staged run: %w", err)
	}
	return &st, nil
}

// BeginStage empties the staging area and starts a run there.
func (d *DirDB) BeginStage(ctx context.Context, st Stage) error {
	return d.tx(ctx, "start a run", func(tx *sql.Tx) error {
		if err := clearStage(ctx, tx); err != nil {
			return err
		}
		return putStage(ctx, tx, st)
	})
}

// DiscardStage drops an unfinished run; the applied state is untouched.
func (d *DirDB) DiscardStage(ctx context.Context) error {
	return d.tx(ctx, "discard a run", func(tx *sql.Tx) error { return clearStage(ctx, tx) })
}

func clearStage(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []string{"stage", "stage_users", "stage_members", "stage_subgroups", "stage_changes", "next_users"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return err
		}
	}
	return nil
}

func putStage(ctx context.Context, tx *sql.Tx, st Stage) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO stage (id, value) VALUES (1, ?)`, string(b))
	return err
}

// StagePage writes one page and the run's new position in one transaction.
// In a full run it plans each user of the page at once, into the next users
// table, and adds them to p.Stage.Planned.
func (d *DirDB) StagePage(ctx context.Context, p *StagePage) error {
	return d.tx(ctx, "save a page", func(tx *sql.Tx) error {
		if p.Stage.Kind == "full" {
			if err := planPage(ctx, tx, p); err != nil {
				return err
			}
			p.Users = nil
		}
		err := insertRows(ctx, tx, `INSERT OR REPLACE INTO stage_users (id, upn, display_name, given_name, surname, mail,
			job_title, department, account_enabled, removed)`, 10, len(p.Users), func(i int, a []any) []any {
			u := &p.Users[i]
			return append(a, u.ID, u.UserPrincipalName, u.DisplayName, u.GivenName, u.Surname, u.Mail,
				u.JobTitle, u.Department, u.AccountEnabled, u.Removed)
		})
		if err != nil {
			return err
		}
		if err := insertPairs(ctx, tx, "stage_members", p.Members); err != nil {
			return err
		}
		if err := insertPairs(ctx, tx, "stage_subgroups", p.Subgroups); err != nil {
			return err
		}
		err = insertRows(ctx, tx, `INSERT OR REPLACE INTO stage_changes (group_id, member_id, member_type, removed)`, 4, len(p.Changes),
			func(i int, a []any) []any {
				c := &p.Changes[i]
				return append(a, c.GroupID, c.MemberID, c.Type, c.Removed)
			})
		if err != nil {
			return err
		}
		return putStage(ctx, tx, p.Stage)
	})
}

// planPage writes the users of a full run's page to next_users as they will
// be once the run is applied: every user read is in a picked group, so it
// is wanted active unless disabled in Entra. A user read before (in
// another picked group) is left as planned then.
func planPage(ctx context.Context, tx *sql.Tx, p *StagePage) error {
	if len(p.Users) == 0 {
		return nil
	}
	ids := make([]string, len(p.Users))
	for i, u := range p.Users {
		ids[i] = u.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT j.key, n.id IS NOT NULL, u.id IS NOT NULL, coalesce(u.upn, ''),
		coalesce(u.display_name, ''), coalesce(u.given_name, ''), coalesce(u.surname, ''), coalesce(u.mail, ''),
		coalesce(u.job_title, ''), coalesce(u.department, ''), coalesce(u.account_enabled, 0), coalesce(u.state, ''),
		u.disabled_at, coalesce(u.updated_at, 0)
		FROM json_each(?) j LEFT JOIN next_users n ON n.id = j.value LEFT JOIN users u ON u.id = j.value`, jsonList(ids))
	if err != nil {
		return err
	}
	type old struct {
		planned, exists bool
		u               StagedUser
		state           string
		disabledAt      sql.NullInt64
		updatedAt       int64
	}
	olds := make([]old, len(p.Users))
	for rows.Next() {
		var i int
		var o old
		if err := rows.Scan(&i, &o.planned, &o.exists, &o.u.UserPrincipalName, &o.u.DisplayName, &o.u.GivenName, &o.u.Surname,
			&o.u.Mail, &o.u.JobTitle, &o.u.Department, &o.u.AccountEnabled, &o.state, &o.disabledAt, &o.updatedAt); err != nil {
			rows.Close()
			return err
		}
		olds[i] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := p.Now.UnixMilli()
	type next struct {
		u          *StagedUser
		state      string
		disabledAt any
		updatedAt  int64
		plan       string
	}
	nexts := make([]next, 0, len(p.Users))
	seen := make(map[string]bool, len(p.Users))
	for i := range p.Users {
		u, o := &p.Users[i], olds[i]
		if o.planned || seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		want := "disabled"
		if u.AccountEnabled {
			want = "active"
		}
		o.u.ID = u.ID
		n := next{u: u, state: want, updatedAt: now}
		if want != "active" {
			n.disabledAt = now
		}
		switch {
		case !o.exists:
			n.plan = "create"
		case o.state == "active" && want != "active":
			n.plan = "disable"
		case o.state != "active" && want == "active":
			n.plan = "update"
		case o.u.UserPrincipalName != u.UserPrincipalName || o.u.DisplayName != u.DisplayName || o.u.GivenName != u.GivenName ||
			o.u.Surname != u.Surname || o.u.Mail != u.Mail || o.u.JobTitle != u.JobTitle || o.u.Department != u.Department ||
			o.u.AccountEnabled != u.AccountEnabled:
			n.plan = "update"
			if o.state == want {
				n.disabledAt = nullable(o.disabledAt)
			}
		default:
			// Unchanged: the stored row as it is.
			n = next{u: &o.u, state: o.state, disabledAt: nullable(o.disabledAt), updatedAt: o.updatedAt, plan: "unchanged"}
		}
		p.Stage.Planned.add(n.plan)
		nexts = append(nexts, n)
	}
	return insertRows(ctx, tx, `INSERT INTO next_users (id, upn, display_name, given_name, surname, mail, job_title,
		department, account_enabled, state, disabled_at, updated_at, plan)`, 13, len(nexts), func(i int, a []any) []any {
		n := &nexts[i]
		return append(a, n.u.ID, n.u.UserPrincipalName, n.u.DisplayName, n.u.GivenName, n.u.Surname, n.u.Mail,
			n.u.JobTitle, n.u.Department, n.u.AccountEnabled, n.state, n.disabledAt, n.updatedAt, n.plan)
	})
}

func nullable(v sql.NullInt64) any {
	if v.Valid {
		return v.Int64
	}
	return nil
}

func insertPairs(ctx context.Context, tx *sql.Tx, table string, pairs []Membership) error {
	return insertRows(ctx, tx, "INSERT OR IGNORE INTO "+table, 2, len(pairs), func(i int, a []any) []any {
		return append(a, pairs[i].GroupID, pairs[i].MemberID)
	})
}

// rowsPerInsert is how many rows one INSERT carries: one statement for
// 100 rows costs a fraction of 100 statements.
const rowsPerInsert = 100

// insertRows inserts n rows of cols columns with multi-row INSERTs; row
// appends row i's values to a.
func insertRows(ctx context.Context, tx *sql.Tx, head string, cols, n int, row func(i int, a []any) []any) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	args := make([]any, 0, cols*rowsPerInsert)
	for i := 0; i < n; i += rowsPerInsert {
		k := min(rowsPerInsert, n-i)
		args = args[:0]
		for j := i; j < i+k; j++ {
			args = row(j, args)
		}
		q := head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+",", k), ",")
		if k < rowsPerInsert {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Trees returns, for each group in the picked groups' trees (the picked
// groups and the groups nested in them), the picked groups it is under.
func (d *DirDB) Trees(ctx context.Context, picked []string) (_ map[string][]string, err error) {
	defer d.check(&err)
	out := map[string][]string{}
	for _, p := range picked {
		out[p] = append(out[p], p)
	}
	rows, err := d.q.QueryContext(ctx, `SELECT group_id, sub_id FROM subgroups`)
	if err != nil {
		return nil, fmt.Errorf("read nested groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, s string
		if err := rows.Scan(&g, &s); err != nil {
			return nil, err
		}
		out[s] = append(out[s], g)
	}
	return out, rows.Err()
}

// DirtyGroups returns the picked groups whose staged member changes cannot
// be applied one by one and must be read in full: a nested group came or
// went, or a user left a group that has nested groups (the user may still
// be a member through one of them).
func (d *DirDB) DirtyGroups(ctx context.Context, picked []string) (_ []string, err error) {
	defer d.check(&err)
	var out []string
	for _, p := range picked {
		var n int
		err := d.q.QueryRowContext(ctx, `SELECT count(*) FROM stage_changes c
			WHERE (c.group_id = ?1 OR c.group_id IN (SELECT sub_id FROM subgroups WHERE group_id = ?1))
			AND (c.member_type != 'user' OR (c.removed = 1 AND EXISTS (SELECT 1 FROM subgroups WHERE group_id = ?1)))`, p).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("plan the run: %w", err)
		}
		if n > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// MissingUsers returns users who joined a picked group this run and whose
// attributes are neither stored nor staged.
func (d *DirDB) MissingUsers(ctx context.Context) (_ []string, err error) {
	defer d.check(&err)
	rows, err := d.q.QueryContext(ctx, `SELECT DISTINCT member_id FROM stage_changes
		WHERE member_type = 'user' AND removed = 0
		AND member_id NOT IN (SELECT id FROM users) AND member_id NOT IN (SELECT id FROM stage_users)`)
	if err != nil {
		return nil, fmt.Errorf("plan the run: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SyncedGroup reports whether an applied run covered the picked group id.
func (d *DirDB) SyncedGroup(ctx context.Context, id string) (_ bool, err error) {
	defer d.check(&err)
	var n int
	if err := d.q.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("read groups: %w", err)
	}
	return n > 0, nil
}

func (d *DirDB) tx(ctx context.Context, what string, fn func(*sql.Tx) error) (err error) {
	defer d.check(&err)
	tx, err := d.q.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
