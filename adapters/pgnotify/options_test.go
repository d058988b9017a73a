package pgnotify_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/pgnotify"
)

// TestListenerDSN checks the listener's connection settings in both DSN
// forms: its name always, the connect timeout unless the DSN has one.
func TestListenerDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn         string
		wantTimeout time.Duration
	}{
		{"postgres://relay:secret@db:5432/relay?sslmode=disable", 3 * time.Second},
		{"postgresql://db/relay?application_name=relay&connect_timeout=7", 7 * time.Second},
		{"host=db dbname=relay sslmode=disable", 3 * time.Second},
		{"host=db dbname=relay connect_timeout=7 application_name=relay", 7 * time.Second},
	}
	for _, tt := range tests {
		got, err := pgnotify.ListenerDSN(tt.dsn, "relay 'listener'", 3*time.Second)
		if err != nil {
			t.Fatalf("ListenerDSN(%q): %v", tt.dsn, err)
		}
		cfg, err := pq.NewConfig(got)
		if err != nil {
			t.Fatalf("ListenerDSN(%q) = %q, which pq refuses: %v", tt.dsn, got, err)
		}
		if cfg.ApplicationName != "relay 'listener'" || cfg.ConnectTimeout != tt.wantTimeout || cfg.Database != "relay" {
			t.Errorf("ListenerDSN(%q) = %q: application_name %q, connect_timeout %v, dbname %q", tt.dsn, got,
				cfg.ApplicationName, cfg.ConnectTimeout, cfg.Database)
		}
	}
}

// TestListenerDSNMalformed checks that a bad DSN is refused without being
// repeated, password included, in the error.
func TestListenerDSNMalformed(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"postgres://relay:s3cret@db:port/relay", "host=db password=s3cret sslmode=bogus"} {
		_, err := pgnotify.ListenerDSN(dsn, "relay", time.Second)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ListenerDSN(%q) = %v, want an error that does not show the password", dsn, err)
		}
	}
}

// TestNewTransportRefuses checks configurations that could never work.
func TestNewTransportRefuses(t *testing.T) {
	t.Parallel()
	db := sqlx.NewDb(sql.OpenDB(nopConnector{}), "postgres") // never used
	t.Cleanup(func() { _ = db.Close() })
	const dsn = "postgres://postgres@127.0.0.1:5432/relay?sslmode=disable"
	tests := []struct {
		name string
		db   *sqlx.DB
		opts pgnotify.Options
	}{
		{"no pool", nil, pgnotify.Options{DSN: dsn}},
		{"no DSN", db, pgnotify.Options{}},
		{"channel name too long", db, pgnotify.Options{DSN: dsn, Channel: strings.Repeat("c", 64)}},
		{"malformed DSN", db, pgnotify.Options{DSN: "postgres://h:port/relay"}},
	}
	for _, tt := range tests {
		if tr, err := pgnotify.NewTransport(tt.db, tt.opts); err == nil {
			_ = tr.Close()
			t.Errorf("%s: NewTransport succeeded", tt.name)
		}
	}
	if _, err := pgnotify.NewTransport(db, pgnotify.Options{DSN: dsn, Channel: strings.Repeat("c", 63)}); err != nil {
		t.Errorf("63-byte channel name: %v", err)
	}
}

// nopConnector is a driver.Connector for a pool that is never used.
type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nil, driver.ErrBadConn }
func (nopConnector) Driver() driver.Driver                        { return nil }
