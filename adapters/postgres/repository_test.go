package postgres_test

import (
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/repotest"
)

// TestRepositoryContract runs the ports' contract suite, each subtest on a
// fresh database.
func TestRepositoryContract(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	repotest.Run(t, func(t *testing.T) (ports.ConversationRepository, ports.MessageRepository) {
		db, _ := pgtest.NewDatabase(t)
		return postgres.NewConversationRepository(db), postgres.NewMessageRepository(db)
	})
}

// TestAppendStoresUTCMicroseconds checks the time handling the contract
// leaves to the adapter: whatever zone and precision the caller used, the
// stored time is UTC, truncated to the microsecond, and Append returns
// exactly what later reads return.
func TestAppendStoresUTCMicroseconds(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	convs, msgs := postgres.NewConversationRepository(db), postgres.NewMessageRepository(db)
	ctx := t.Context()

	g, _, err := convs.CreateGroup(ctx, domain.Conversation{ID: "grp_t", Kind: domain.KindGroup, Name: "t", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if g.CreatedAt.IsZero() || g.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreateGroup with a zero time stored %v; want now, in UTC", g.CreatedAt)
	}

	sent := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	stored, _, err := msgs.Append(ctx, domain.Message{ID: "msg_t", Channel: g.Channel(), SenderID: "u_a", Content: "hi", CreatedAt: sent}, ports.AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	want := time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC)
	if stored.CreatedAt != want {
		t.Fatalf("Append returned CreatedAt %v; want %v", stored.CreatedAt, want)
	}
	page, err := msgs.List(ctx, domain.HistoryQuery{Channel: g.Channel(), Limit: domain.DefaultPageSize})
	if err != nil || len(page) != 1 {
		t.Fatalf("List = %v, %v; want one message", page, err)
	}
	if !page[0].CreatedAt.Equal(want) || page[0].CreatedAt.Location() != time.UTC {
		t.Fatalf("List returned CreatedAt %v; want %v", page[0].CreatedAt, want)
	}
}
