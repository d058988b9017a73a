package sqlite_test

import (
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
)

// TestHistoryUsesTheSeqIndex checks that every form of history query
// searches the (conversation_id, seq) index and never sorts, and that
// PrefixAt's query searches the (conversation_id, x) index.
func TestHistoryUsesTheSeqIndex(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	ch := domain.GroupChannel("grp_7")
	for _, q := range []domain.HistoryQuery{
		{Channel: ch, Limit: 50},
		{Channel: ch, Anchor: domain.PageAfter, Seq: 100, Limit: 50},
		{Channel: ch, Anchor: domain.PageBefore, Seq: 300, Limit: 50},
	} {
		query, args, _ := sqlstore.HistoryQuery(q)
		var plan []struct {
			ID      int    `db:"id"`
			Parent  int    `db:"parent"`
			NotUsed int    `db:"notused"`
			Detail  string `db:"detail"`
		}
		if err := db.Select(&plan, "EXPLAIN QUERY PLAN "+db.Rebind(query), args...); err != nil {
			t.Fatalf("explain: %v", err)
		}
		var steps []string
		for _, p := range plan {
			steps = append(steps, p.Detail)
		}
		text := strings.Join(steps, "\n")
		if !strings.Contains(text, "SEARCH m USING INDEX sqlite_autoindex_messages_2 (conversation_id=? AND seq") &&
			!strings.Contains(text, "SEARCH m USING INDEX sqlite_autoindex_messages_2 (conversation_id=?)") ||
			strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("history query %+v is not an index search without sort:\n%s", q, text)
		}
	}

	// PrefixAt: one search of the (conversation_id, x) index per
	// conversation, never a sort.
	query, args := sqlstore.PrefixQuery(sqlite.Dialect, []string{"grp_3", "grp_7"}, 250)
	var plan []struct {
		ID      int    `db:"id"`
		Parent  int    `db:"parent"`
		NotUsed int    `db:"notused"`
		Detail  string `db:"detail"`
	}
	if err := db.Select(&plan, "EXPLAIN QUERY PLAN "+db.Rebind(query), args...); err != nil {
		t.Fatalf("explain: %v", err)
	}
	var steps []string
	for _, p := range plan {
		steps = append(steps, p.Detail)
	}
	text := strings.Join(steps, "\n")
	if !strings.Contains(text, "SEARCH m USING INDEX messages_conversation_x_idx (conversation_id=? AND x<?)") ||
		strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("prefix query is not an index search per conversation without sort:\n%s", text)
	}
}
