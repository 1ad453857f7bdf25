package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver OpenDirectory and Preview open
)

// DirectoryPath is where the directory database lives in dir.
func DirectoryPath(dir string) string { return filepath.Join(dir, "directory.db") }

// ConnectionDirectory is the folder, in a config directory, of the named
// connection's directory database: each connection syncs its own groups,
// so each has its own users, runs and delta links.
func ConnectionDirectory(configDir, connection string) string {
	return filepath.Join(configDir, "directories", url.PathEscape(connection))
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
	// planned are the users the staged full run planned so far.
	planned plannedIDs
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
const usersTable = ` (id TEXT PRIMARY KEY, ` + userColumns + `)`

// nextUsersTable is next_users' definition: the users table's columns
// without its primary key. A full run appends to it page by page, and the
// unique index on id is built once, in order, when the run is applied
// (users_id). With the key's index kept while reading, every page of
// randomly ordered IDs dirtied most of the index's pages, and writing them
// again at every page's commit was most of a 100k-user sync's CPU time
// (and grows as the square of the users).
const nextUsersTable = ` (id TEXT NOT NULL, ` + userColumns + `)`

// userColumns are the users table's columns after id.
const userColumns = `upn TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT '',
	given_name TEXT NOT NULL DEFAULT '', surname TEXT NOT NULL DEFAULT '', mail TEXT NOT NULL DEFAULT '',
	job_title TEXT NOT NULL DEFAULT '', department TEXT NOT NULL DEFAULT '', account_enabled INTEGER NOT NULL DEFAULT 1,
	state TEXT NOT NULL, disabled_at INTEGER, updated_at INTEGER NOT NULL, plan TEXT NOT NULL DEFAULT ''`

// pairsTable is the definition of memberships.
const pairsTable = ` (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id)) WITHOUT ROWID`

// stageMembersTable is stage_members' definition: appended to page by page
// without an index, for the reason next_users has none; applying a full run
// copies it into memberships in order.
const stageMembersTable = ` (group_id TEXT NOT NULL, user_id TEXT NOT NULL)`

// tables defines every table of the directory database but runs: in the
// database itself for a real run, and again in a preview's temporary
// database, where they hide the real ones from the preview's statements.
// Each definition starts with CREATE TABLE or CREATE INDEX, which
// mainSchema and previewSchema rewrite.
const tables = `
CREATE TABLE users` + usersTable + `;
CREATE TABLE next_users` + nextUsersTable + `;
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
CREATE TABLE stage_members` + stageMembersTable + `;
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
	// recording its run) wrote in between. Temporary files on disk:
	// applying a run sorts its users and memberships to index them, and
	// a sort larger than the cache spills to them (in memory, a million
	// users' sorts took a hundred megabytes more).
	db, err := sql.Open("sqlite", dsn(path, "FILE")+"&_txlock=immediate")
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
	return d, nil
}

// dsn is the data source name of the database at path, with the pragmas
// every connection sets; tempStore is MEMORY or FILE.
func dsn(path, tempStore string) string {
	// The path is a URI's: a % or ? in it must be escaped.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(0)&_pragma=temp_store(" + tempStore + ")&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(0)"
}

// Close closes the database; a preview's staging area goes with it.
func (d *DirDB) Close() error {
	if d.conn != nil {
		d.conn.Close()
	}
	return d.db.Close()
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

// EachUser calls fn for every synced user, ordered by UPN, one row at a
// time. It returns fn's first error, or the database's: a damaged
// database part way through the users is a *CorruptDirectoryError, never
// a shortened list.
func (d *DirDB) EachUser(ctx context.Context, fn func(DirUser) error) error {
	rows, err := d.q.QueryContext(ctx, `SELECT id, upn, display_name, given_name, surname, mail, job_title, department,
		account_enabled, state, disabled_at, updated_at FROM users ORDER BY upn, id`)
	if err != nil {
		return d.checked(fmt.Errorf("read users: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var u DirUser
		var dis sql.NullInt64
		var upd int64
		if err := rows.Scan(&u.ID, &u.UserPrincipalName, &u.DisplayName, &u.GivenName, &u.Surname, &u.Mail, &u.JobTitle,
			&u.Department, &u.AccountEnabled, &u.State, &dis, &upd); err != nil {
			return d.checked(fmt.Errorf("read users: %w", err))
		}
		if dis.Valid {
			t := time.UnixMilli(dis.Int64)
			u.DisabledAt = &t
		}
		u.UpdatedAt = time.UnixMilli(upd)
		if err := fn(u); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return d.checked(fmt.Errorf("read users: %w", err))
	}
	return nil
}

// Memberships returns every (picked group, user) pair.
func (d *DirDB) Memberships(ctx context.Context) (_ []Membership, err error) {
	defer d.check(&err)
	rows, err := d.q.QueryContext(ctx, `SELECT group_id, user_id FROM memberships ORDER BY group_id, user_id`)
	if err != nil {
		return nil, fmt.Errorf("read memberships: %w", err)
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.GroupID, &m.MemberID); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
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
