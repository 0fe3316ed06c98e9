package sqlite

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
	rows, err := db.reader.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT number FROM incidents `+byChannel, "C1")
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
