package sqlstoretest

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// benchWorkers is how many goroutines append at once in BenchAppend: the
// concurrency of a busy instance's POSTs, the same on both sides.
const benchWorkers = 16

// BenchAppend compares, in one benchmark run on one database, the full
// Append of a message (membership check under the conversation's lock,
// gap-free seq, commit key, idempotency key) with a bare INSERT of the
// same row, by benchWorkers goroutines at once: all into 1 hot
// conversation, and each into a conversation of its own (16). Each
// sub-benchmark reports msgs/s; the ratio of the two is what the README
// quotes.
func BenchAppend(b *testing.B, db *sqlx.DB, convs ports.ConversationRepository, msgs ports.MessageRepository) {
	for _, channels := range []int{1, 16} {
		groups := make([]domain.Conversation, channels)
		for i := range groups {
			g, _, err := convs.CreateGroup(b.Context(), domain.Conversation{
				ID: domain.ConversationID(fmt.Sprintf("grp_bench%d_%d", channels, i)), Kind: domain.KindGroup,
				Name: "bench", MemberIDs: []domain.UserID{"u_sender", "u_reader"}, CreatedAt: time.Now(),
			})
			if err != nil {
				b.Fatal(err)
			}
			groups[i] = g
		}
		var n, workers atomic.Int64 // n: ids, client ids and the bare rows' seqs
		next := func(worker int) (domain.Message, int64) {
			i := n.Add(1)
			g := groups[worker%channels]
			key := strconv.Itoa(channels) + "_" + strconv.FormatInt(i, 10) // unique across the sub-benchmarks
			return domain.Message{
				ID: "msg_b" + key, Channel: g.Channel(), SenderID: "u_sender",
				Content: "hello from the benchmark", ClientMessageID: "c" + key,
				CreatedAt: time.Now(),
			}, i
		}
		run := func(b *testing.B, one func(m domain.Message, i int64) error) {
			b.SetParallelism((benchWorkers + 1) / 2) // × GOMAXPROCS (2 here)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				worker := int(workers.Add(1)) // posts to a channel of its own, or the one hot channel
				for pb.Next() {
					m, i := next(worker)
					if err := one(m, i); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		}
		b.Run(fmt.Sprintf("channels=%d/append", channels), func(b *testing.B) {
			run(b, func(m domain.Message, _ int64) error {
				_, _, err := msgs.Append(b.Context(), m, ports.AppendOptions{})
				return err
			})
		})
		insert := db.Rebind(`INSERT INTO messages (id, conversation_id, seq, x, sender_id, content, client_message_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		b.Run(fmt.Sprintf("channels=%d/bare-insert", channels), func(b *testing.B) {
			run(b, func(m domain.Message, i int64) error {
				// Seqs and keys far above the appended ones: the same rows,
				// without the counter, the lock or the check.
				_, err := db.ExecContext(b.Context(), insert, m.ID+"i", m.Channel.ID, 1<<40+i, 1<<40+i,
					m.SenderID, m.Content, m.ClientMessageID+"i", m.CreatedAt.UTC())
				return err
			})
		})
	}
}
