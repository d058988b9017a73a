package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// TestDriverErrorsAreClassified provokes each driver error the store
// translates, on a real database, since the driver's error type cannot be
// built by hand.
func TestDriverErrorsAreClassified(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	ctx := t.Context()
	if _, err := db.Exec(`INSERT INTO conversations (id, kind, name, created_at) VALUES ('grp_a', 'group', 'a', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t_rowid (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		statement string
		want      error // nil: no domain sentinel
	}{
		{"unique violation", `INSERT INTO conversations (id, kind, name, created_at) VALUES ('grp_a', 'group', 'b', 0)`, domain.ErrConflict},
		{"foreign key violation", `INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES ('grp_none', 'u_a', 0)`, domain.ErrNotFound},
		{"check violation", `INSERT INTO conversations (id, kind, created_at) VALUES ('x_b', 'channel', 0)`, nil},
		{"string or blob too big", `SELECT zeroblob(2000000000)`, domain.ErrInvalid},
		{"datatype mismatch", `INSERT INTO t_rowid (id) VALUES ('not a number')`, domain.ErrInvalid},
		{"syntax error", `INSERT INTO`, nil},
	}
	for _, tt := range tests {
		_, err := db.ExecContext(ctx, tt.statement)
		if err == nil {
			t.Fatalf("%s: %s succeeded", tt.name, tt.statement)
		}
		if got := sqlite.Classify(err); got != tt.want {
			t.Errorf("%s: classify(%v) = %v; want %v", tt.name, err, got, tt.want)
		}
	}
}

// TestBusyAndClosedAreUnavailable holds the write lock on one connection:
// a writer that cannot wait for it fails busy, one whose deadline passes
// while it waits is interrupted; both, and a closed pool, are
// domain.ErrUnavailable.
func TestBusyAndClosedAreUnavailable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := sqlite.Open(t.Context(), path, sqlite.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlite.Migrate(t.Context(), db, nil); err != nil {
		t.Fatal(err)
	}
	convs, msgs := sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db)
	g, _, err := convs.CreateGroup(t.Context(), domain.Conversation{ID: "grp_e", Kind: domain.KindGroup, Name: "e", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := db.BeginTxx(t.Context(), nil) // IMMEDIATE: it holds the write lock
	if err != nil {
		t.Fatal(err)
	}

	impatient, err := db.Connx(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impatient.ExecContext(t.Context(), `PRAGMA busy_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	_, err = impatient.ExecContext(t.Context(), `UPDATE conversations SET last_seq = last_seq + 1`)
	if err := sqlstore.StoreError(t.Context(), sqlite.Dialect, "update", err); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("a write while another holds the lock = %v; want ErrUnavailable", err)
	}
	// Close hands the connection back to the pool: give it its patience
	// back first.
	if _, err := impatient.ExecContext(t.Context(), `PRAGMA busy_timeout = 5000`); err != nil {
		t.Fatal(err)
	}
	_ = impatient.Close()

	short, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, _, err = msgs.Append(short, domain.Message{ID: "msg_1", Channel: g.Channel(), SenderID: "u_a", Content: "hi"}, ports.AppendOptions{})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append(deadline while waiting for the lock) = %v; want ErrUnavailable and DeadlineExceeded", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if m, _, err := msgs.Append(t.Context(), domain.Message{ID: "msg_2", Channel: g.Channel(), SenderID: "u_a", Content: "hi"}, ports.AppendOptions{}); err != nil || m.Seq != 1 {
		t.Fatalf("Append after the failures = seq %d, %v; want seq 1", m.Seq, err)
	}

	_ = db.Close()
	if _, err := convs.Get(t.Context(), g.Channel()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Get on a closed pool = %v; want ErrUnavailable", err)
	}
	if err := sqlstore.NewHealthChecker(db).Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping on a closed pool = %v; want ErrUnavailable", err)
	}
}

func TestOpenRefusesWhatItCannotOpen(t *testing.T) {
	t.Parallel()
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "relay.db"), sqlite.PoolConfig{})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Open(in a missing directory) = %v; want ErrUnavailable", err)
	}
	for _, path := range []string{"", "relay.db?mode=ro", "relay#1.db"} {
		if _, err := sqlite.Open(t.Context(), path, sqlite.PoolConfig{}); err == nil || errors.Is(err, domain.ErrUnavailable) {
			t.Errorf("Open(%q) = %v; want a configuration error", path, err)
		}
	}
}
