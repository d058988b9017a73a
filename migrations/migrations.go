// Package migrations holds Relay's PostgreSQL schema as plain SQL files,
// embedded in the binary so that `relay migrate` and start-up need nothing
// but the executable.
//
// Files are named NNNN_description.sql and applied in lexical order, each
// once, by adapters/postgres.Migrate. A file that has been released is never
// edited: a schema change is a new file.
package migrations

import "embed"

// FS holds the migration files, *.sql at its root.
//
//go:embed *.sql
var FS embed.FS
