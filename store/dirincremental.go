package store

import (
	"context"
	"database/sql"
)

// planRun fills work_del and work_add (membership changes) and work_plan
// (what happens to each user concerned), and counts them.
func planRun(ctx context.Context, tx *sql.Tx, st *Stage, opts ReconcileOptions) (*SyncPlan, error) {
	picked, dirty := jsonList(st.Groups), jsonList(st.Dirty)
	stmts := []stmt{
		{`DELETE FROM work_del`, nil},
		{`DELETE FROM work_add`, nil},
		{`DELETE FROM work_plan`, nil},
		// Groups read in full are compared pair by pair: their pages are
		// indexed now, once (see stageMembersTable).
		{`CREATE INDEX IF NOT EXISTS stage_members_pair ON stage_members(group_id, user_id)`, nil},
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
