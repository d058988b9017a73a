package sqlstoretest

import (
	"context"
	"io/fs"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// MigrateFunc applies the migration files of fsys to db.
type MigrateFunc func(ctx context.Context, db *sqlx.DB, fsys fs.FS) error

// CheckCommitKeyBackfill checks migration 0005 on a database db that has
// no schema yet: it applies the files before 0005, stores messages the old
// way (without a commit key), applies the rest, and checks that the old
// messages got keys that grow with seq and lie below every watermark,
// and that new appends (through msgs, on db) continue above them.
func CheckCommitKeyBackfill(t *testing.T, db *sqlx.DB, all fs.FS, migrate MigrateFunc, msgs ports.MessageRepository) {
	t.Helper()
	ctx := t.Context()
	before := fstest.MapFS{}
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name < "0005" {
			body, err := fs.ReadFile(all, name)
			if err != nil {
				t.Fatal(err)
			}
			before[name] = &fstest.MapFile{Data: body}
		}
	}
	if err := migrate(ctx, db, before); err != nil {
		t.Fatalf("migrate up to 0005: %v", err)
	}
	now := time.Now().UTC()
	old := map[string]int64{"grp_a": 3, "grp_b": 5, "grp_c": 0}
	for id, n := range old {
		exec(t, db, `INSERT INTO conversations (id, kind, name, created_at, last_seq) VALUES (?, 'group', 'g', ?, ?)`, id, now, n)
		exec(t, db, `INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES (?, 'u_a', ?)`, id, now)
		for seq := int64(1); seq <= n; seq++ {
			exec(t, db, `INSERT INTO messages (id, conversation_id, seq, sender_id, content, created_at)
				VALUES (?, ?, ?, 'u_a', 'old', ?)`, id+"_"+strconv.FormatInt(seq, 10), id, seq, now)
		}
	}
	if err := migrate(ctx, db, all); err != nil {
		t.Fatalf("migrate the rest: %v", err)
	}

	var rows []struct {
		Conv string `db:"conversation_id"`
		Seq  int64  `db:"seq"`
		X    int64  `db:"x"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT conversation_id, seq, x FROM messages ORDER BY conversation_id, seq`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if want := r.Seq - old[r.Conv] - 1; r.X != want {
			t.Fatalf("old message %s #%d has x = %d; want %d", r.Conv, r.Seq, r.X, want)
		}
	}

	channels := []domain.ChannelID{domain.GroupChannel("grp_a"), domain.GroupChannel("grp_b"), domain.GroupChannel("grp_c")}
	w, err := msgs.StableWatermark(ctx)
	if err != nil || w <= 0 {
		t.Fatalf("StableWatermark after the backfill = %d, %v; want above every old key", w, err)
	}
	for _, ch := range channels {
		m, head, err := msgs.Append(ctx, domain.Message{ID: "msg_new_" + string(ch.ID), Channel: ch, SenderID: "u_a", Content: "new", CreatedAt: now}, ports.AppendOptions{})
		if err != nil || m.Seq != old[string(ch.ID)]+1 || head.LastKey <= 0 {
			t.Fatalf("Append to %s after the backfill = seq %d, key %d, %v; want seq %d and a key above 0",
				ch, m.Seq, head.LastKey, err, old[string(ch.ID)]+1)
		}
	}
	// At the watermark taken before the new appends, every old message
	// and no new one is below it.
	got, err := msgs.PrefixAt(ctx, channels, w)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range channels {
		if got[ch] != old[string(ch.ID)] {
			t.Fatalf("PrefixAt(%d) = %v; want the old messages %v", w, got, old)
		}
	}
}

func exec(t *testing.T, db *sqlx.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), db.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
