package store

import (
	"context"
	"strings"
)

// ExecForTest runs a raw statement on the writer, to prove the schema's own guards.
func (db *DB) ExecForTest(ctx context.Context, q string) error {
	_, err := db.writer.ExecContext(ctx, q)
	return err
}

// ByChannelPlan is SQLite's query plan for finding a war room's incident.
func (db *DB) ByChannelPlan(ctx context.Context) (string, error) {
	return db.plan(ctx, `SELECT number FROM incidents `+byChannel, "C1")
}

// HotPlans are SQLite's query plans for the reads every command or outbox
// round makes, by name.
func (db *DB) HotPlans(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"due effects": {dueEffects, []any{"2026", 10}},
		"next due":    {nextDue, nil},
		"followers":   {followers, []any{"slack/INC-1", 1, 10}},
		"roles":       {rolesOf, []any{"[1,2]"}},
		"one's roles": {roleOf, []any{1}},
		"status page": {publishedIncidents, []any{"2026", 200}},
	} {
		p, err := db.plan(ctx, q.sql, q.args...)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	return out, nil
}

func (db *DB) plan(ctx context.Context, q string, args ...any) (string, error) {
	rows, err := db.reader.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; "), rows.Err()
}

// SyncMode is the writer's synchronous pragma: 1 NORMAL, 2 FULL.
func (db *DB) SyncMode(ctx context.Context) (int, error) {
	var mode int
	err := db.writer.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode)
	return mode, err
}

// WaitKeys waits for replay keys recorded in the background (SQLite).
func (db *DB) WaitKeys() { db.keys.wait() }
