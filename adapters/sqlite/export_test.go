package sqlite

// Internals the external tests (package sqlite_test) reach through this
// file, which only the test binary compiles.
var (
	MigrateFS = migrate
	Classify  = classify
)
