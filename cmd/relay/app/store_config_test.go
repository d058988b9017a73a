package app_test

import (
	"errors"
	"testing"

	"github.com/relaymsg/relay/cmd/relay/app"
)

func TestLoadConfigStore(t *testing.T) {
	t.Parallel()
	const pg = "postgres://postgres@127.0.0.1:5432/relay?sslmode=disable"
	tests := []struct {
		databaseURL string
		sqlitePath  string // "" for PostgreSQL
	}{
		{"", "relay.db"},
		{"sqlite:data/relay.db", "data/relay.db"},
		{"sqlite:///var/lib/relay/relay.db", "/var/lib/relay/relay.db"},
		{"sqlite://relay-dev.db", "relay-dev.db"},
		{"file:/tmp/relay.db", "/tmp/relay.db"},
		{pg, ""},
		{"postgresql://relay@db.internal/relay", ""},
	}
	for _, tt := range tests {
		vars := validEnv()
		vars["DATABASE_URL"] = tt.databaseURL
		cfg, err := app.LoadConfig(env(vars))
		if err != nil {
			t.Errorf("DATABASE_URL=%q: %v", tt.databaseURL, err)
			continue
		}
		wantDSN := ""
		if tt.sqlitePath == "" {
			wantDSN = tt.databaseURL
		}
		if cfg.SQLitePath != tt.sqlitePath || cfg.DatabaseURL != wantDSN || cfg.UsesSQLite() != (tt.sqlitePath != "") {
			t.Errorf("DATABASE_URL=%q: SQLitePath %q, DatabaseURL %q; want %q, %q", tt.databaseURL, cfg.SQLitePath, cfg.DatabaseURL, tt.sqlitePath, wantDSN)
		}
	}
	for _, bad := range []string{"mysql://localhost/relay", "sqlite:", "file:relay.db?mode=ro", "postgres:///relay"} {
		vars := validEnv()
		vars["DATABASE_URL"] = bad
		_, err := app.LoadConfig(env(vars))
		var cerr *app.ConfigError
		if !errors.As(err, &cerr) || cerr.Variable != "DATABASE_URL" {
			t.Errorf("DATABASE_URL=%q: error %v; want one naming DATABASE_URL", bad, err)
		}
	}
}
