// Package migrations holds warroom's numbered SQL migrations, embedded in the
// binary, one directory per database: sqlite/ and postgres/. Each file runs
// once, in its own transaction, in name order. A change to the schema is a
// new file in both directories, under the same name; an applied file is
// never edited.
//
// postgres/ starts at 0013_schema.sql, the whole schema as sqlite/ stood
// at its 0013: PostgreSQL support came then, so there is nothing older to
// upgrade from.
package migrations

import "embed"

// FS holds the migration files: sqlite/NNNN_name.sql and postgres/NNNN_name.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
