package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ReconcileOptions says how a staged run is turned into changes.
type ReconcileOptions struct {
	Now             time.Time
	OnRemoval       string // disable (default) or delete
	DeleteAfterDays int
	DryRun          bool // compute the plan, change nothing
	// RunStart is when the run began: users disabled since are this
	// run's (zero: Now).
	RunStart  time.Time
	ListLimit int // entries listed per action; 0 means 1000
	// Check is called with the plan before anything is written; an error
	// leaves the database as it was.
	Check func(*SyncPlan) error
}

// PlannedChange is one user a run creates, updates, or disables.
type PlannedChange struct {
	Action            string `json:"action"` // create, update, disable
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// SyncPlan is what a run does (or, dry, would do).
type SyncPlan struct {
	Created      int             `json:"created"`
	Updated      int             `json:"updated"`
	Disabled     int             `json:"disabled"`
	Deleted      int             `json:"deleted"`
	Unchanged    int             `json:"unchanged"`
	ActiveBefore int             `json:"activeBefore"` // active users before the run
	Changes      []PlannedChange `json:"changes,omitempty"`
	Truncated    bool            `json:"truncated,omitempty"` // Changes lists only the first ListLimit of each action
}

// Reconcile compares the staged run with the stored state, and, unless dry
// or refused by Check, applies it in one transaction together with the
// run's delta links. Either way the staging area is emptied. A preview's
// handle is always dry.
func (d *DirDB) Reconcile(ctx context.Context, opts ReconcileOptions) (_ *SyncPlan, err error) {
	defer d.check(&err)
	if opts.ListLimit == 0 {
		opts.ListLimit = 1000
	}
	if d.preview {
		opts.DryRun = true
	}
	tx, err := d.q.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("apply the run: %w", err)
	}
	defer tx.Rollback()
	st, err := stageIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	plan, apply := planRun, applyRun
	if st.Kind == "full" {
		plan, apply = planFull, applyFull
	}
	return d.reconcile(ctx, tx, st, opts, plan, apply)
}

func (d *DirDB) reconcile(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions,
	planFn func(context.Context, *sql.Tx, *Stage, ReconcileOptions) (*SyncPlan, error),
	applyFn func(context.Context, *sql.Tx, *Stage, ReconcileOptions, *SyncPlan) error) (*SyncPlan, error) {
	plan, err := planFn(ctx, tx, st, opts)
	if err != nil {
		return nil, fmt.Errorf("plan the run: %w", err)
	}
	if opts.Check != nil {
		if err := opts.Check(plan); err != nil {
			tx.Rollback()
			return plan, errors.Join(err, d.DiscardStage(ctx))
		}
	}
	if opts.DryRun {
		tx.Rollback()
		return plan, d.DiscardStage(ctx)
	}
	if err := applyFn(ctx, tx, st, opts, plan); err != nil {
		return nil, fmt.Errorf("apply the run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("apply the run: %w", err)
	}
	return plan, nil
}

// planFull finishes a full run's plan. The pages planned every user read,
// into next_users; what is left are the stored users no picked group holds
// any more.
func planFull(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions) (*SyncPlan, error) {
	// Users not read: disabled if active; counted as unchanged if they
	// were in a picked group, as the incremental planner counts them.
	rows, err := tx.QueryContext(ctx, `INSERT INTO next_users (id, upn, display_name, given_name, surname, mail, job_title,
		department, account_enabled, state, disabled_at, updated_at, plan)
		SELECT u.id, u.upn, u.display_name, u.given_name, u.surname, u.mail, u.job_title, u.department, u.account_enabled,
		CASE u.state WHEN 'active' THEN 'disabled' ELSE u.state END,
		CASE u.state WHEN 'active' THEN ?1 ELSE u.disabled_at END,
		CASE u.state WHEN 'active' THEN ?1 ELSE u.updated_at END,
		CASE WHEN u.state = 'active' THEN 'disable'
			WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id) THEN 'unchanged' ELSE 'none' END
		FROM users u WHERE NOT EXISTS (SELECT 1 FROM next_users n WHERE n.id = u.id)
		RETURNING plan`, opts.Now.UnixMilli())
	if err != nil {
		return nil, err
	}
	var unread PlanCounts
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return nil, err
		}
		unread.add(a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	plan := &SyncPlan{}
	c := st.Planned
	plan.Created, plan.Updated = c.Created, c.Updated
	plan.Disabled, plan.Unchanged = c.Disabled+unread.Disabled, c.Unchanged+unread.Unchanged
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE state = 'active'`).Scan(&plan.ActiveBefore); err != nil {
		return nil, err
	}
	if err := countExpired(ctx, tx, opts, plan); err != nil {
		return nil, err
	}
	if err := listChanges(ctx, tx, plan, opts.ListLimit, `SELECT id, upn, display_name FROM next_users WHERE plan = ? ORDER BY id LIMIT ?`); err != nil {
		return nil, err
	}
	return plan, nil
}

// applyFull applies a full run by swapping next_users in for users, so the
// users read are not written a second time.
func applyFull(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions, plan *SyncPlan) error {
	err := execAll(ctx, tx, []stmt{
		{`DROP TABLE users`, nil},
		{`ALTER TABLE next_users RENAME TO users`, nil},
		{`CREATE TABLE next_users` + usersTable, nil},
		// The memberships read are the picked groups' memberships now.
		{`DROP TABLE memberships`, nil},
		{`ALTER TABLE stage_members RENAME TO memberships`, nil},
		{`CREATE INDEX memberships_user ON memberships(user_id)`, nil},
		{`CREATE TABLE stage_members` + pairsTable, nil},
		{`DELETE FROM subgroups`, nil},
		{`INSERT OR IGNORE INTO subgroups SELECT group_id, sub_id FROM stage_subgroups`, nil},
	})
	if err != nil {
		return err
	}
	return finishApply(ctx, tx, st, opts, plan)
}

// finishApply is what applying any run ends with: the picked groups and
// the delta links saved, the users past their days of grace deleted, and
// the staging area emptied.
func finishApply(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions, plan *SyncPlan) error {
	cur, _ := json.Marshal(SyncCursor{GroupSet: st.GroupSet, UsersDelta: st.UsersDelta, GroupsDelta: st.GroupsDelta})
	err := execAll(ctx, tx, []stmt{
		{`DELETE FROM groups`, nil},
		{`INSERT INTO groups SELECT value FROM json_each(?)`, []any{jsonList(st.Groups)}},
		{`INSERT OR REPLACE INTO sync_state (key, value) VALUES ('cursor', ?)`, []any{string(cur)}},
	})
	if err != nil {
		return err
	}
	if err := deleteExpired(ctx, tx, opts, plan); err != nil {
		return err
	}
	return clearStage(ctx, tx)
}

// stmt is one statement of a sequence run by execAll.
type stmt struct {
	q    string
	args []any
}

func execAll(ctx context.Context, tx *sql.Tx, stmts []stmt) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// countExpired counts, when the profile asks for deletion, the users an
// earlier run disabled that this run will mark deleted: those disabled
// more than its days ago. The users this run itself disables are counted
// as disabled only, even when no days of grace make them deleted at once,
// so that disabled plus deleted counts each user once.
func countExpired(ctx context.Context, tx *sql.Tx, opts ReconcileOptions, plan *SyncPlan) error {
	if opts.OnRemoval != "delete" {
		return nil
	}
	return tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE state = 'disabled' AND disabled_at <= ? AND disabled_at < ?`,
		expiry(opts), opts.runStart()).Scan(&plan.Deleted)
}

// deleteExpired marks as deleted the users disabled more than the
// profile's days ago, when it asks for deletion, and counts those an
// earlier run disabled, as countExpired does.
func deleteExpired(ctx context.Context, tx *sql.Tx, opts ReconcileOptions, plan *SyncPlan) error {
	if opts.OnRemoval != "delete" {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `UPDATE users SET state = 'deleted', updated_at = ? WHERE state = 'disabled' AND disabled_at <= ?
		RETURNING disabled_at < ?`, opts.Now.UnixMilli(), expiry(opts), opts.runStart())
	if err != nil {
		return err
	}
	defer rows.Close()
	plan.Deleted = 0
	for rows.Next() {
		var earlier bool
		if err := rows.Scan(&earlier); err != nil {
			return err
		}
		if earlier {
			plan.Deleted++
		}
	}
	return rows.Err()
}

// expiry is the disabled_at at or before which a disabled user is deleted.
func expiry(opts ReconcileOptions) int64 {
	return opts.Now.Add(-time.Duration(opts.DeleteAfterDays) * 24 * time.Hour).UnixMilli()
}

func (o ReconcileOptions) runStart() int64 {
	if o.RunStart.IsZero() {
		return o.Now.UnixMilli()
	}
	return o.RunStart.UnixMilli()
}

// listChanges lists the first limit users of each action, by ID; q selects
// id, upn and display name for an action and a limit. An action the plan
// counts none of is not looked for: finding that none of 100k rows match
// would read them all.
func listChanges(ctx context.Context, tx *sql.Tx, plan *SyncPlan, limit int, q string) error {
	counts := map[string]int{"create": plan.Created, "update": plan.Updated, "disable": plan.Disabled}
	for _, action := range []string{"create", "update", "disable"} {
		if counts[action] == 0 {
			continue
		}
		rows, err := tx.QueryContext(ctx, q, action, limit+1)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			c := PlannedChange{Action: action}
			if err := rows.Scan(&c.ID, &c.UserPrincipalName, &c.DisplayName); err != nil {
				rows.Close()
				return err
			}
			if n++; n > limit {
				plan.Truncated = true
				break
			}
			plan.Changes = append(plan.Changes, c)
		}
		rows.Close()
	}
	return nil
}

func stageIn(ctx context.Context, tx *sql.Tx) (*Stage, error) {
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM stage WHERE id = 1`).Scan(&raw); err != nil {
		return nil, fmt.Errorf("apply the run: no staged run: %w", err)
	}
	var st Stage
	return &st, json.Unmarshal([]byte(raw), &st)
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// planRun fills work_del and work_add (membership changes) and work_plan
// (what happens to each user concerned), and counts them.
func planRun(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions) (*SyncPlan, error) {
	picked, dirty := jsonList(st.Groups), jsonList(st.Dirty)
	stmts := []stmt{
		{`DELETE FROM work_del`, nil},
		{`DELETE FROM work_add`, nil},
		{`DELETE FROM work_plan`, nil},
		// Groups no longer picked lose their members.
		{`INSERT OR IGNORE INTO work_del SELECT m.group_id, m.user_id FROM groups g CROSS JOIN memberships m ON m.group_id = g.id
			WHERE g.id NOT IN (SELECT value FROM json_each(?))`, []any{picked}},
		// Groups read in full this run: the difference.
		{`INSERT OR IGNORE INTO work_del SELECT m.group_id, m.user_id FROM memberships m
			WHERE m.group_id IN (SELECT value FROM json_each(?))
			AND NOT EXISTS (SELECT 1 FROM stage_members s WHERE s.group_id = m.group_id AND s.user_id = m.user_id)`, []any{dirty}},
		{`INSERT OR IGNORE INTO work_add SELECT s.group_id, s.user_id FROM stage_members s
			WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = s.group_id AND m.user_id = s.user_id)`, nil},
		// Member changes of the other groups, mapped to the picked groups
		// above them.
		{`INSERT OR IGNORE INTO work_add SELECT t.p, c.member_id FROM stage_changes c
			JOIN (SELECT value AS p, value AS g FROM json_each(?1) UNION ALL SELECT group_id, sub_id FROM subgroups) t ON t.g = c.group_id
			WHERE c.member_type = 'user' AND c.removed = 0 AND t.p IN (SELECT value FROM json_each(?1))
			AND t.p NOT IN (SELECT value FROM json_each(?2))
			AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = t.p AND m.user_id = c.member_id)`, []any{picked, dirty}},
		{`INSERT OR IGNORE INTO work_del SELECT t.p, c.member_id FROM stage_changes c
			JOIN (SELECT value AS p, value AS g FROM json_each(?1) UNION ALL SELECT group_id, sub_id FROM subgroups) t ON t.g = c.group_id
			WHERE c.member_type = 'user' AND c.removed = 1 AND t.p IN (SELECT value FROM json_each(?1))
			AND t.p NOT IN (SELECT value FROM json_each(?2))
			AND EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = t.p AND m.user_id = c.member_id)`, []any{picked, dirty}},
		// Users deleted in Entra are in no group.
		{`INSERT OR IGNORE INTO work_del SELECT m.group_id, m.user_id FROM stage_users s
			CROSS JOIN memberships m ON m.user_id = s.id WHERE s.removed != ''`, nil},
		{`DELETE FROM work_add WHERE user_id IN (SELECT id FROM stage_users WHERE removed != '')
			OR (user_id NOT IN (SELECT id FROM users) AND user_id NOT IN (SELECT id FROM stage_users))`, nil},
		{`INSERT INTO work_plan (id, action, state)
			WITH cand AS (SELECT id FROM stage_users UNION SELECT user_id FROM work_add UNION SELECT user_id FROM work_del),
			x AS (SELECT c.id, u.id AS uid, u.state AS ustate, s.id AS sid, coalesce(s.removed, '') AS removed,
				(EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = c.id
					AND NOT EXISTS (SELECT 1 FROM work_del w WHERE w.group_id = m.group_id AND w.user_id = m.user_id))
				 OR EXISTS (SELECT 1 FROM work_add a WHERE a.user_id = c.id)) AS member,
				CASE WHEN s.id IS NOT NULL AND s.removed = '' THEN s.account_enabled ELSE u.account_enabled END AS enabled,
				(s.id IS NOT NULL AND s.removed = '' AND u.id IS NOT NULL AND (s.upn != u.upn OR s.display_name != u.display_name
					OR s.given_name != u.given_name OR s.surname != u.surname OR s.mail != u.mail OR s.job_title != u.job_title
					OR s.department != u.department OR s.account_enabled != u.account_enabled)) AS differs
				FROM cand c LEFT JOIN users u ON u.id = c.id LEFT JOIN stage_users s ON s.id = c.id),
			y AS (SELECT *, CASE WHEN member AND enabled = 1 AND removed = '' THEN 'active' ELSE 'disabled' END AS want FROM x)
			SELECT id, CASE
				WHEN uid IS NULL AND (NOT member OR sid IS NULL OR removed != '') THEN 'none'
				WHEN uid IS NULL THEN 'create'
				WHEN ustate = 'active' AND want = 'disabled' THEN 'disable'
				WHEN ustate != 'active' AND want = 'active' THEN 'update'
				WHEN differs THEN 'update'
				ELSE 'unchanged' END, want FROM y`, nil},
	}
	if err := execAll(ctx, tx, stmts); err != nil {
		return nil, err
	}
	plan := &SyncPlan{}
	rows, err := tx.QueryContext(ctx, `SELECT action, count(*) FROM work_plan GROUP BY action`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a string
		var n int
		if err := rows.Scan(&a, &n); err != nil {
			rows.Close()
			return nil, err
		}
		switch a {
		case "create":
			plan.Created = n
		case "update":
			plan.Updated = n
		case "disable":
			plan.Disabled = n
		case "unchanged":
			plan.Unchanged = n
		}
	}
	rows.Close()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE state = 'active'`).Scan(&plan.ActiveBefore); err != nil {
		return nil, err
	}
	if err := countExpired(ctx, tx, opts, plan); err != nil {
		return nil, err
	}
	err = listChanges(ctx, tx, plan, opts.ListLimit, `SELECT p.id, coalesce(s.upn, u.upn, ''), coalesce(s.display_name, u.display_name, '')
		FROM work_plan p LEFT JOIN stage_users s ON s.id = p.id AND s.removed = '' LEFT JOIN users u ON u.id = p.id
		WHERE p.action = ? ORDER BY p.id LIMIT ?`)
	return plan, err
}

func applyRun(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions, plan *SyncPlan) error {
	now := opts.Now.UnixMilli()
	picked, dirty := jsonList(st.Groups), jsonList(st.Dirty)
	err := execAll(ctx, tx, []stmt{
		{`INSERT INTO users (id, upn, display_name, given_name, surname, mail, job_title, department, account_enabled, state, disabled_at, updated_at)
			SELECT s.id, s.upn, s.display_name, s.given_name, s.surname, s.mail, s.job_title, s.department, s.account_enabled,
			p.state, CASE p.state WHEN 'active' THEN NULL ELSE ?1 END, ?1
			FROM work_plan p JOIN stage_users s ON s.id = p.id WHERE p.action = 'create'`, []any{now}},
		{`UPDATE users SET upn = s.upn, display_name = s.display_name, given_name = s.given_name, surname = s.surname,
			mail = s.mail, job_title = s.job_title, department = s.department, account_enabled = s.account_enabled, updated_at = ?1
			FROM work_plan p JOIN stage_users s ON s.id = p.id
			WHERE users.id = p.id AND s.removed = '' AND p.action IN ('update', 'disable')`, []any{now}},
		{`UPDATE users SET state = p.state, disabled_at = CASE p.state WHEN 'active' THEN NULL ELSE ?1 END, updated_at = ?1
			FROM work_plan p WHERE users.id = p.id AND p.action IN ('update', 'disable') AND users.state != p.state`, []any{now}},
		{`DELETE FROM memberships WHERE (group_id, user_id) IN (SELECT group_id, user_id FROM work_del)`, nil},
		{`INSERT OR IGNORE INTO memberships SELECT group_id, user_id FROM work_add`, nil},
		{`DELETE FROM subgroups WHERE group_id IN (SELECT value FROM json_each(?1)) OR group_id NOT IN (SELECT value FROM json_each(?2))`, []any{dirty, picked}},
		{`INSERT OR IGNORE INTO subgroups SELECT group_id, sub_id FROM stage_subgroups`, nil},
		{`DELETE FROM work_del`, nil},
		{`DELETE FROM work_add`, nil},
		{`DELETE FROM work_plan`, nil},
	})
	if err != nil {
		return err
	}
	return finishApply(ctx, tx, st, opts, plan)
}

// RunRecord is one sync run, for `status` and the sync screen.
type RunRecord struct {
	ID        int64      `json:"id"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished,omitempty"`
	Kind      string     `json:"kind"` // full, incremental or dry-run
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Disabled  int        `json:"disabled"`
	Deleted   int        `json:"deleted"`
	Unchanged int        `json:"unchanged"`
	Error     string     `json:"error,omitempty"`
}

// StartRun records the start of a run and returns its ID.
func (d *DirDB) StartRun(ctx context.Context, kind string, started time.Time) (_ int64, err error) {
	defer d.check(&err)
	res, err := d.q.ExecContext(ctx, `INSERT INTO runs (started, kind) VALUES (?, ?)`, started.UnixMilli(), kind)
	if err != nil {
		return 0, fmt.Errorf("record the run: %w", err)
	}
	return res.LastInsertId()
}

// FinishRun records how a run ended.
func (d *DirDB) FinishRun(ctx context.Context, r RunRecord) (err error) {
	defer d.check(&err)
	fin := time.Now()
	if r.Finished != nil {
		fin = *r.Finished
	}
	_, err = d.q.ExecContext(ctx, `UPDATE runs SET finished = ?, kind = ?, created = ?, updated = ?, disabled = ?, deleted = ?,
		unchanged = ?, error = ? WHERE id = ?`, fin.UnixMilli(), r.Kind, r.Created, r.Updated, r.Disabled, r.Deleted,
		r.Unchanged, r.Error, r.ID)
	if err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	return nil
}

// Runs returns the last n runs, newest first.
func (d *DirDB) Runs(ctx context.Context, n int) (_ []RunRecord, err error) {
	defer d.check(&err)
	rows, err := d.q.QueryContext(ctx, `SELECT id, started, finished, kind, created, updated, disabled, deleted, unchanged, error
		FROM runs ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		var r RunRecord
		var started int64
		var fin sql.NullInt64
		if err := rows.Scan(&r.ID, &started, &fin, &r.Kind, &r.Created, &r.Updated, &r.Disabled, &r.Deleted, &r.Unchanged, &r.Error); err != nil {
			return nil, err
		}
		r.Started = time.UnixMilli(started)
		if fin.Valid {
			t := time.UnixMilli(fin.Int64)
			r.Finished = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
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
