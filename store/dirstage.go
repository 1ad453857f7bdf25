package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
	// Walks is where the read of each group in Dirty stands (read-groups);
	// the groups are read side by side.
	Walks []Walk `json:"walks,omitempty"`
	// Group is the index into Dirty of the group whose page was staged
	// last. A stage written before Walks existed read the groups one by
	// one: the groups before Group were read, and Group's walk stood at
	// Link, with its nested groups staged when Subgroups was set.
	Group int    `json:"group"`
	Link  string `json:"link,omitempty"` // the next page of the current delta round
	// Subgroups is set once the current group's nested groups are staged
	// (in a stage without Walks).
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

// Walk is where the read of one picked group stands.
type Walk struct {
	Link      string `json:"link,omitempty"`      // the next page; "" before the first
	Subgroups bool   `json:"subgroups,omitempty"` // its nested groups are staged
	Done      bool   `json:"done,omitempty"`      // every page is staged
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
	defer d.planned.forget()
	return d.tx(ctx, "start a run", func(tx *sql.Tx) error {
		if err := clearStage(ctx, tx); err != nil {
			return err
		}
		return putStage(ctx, tx, st)
	})
}

// DiscardStage drops an unfinished run; the applied state is untouched.
func (d *DirDB) DiscardStage(ctx context.Context) error {
	defer d.planned.forget()
	return d.tx(ctx, "discard a run", func(tx *sql.Tx) error { return clearStage(ctx, tx) })
}

func clearStage(ctx context.Context, tx *sql.Tx) error {
	// The next run's pages are appended without an index.
	if _, err := tx.ExecContext(ctx, `DROP INDEX IF EXISTS stage_members_pair`); err != nil {
		return err
	}
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
	var planned [][16]byte
	err := d.tx(ctx, "save a page", func(tx *sql.Tx) error {
		if p.Stage.Kind == "full" {
			var err error
			if planned, err = d.planPage(ctx, tx, p); err != nil {
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
		if err := insertRows(ctx, tx, `INSERT INTO stage_members (group_id, user_id)`, 2, len(p.Members), func(i int, a []any) []any {
			return append(a, p.Members[i].GroupID, p.Members[i].MemberID)
		}); err != nil {
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
	if err != nil {
		// What the set holds is read again from what was committed.
		d.planned.forget()
		return err
	}
	d.planned.add(planned)
	return nil
}

// planPage writes the users of a full run's page to next_users as they will
// be once the run is applied: every user read is in a picked group, so it
// is wanted active unless disabled in Entra. A user read before (in
// another picked group) is left as planned then. It returns the keys of
// the users it planned, for d.planned once the page is committed.
func (d *DirDB) planPage(ctx context.Context, tx *sql.Tx, p *StagePage) ([][16]byte, error) {
	if len(p.Users) == 0 {
		return nil, nil
	}
	if err := d.planned.load(ctx, tx); err != nil {
		return nil, err
	}
	// The users not planned yet, each once.
	users := make([]*StagedUser, 0, len(p.Users))
	keys := make([][16]byte, 0, len(p.Users))
	seen := make(map[[16]byte]bool, len(p.Users))
	for i := range p.Users {
		k := idKey(p.Users[i].ID)
		if seen[k] || d.planned.has(k) {
			continue
		}
		seen[k] = true
		users, keys = append(users, &p.Users[i]), append(keys, k)
	}
	if len(users) == 0 {
		return nil, nil
	}
	olds := make([]storedUser, len(users))
	if !d.planned.empty() {
		if err := lookUpUsers(ctx, tx, users, olds); err != nil {
			return nil, err
		}
	}
	now := p.Now.UnixMilli()
	type next struct {
		u          *StagedUser
		state      string
		disabledAt any
		updatedAt  int64
		plan       string
	}
	nexts := make([]next, 0, len(users))
	for i, u := range users {
		o := olds[i]
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
	err := insertRows(ctx, tx, `INSERT INTO next_users (id, upn, display_name, given_name, surname, mail, job_title,
		department, account_enabled, state, disabled_at, updated_at, plan)`, 13, len(nexts), func(i int, a []any) []any {
		n := &nexts[i]
		return append(a, n.u.ID, n.u.UserPrincipalName, n.u.DisplayName, n.u.GivenName, n.u.Surname, n.u.Mail,
			n.u.JobTitle, n.u.Department, n.u.AccountEnabled, n.state, n.disabledAt, n.updatedAt, n.plan)
	})
	return keys, err
}

// storedUser is a user as the users table holds it, before a run.
type storedUser struct {
	exists     bool
	u          StagedUser
	state      string
	disabledAt sql.NullInt64
	updatedAt  int64
}

// lookUpUsers reads into olds the stored rows of users, in order.
func lookUpUsers(ctx context.Context, tx *sql.Tx, users []*StagedUser, olds []storedUser) error {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT j.key, u.id IS NOT NULL, coalesce(u.upn, ''),
		coalesce(u.display_name, ''), coalesce(u.given_name, ''), coalesce(u.surname, ''), coalesce(u.mail, ''),
		coalesce(u.job_title, ''), coalesce(u.department, ''), coalesce(u.account_enabled, 0), coalesce(u.state, ''),
		u.disabled_at, coalesce(u.updated_at, 0)
		FROM json_each(?) j LEFT JOIN users u ON u.id = j.value`, jsonList(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var o storedUser
		if err := rows.Scan(&i, &o.exists, &o.u.UserPrincipalName, &o.u.DisplayName, &o.u.GivenName, &o.u.Surname,
			&o.u.Mail, &o.u.JobTitle, &o.u.Department, &o.u.AccountEnabled, &o.state, &o.disabledAt, &o.updatedAt); err != nil {
			return err
		}
		olds[i] = o
	}
	return rows.Err()
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
