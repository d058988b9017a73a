package postgres

// Internals the external tests (package postgres_test) reach through this
// file, which only the test binary compiles.
var (
	MigrateFS  = migrate
	StoreError = storeError
	NewPoolVia = newPool
)
