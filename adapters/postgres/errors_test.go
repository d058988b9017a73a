package postgres_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

var sentinels = []error{domain.ErrNotFound, domain.ErrConflict, domain.ErrUnavailable, domain.ErrInvalid}

func TestStoreErrorTranslation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error // nil: no domain sentinel
	}{
		{"no rows", sql.ErrNoRows, domain.ErrNotFound},
		{"unique violation", &pq.Error{Code: "23505"}, domain.ErrConflict},
		{"foreign key violation", &pq.Error{Code: "23503"}, domain.ErrNotFound},
		{"connection failure", &pq.Error{Code: "08006"}, domain.ErrUnavailable},
		{"admin shutdown", &pq.Error{Code: "57P01"}, domain.ErrUnavailable},
		{"too many connections", &pq.Error{Code: "53300"}, domain.ErrUnavailable},
		{"database does not exist", &pq.Error{Code: "3D000"}, domain.ErrUnavailable},
		{"authentication failed", &pq.Error{Code: "28P01"}, domain.ErrUnavailable},
		{"serialization failure", &pq.Error{Code: "40001"}, domain.ErrUnavailable},
		{"deadlock", &pq.Error{Code: "40P01"}, domain.ErrUnavailable},
		{"bad connection", driver.ErrBadConn, domain.ErrUnavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, domain.ErrUnavailable},
		{"connection cut", io.ErrUnexpectedEOF, domain.ErrUnavailable},
		{"pool closed", errors.New("sql: database is closed"), domain.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, domain.ErrUnavailable},
		{"NUL in text (invalid byte sequence)", &pq.Error{Code: "22021"}, domain.ErrInvalid},
		{"value too long", &pq.Error{Code: "22001"}, domain.ErrInvalid},
		{"numeric out of range", &pq.Error{Code: "22003"}, domain.ErrInvalid},
		{"untranslatable character", &pq.Error{Code: "22P05"}, domain.ErrInvalid},
		{"data exception, class only", &pq.Error{Code: "22000"}, domain.ErrInvalid},
		{"integrity violation other than unique and foreign key", &pq.Error{Code: "23514"}, nil},
		{"syntax error", &pq.Error{Code: "42601"}, nil},
		{"anything else", errors.New("boom"), nil},
	}
	for _, tt := range tests {
		got := postgres.StoreError(context.Background(), "do thing", tt.err)
		if !errors.Is(got, tt.err) || !strings.HasPrefix(got.Error(), "do thing: ") {
			t.Errorf("%s: %v lost the driver error or the context", tt.name, got)
		}
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == tt.want) {
				t.Errorf("%s: errors.Is(%v, %v) = %v", tt.name, got, s, !(s == tt.want))
			}
		}
	}
}

// TestStoreErrorNamesTheContext checks that a statement pq canceled because
// the context ended is reported as the context's error, not only as the
// server's "canceling statement due to user request".
func TestStoreErrorNamesTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := postgres.StoreError(ctx, "list messages", &pq.Error{Code: "57014"})
	if !errors.Is(got, context.Canceled) || !errors.Is(got, domain.ErrUnavailable) {
		t.Fatalf("StoreError = %v; want context.Canceled and ErrUnavailable", got)
	}
}

func TestOpenUnreachableServerIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", postgres.PoolConfig{})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Open(unreachable) = %v; want ErrUnavailable", err)
	}
}

func TestOpenMalformedDSNHidesThePassword(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://relay:s3cret pw@db/relay", postgres.PoolConfig{})
	if err == nil || errors.Is(err, domain.ErrUnavailable) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open(malformed) = %v; want a configuration error that does not quote the password", err)
	}
}

// TestUnavailableFromALiveDatabase drives the real failure modes: a context
// canceled before a call, a deadline passing while Append waits for the
// conversation's row lock, and a closed pool.
func TestUnavailableFromALiveDatabase(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	convs, msgs := postgres.NewConversationRepository(db), postgres.NewMessageRepository(db)
	g, _, err := convs.CreateGroup(t.Context(), domain.Conversation{ID: "grp_e", Kind: domain.KindGroup, Name: "e", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	msg := func(id string) domain.Message {
		return domain.Message{ID: id, Channel: g.Channel(), SenderID: "u_a", Content: "hi"}
	}

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err = msgs.Append(canceled, msg("msg_1"), ports.AppendOptions{})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(canceled ctx) = %v; want ErrUnavailable and context.Canceled", err)
	}

	// Another transaction holds the row lock; Append queues behind it
	// until its deadline passes, then rolls back without using a seq.
	lock, err := db.BeginTxx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := lock.ExecContext(t.Context(), `SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`, g.ID); err != nil {
		t.Fatalf("lock row: %v", err)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancelShort()
	_, _, err = msgs.Append(short, msg("msg_2"), ports.AppendOptions{})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append(deadline while blocked) = %v; want ErrUnavailable and DeadlineExceeded", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if m, _, err := msgs.Append(t.Context(), msg("msg_3"), ports.AppendOptions{}); err != nil || m.Seq != 1 {
		t.Fatalf("Append after the failures = seq %d, %v; want seq 1", m.Seq, err)
	}

	closed, err := postgres.Open(t.Context(), dsn, postgres.PoolConfig{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_ = closed.Close()
	_, err = postgres.NewConversationRepository(closed).Get(t.Context(), g.Channel())
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Get on a closed pool = %v; want ErrUnavailable", err)
	}
	if err := postgres.NewHealthChecker(closed).Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping on a closed pool = %v; want ErrUnavailable", err)
	}
	if err := postgres.NewHealthChecker(db).Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
