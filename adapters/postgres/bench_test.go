package postgres_test

import (
	"fmt"
	"testing"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
	"github.com/relaymsg/relay/domain"
)

// BenchmarkChannelStatesHeads measures the cluster notifier's head check:
// one ChannelStates of 1,000 watched channels (its batch), among 20,000
// conversations.
func BenchmarkChannelStatesHeads(b *testing.B) {
	pgtest.SkipIfShort(b)
	db, _ := pgtest.NewDatabase(b)
	if _, err := db.Exec(`INSERT INTO conversations (id, kind, name, last_seq, created_at)
		SELECT 'grp_b' || i, 'group', 'g', i, now() FROM generate_series(1, 20000) AS i`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE conversations`); err != nil {
		b.Fatal(err)
	}
	convs := postgres.NewConversationRepository(db)
	channels := make([]domain.ChannelID, 1000)
	for i := range channels {
		channels[i] = domain.GroupChannel(domain.ConversationID(fmt.Sprintf("grp_b%d", 1+i*20)))
	}
	b.ResetTimer()
	for b.Loop() {
		states, err := convs.ChannelStates(b.Context(), channels, "")
		if err != nil || len(states) != len(channels) {
			b.Fatalf("ChannelStates = %d states, %v", len(states), err)
		}
	}
}

// BenchmarkAppend: Append next to a bare INSERT of the same rows
// (sqlstoretest.BenchAppend).
func BenchmarkAppend(b *testing.B) {
	pgtest.SkipIfShort(b)
	db, _ := pgtest.NewDatabase(b)
	sqlstoretest.BenchAppend(b, db, postgres.NewConversationRepository(db), postgres.NewMessageRepository(db))
}
