package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
)

// Over a link that drops everything once connected (the server's port
// accepts, nothing answers), a new connection of the pool fails within
// the connect timeout, or the DSN's connect_timeout when it sets one,
// instead of waiting in lib/pq's startup handshake for as long as the
// stall lasts.
func TestPoolConnectOverStalledLink(t *testing.T) {
	t.Parallel()
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	tests := []struct {
		name     string
		query    string // added to the DSN
		min, max time.Duration
	}{
		{name: "connect timeout", min: 400 * time.Millisecond, max: 3 * time.Second},
		{name: "connect_timeout in the DSN", query: "connect_timeout=2", min: 1800 * time.Millisecond, max: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy := clustertest.StartProxy(t, hostOf(t, dsn))
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			u.Host = proxy.Addr()
			if tt.query != "" {
				u.RawQuery += "&" + tt.query
			}
			db, err := postgres.NewPool(u.String(), postgres.PoolConfig{Dial: postgres.DialConfig{ConnectTimeout: 500 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			proxy.Stall()
			defer proxy.Restore()
			// A deadline far beyond the connect timeout: lib/pq does not
			// watch it during the handshake, so it would not end the wait.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			err = postgres.Ping(ctx, db, postgres.PoolConfig{})
			elapsed := time.Since(start)
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("Ping over a stalled link = %v, want domain.ErrUnavailable", err)
			}
			if elapsed < tt.min || elapsed > tt.max {
				t.Fatalf("Ping failed after %s, want between %s and %s", elapsed, tt.min, tt.max)
			}
		})
	}
}

func hostOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
