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
	defer d.planned.forget()
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
		FROM users u WHERE u.id NOT IN (SELECT id FROM next_users)
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
// users read are not written a second time; their index, and the
// memberships read, are written once, in order.
func applyFull(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions, plan *SyncPlan) error {
	err := execAll(ctx, tx, []stmt{
		{`DROP TABLE users`, nil},
		{`CREATE UNIQUE INDEX users_id ON next_users(id)`, nil},
		{`ALTER TABLE next_users RENAME TO users`, nil},
		{`CREATE TABLE next_users` + nextUsersTable, nil},
		// The memberships read are the picked groups' memberships now.
		{`DROP INDEX memberships_user`, nil},
		{`DELETE FROM memberships`, nil},
		{`INSERT OR IGNORE INTO memberships (group_id, user_id) SELECT group_id, user_id FROM stage_members ORDER BY group_id, user_id`, nil},
		{`CREATE INDEX memberships_user ON memberships(user_id)`, nil},
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
