package sqlite_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/sqlite"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/repotest"
)

// TestRepositoryContract runs the ports' contract suite, each subtest on a
// fresh database file.
func TestRepositoryContract(t *testing.T) {
	t.Parallel()
	repotest.Run(t, func(t *testing.T) (ports.ConversationRepository, ports.MessageRepository) {
		db := newDatabase(t)
		return sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db)
	})
}

// TestAppendManyWriters pushes more concurrent writers than the pool has
// connections into one channel: every append waits for the write lock
// (none fails busy), and the seqs are 1..N exactly once.
func TestAppendManyWriters(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	convs, msgs := sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db)
	g, _, err := convs.CreateGroup(t.Context(), domain.Conversation{ID: "grp_w", Kind: domain.KindGroup, Name: "w", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []int64
		errs []error
	)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m, _, err := msgs.Append(t.Context(), domain.Message{
					ID: fmt.Sprintf("msg_%d_%d", w, i), Channel: g.Channel(), SenderID: "u_a", Content: "hi",
				}, ports.AppendOptions{})
				mu.Lock()
				got, errs = append(got, m.Seq), append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	slices.Sort(got)
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("sorted seqs[%d] = %d; want each of 1..%d exactly once", i, seq, writers*each)
		}
	}
	page, err := msgs.List(t.Context(), domain.HistoryAfter(g.Channel(), writers*each-3, domain.DefaultPageSize))
	if err != nil || len(page) != 3 || page[2].Seq != writers*each {
		t.Fatalf("List after %d = %d messages, %v; want the last 3", writers*each-3, len(page), err)
	}
}

// TestTimesAreIntegerMicroseconds checks the storage the schema promises:
// INTEGER microseconds since the epoch, read back as the same UTC time.
func TestTimesAreIntegerMicroseconds(t *testing.T) {
	t.Parallel()
	db := newDatabase(t)
	convs, msgs := sqlite.NewConversationRepository(db), sqlite.NewMessageRepository(db)
	g, _, err := convs.CreateGroup(t.Context(), domain.Conversation{ID: "grp_t", Kind: domain.KindGroup, Name: "t", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	stored, _, err := msgs.Append(t.Context(), domain.Message{ID: "msg_t", Channel: g.Channel(), SenderID: "u_a", Content: "hi", CreatedAt: sent}, ports.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC)
	var raw struct {
		Type  string `db:"t"`
		Micro int64  `db:"v"`
	}
	if err := db.Get(&raw, `SELECT typeof(created_at) AS t, CAST(created_at AS INTEGER) AS v FROM messages`); err != nil {
		t.Fatal(err)
	}
	if raw.Type != "integer" || raw.Micro != want.UnixMicro() {
		t.Fatalf("created_at is stored as %s %d; want integer %d", raw.Type, raw.Micro, want.UnixMicro())
	}
	page, err := msgs.List(t.Context(), domain.HistoryQuery{Channel: g.Channel(), Limit: domain.DefaultPageSize})
	if err != nil || len(page) != 1 {
		t.Fatalf("List = %v, %v; want one message", page, err)
	}
	for what, got := range map[string]time.Time{"Append": stored.CreatedAt, "List": page[0].CreatedAt} {
		if got != want {
			t.Errorf("%s returned CreatedAt %v; want %v in UTC", what, got, want)
		}
	}
}
