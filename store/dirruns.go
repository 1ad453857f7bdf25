package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

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
