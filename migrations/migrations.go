// Package migrations holds Relay's database schemas as plain SQL files,
// embedded in the binary so that `relay migrate` and start-up need nothing
// but the executable: one folder per database, postgres/ (applied by
// adapters/postgres.Migrate) and sqlite/ (by adapters/sqlite.Migrate), each
// describing the same tables in its own dialect.
//
// Files are named NNNN_description.sql and applied in lexical order, each
// once; a file's version, recorded in schema_migrations, is its name
// without .sql. A file that has been released is never edited: a schema
// change is a new file in each folder.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migration files, *.sql at its root.
var Postgres = sub("postgres")

// SQLite holds the SQLite migration files, *.sql at its root.
var SQLite = sub("sqlite")

// sub is the folder dir of the embedded files. The folders are part of
// the binary, so failing here is a build mistake, caught by any test.
func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return f
}
