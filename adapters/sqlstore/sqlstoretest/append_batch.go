package sqlstoretest

import (
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// CheckAppendBatch stores batches that mix every outcome and checks each
// request's: members' messages get the next seqs in request order and
// keys that grow with them; a non-member, a client message id used
// before, and one used earlier in the same batch are refused without a
// seq; a batch of refusals leaves the channel as it was; and a missing
// conversation refuses the whole batch.
func CheckAppendBatch(t *testing.T, convs ports.ConversationRepository, msgs *sqlstore.MessageRepository) {
	t.Helper()
	ctx := t.Context()
	g, _, err := convs.CreateGroup(ctx, domain.Conversation{ID: "grp_batch", Kind: domain.KindGroup, Name: "batch",
		MemberIDs: []domain.UserID{"u_a", "u_b"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id string, sender domain.UserID, clientID string) sqlstore.AppendRequest {
		return sqlstore.AppendRequest{CheckMember: true, Message: domain.Message{ID: id, Channel: g.Channel(), SenderID: sender,
			Content: "hi " + id, ClientMessageID: clientID, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}}
	}
	first, err := msgs.AppendBatch(ctx, []sqlstore.AppendRequest{msg("msg_b1", "u_a", "c1")})
	if err != nil || len(first) != 1 || first[0].Status != sqlstore.AppendStored || first[0].Seq != 1 {
		t.Fatalf("a batch of one = %+v, %v; want stored at seq 1", first, err)
	}
	out, err := msgs.AppendBatch(ctx, []sqlstore.AppendRequest{
		msg("msg_b2", "u_b", ""),
		msg("msg_b3", "u_carol", ""), // not a member
		msg("msg_b4", "u_a", "c1"),   // used by msg_b1
		msg("msg_b5", "u_a", "c2"),
		msg("msg_b6", "u_a", "c2"), // used just before, in this batch
		msg("msg_b7", "u_b", "c2"), // another sender's key
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status sqlstore.AppendStatus
		seq    int64
	}{{sqlstore.AppendStored, 2}, {sqlstore.AppendNotMember, 0}, {sqlstore.AppendDuplicate, 0},
		{sqlstore.AppendStored, 3}, {sqlstore.AppendDuplicate, 0}, {sqlstore.AppendStored, 4}}
	if len(out) != len(want) {
		t.Fatalf("%d outcomes for %d requests: %+v", len(out), len(want), out)
	}
	lastKey := first[0].Key
	for i, w := range want {
		if out[i].Status != w.status || out[i].Seq != w.seq {
			t.Fatalf("request %d: %+v, want status %d at seq %d (all: %+v)", i, out[i], w.status, w.seq, out)
		}
		if w.status == sqlstore.AppendStored {
			if out[i].Key <= lastKey {
				t.Fatalf("request %d: key %d not above the previous %d", i, out[i].Key, lastKey)
			}
			lastKey = out[i].Key
		}
	}
	refused, err := msgs.AppendBatch(ctx, []sqlstore.AppendRequest{msg("msg_b8", "u_carol", ""), msg("msg_b9", "u_a", "c1")})
	if err != nil || refused[0].Status != sqlstore.AppendNotMember || refused[1].Status != sqlstore.AppendDuplicate {
		t.Fatalf("a batch of refusals = %+v, %v", refused, err)
	}
	next, err := msgs.AppendBatch(ctx, []sqlstore.AppendRequest{msg("msg_b10", "u_b", "")})
	if err != nil || next[0].Seq != 5 || next[0].Key <= lastKey {
		t.Fatalf("after a batch of refusals = %+v, %v; want seq 5 with a key above %d", next, err, lastKey)
	}
	missing := msg("msg_b11", "u_a", "")
	missing.Message.Channel = domain.GroupChannel("grp_nowhere")
	gone, err := msgs.AppendBatch(ctx, []sqlstore.AppendRequest{missing, missing})
	if err != nil || gone[0].Status != sqlstore.AppendNoConversation || gone[1].Status != sqlstore.AppendNoConversation {
		t.Fatalf("a batch to a missing conversation = %+v, %v", gone, err)
	}
}
