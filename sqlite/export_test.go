package sqlite

import "context"

// ExecForTest runs a raw statement on the writer, to prove the schema's own guards.
func (db *DB) ExecForTest(ctx context.Context, q string) error {
	_, err := db.writer.ExecContext(ctx, q)
	return err
}
