// Package migrations holds warroom's numbered SQL migrations, embedded in the
// binary. Each file runs once, in its own transaction, in name order. A change
// to the schema is a new file; an applied file is never edited.
package migrations

import "embed"

// FS holds the migration files (NNNN_name.sql).
//
//go:embed *.sql
var FS embed.FS
