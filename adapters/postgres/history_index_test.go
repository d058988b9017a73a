package postgres_test

import (
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
)

// TestHistoryUsesTheSeqIndex checks that every form of history query is a
// range scan of the (conversation_id, seq) index with no sort, and
// PrefixAt's a backward step of the (conversation_id, x) index, on a table
// big enough for the planner to care.
func TestHistoryUsesTheSeqIndex(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	ctx := t.Context()
	seed := []string{
		`INSERT INTO conversations (id, kind, name, created_at, last_seq)
		 SELECT 'grp_' || c, 'group', 'g', now(), 500 FROM generate_series(1, 40) AS c`,
		`INSERT INTO messages (id, conversation_id, seq, x, sender_id, content, created_at)
		 SELECT 'msg_' || c || '_' || s, 'grp_' || c, s, 1000 * s + c, 'u_a', 'hello', now()
		 FROM generate_series(1, 40) AS c, generate_series(1, 500) AS s`,
		`ANALYZE conversations`,
		`ANALYZE messages`,
	}
	for _, q := range seed {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	ch := domain.GroupChannel("grp_7")
	for _, q := range []domain.HistoryQuery{
		{Channel: ch, Limit: 50},
		{Channel: ch, Anchor: domain.PageAfter, Seq: 100, Limit: 50},
		{Channel: ch, Anchor: domain.PageBefore, Seq: 300, Limit: 50},
	} {
		query, args, _ := sqlstore.HistoryQuery(q)
		var plan []string
		if err := db.SelectContext(ctx, &plan, "EXPLAIN "+db.Rebind(query), args...); err != nil {
			t.Fatalf("explain: %v", err)
		}
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "messages_conversation_id_seq_key") || strings.Contains(text, "Sort") {
			t.Errorf("history query %+v is not an index range scan without sort:\n%s", q, text)
		}
	}

	// PrefixAt: one backward step of the (conversation_id, x) index per
	// conversation, read from the index alone, never a sort.
	query, args := sqlstore.PrefixQuery(postgres.Dialect, []string{"grp_3", "grp_7", "grp_9"}, 250_000)
	var plan []string
	if err := db.SelectContext(ctx, &plan, "EXPLAIN "+db.Rebind(query), args...); err != nil {
		t.Fatalf("explain: %v", err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "Index Only Scan Backward using messages_conversation_x_idx") || strings.Contains(text, "Sort") {
		t.Errorf("prefix query is not a backward index-only step per conversation:\n%s", text)
	}
}
