package application_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// asMember is the AppendOptions of a member's message.
var asMember = ports.AppendOptions{}

// sendHistory is what dmAB holds before each TestSendMessage case: 16
// messages of u_bob, after 2 member removals, so the next message is seq 17.
func sendHistory() []domain.Message {
	out := make([]domain.Message, 16)
	for i := range out {
		out[i] = domain.Message{ID: fmt.Sprintf("msg_old_%d", i+1), Channel: dmAB, Seq: int64(i + 1),
			SenderID: "u_bob", Content: "earlier", CreatedAt: fixedNow.Add(-time.Hour)}
	}
	return out
}

func TestSendMessage(t *testing.T) {
	t.Parallel()
	cmd := application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: "  hi  ", PersonaID: "p_42"}
	retry := cmd
	retry.ClientMessageID = "c-1"
	// stored is what the store must hold: trimmed, with id, time and the
	// channel's next seq.
	stored := domain.Message{ID: "msg_1", Channel: dmAB, Seq: 17, SenderID: "u_alice", PersonaID: "p_42",
		Content: "hi", CreatedAt: fixedNow}
	storedRetry := stored
	storedRetry.ClientMessageID = "c-1"
	// earlier is the message an earlier request with retry's key stored.
	earlier := storedRetry
	earlier.ID, earlier.Seq, earlier.CreatedAt = "msg_0", 9, fixedNow.Add(-1)
	withEarlier := func(change func(m *domain.Message)) func(*memStore, *memNotifier) {
		return func(s *memStore, _ *memNotifier) {
			m := earlier
			change(&m)
			s.put(m)
		}
	}
	same := func(*domain.Message) {}
	// concurrently makes a concurrent request store m just before the
	// use case's append.
	concurrently := func(m domain.Message) func(*memStore, *memNotifier) {
		return func(s *memStore, _ *memNotifier) {
			s.beforeAppend = func(s *memStore) { s.beforeAppend = nil; s.put(m) }
		}
	}
	otherContent := earlier
	otherContent.Content = "something else"
	fromService := domain.Message{ID: "msg_1", Channel: dmAB, Seq: 17, SenderID: "svc_bot", Content: "hi", CreatedAt: fixedNow}

	// event is the event of m's commit after the history's 2 removals.
	event := func(m domain.Message) *domain.Event {
		ev := domain.CommittedMessageEvent(m, 2)
		return &ev
	}

	tests := []struct {
		name  string
		cmd   application.SendMessageCommand
		setup func(s *memStore, n *memNotifier)
		want  application.SendMessageResult
		// wantErr is the error Execute returns; then nothing is published.
		wantErr error
		// wantAdded is what the store holds after the history: the
		// message sent, or one stored by an earlier or concurrent request.
		wantAdded []domain.Message
		// wantEvent is the event published, nil for none.
		wantEvent   *domain.Event
		wantWarning bool
	}{
		{name: "empty content", cmd: application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: " \n "},
			wantErr: domain.ErrInvalid},
		{name: "content too long", cmd: application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: strings.Repeat("x", 4001)},
			wantErr: domain.ErrInvalid},
		{name: "client message id too long",
			cmd:     application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: "hi", ClientMessageID: strings.Repeat("c", 65)},
			wantErr: domain.ErrInvalid},
		{name: "admin with invalid content", cmd: application.SendMessageCommand{Principal: service, Channel: dmAB},
			wantErr: domain.ErrInvalid},
		{name: "non-member", cmd: application.SendMessageCommand{Principal: domain.Principal{UserID: "u_carol"}, Channel: dmAB, Content: "hi"},
			wantErr: domain.ErrNotFound},
		{
			// A first send is one step of the store: no membership read
			// and no look-up of the client message id before it.
			name: "no read before the append", cmd: retry,
			setup: func(s *memStore, _ *memNotifier) {
				s.isMemberErr, s.findErr = domain.ErrUnavailable, domain.ErrUnavailable
			},
			want:      application.SendMessageResult{Message: storedRetry, Created: true},
			wantAdded: []domain.Message{storedRetry}, wantEvent: event(storedRetry),
		},
		{
			// Stored trimmed, with id, time and the next seq; the event
			// carries the removals the append saw.
			name: "member, new message", cmd: cmd,
			want:      application.SendMessageResult{Message: stored, Created: true},
			wantAdded: []domain.Message{stored}, wantEvent: event(stored),
		},
		{
			// The store checks under the conversation's lock: a removal
			// committed just before the append refuses the message.
			name: "removed just before the append", cmd: cmd,
			setup: func(s *memStore, _ *memNotifier) {
				s.beforeAppend = func(s *memStore) { s.remove(dmAB, "u_alice") }
			},
			wantErr: domain.ErrNotFound,
		},
		{
			name: "admin skips membership", cmd: application.SendMessageCommand{Principal: service, Channel: dmAB, Content: "hi"},
			want:      application.SendMessageResult{Message: fromService, Created: true},
			wantAdded: []domain.Message{fromService}, wantEvent: event(fromService),
		},
		{
			name:    "admin into a missing conversation",
			cmd:     application.SendMessageCommand{Principal: service, Channel: groupTeam, Content: "hi"},
			wantErr: domain.ErrNotFound,
		},
		{
			name: "first use of a client message id", cmd: retry,
			want:      application.SendMessageResult{Message: storedRetry, Created: true},
			wantAdded: []domain.Message{storedRetry}, wantEvent: event(storedRetry),
		},
		{
			name: "retry returns the original", cmd: retry, setup: withEarlier(same),
			want:      application.SendMessageResult{Message: earlier, Created: false},
			wantAdded: []domain.Message{earlier},
		},
		{
			name: "same key, different content", cmd: retry,
			setup:     withEarlier(func(m *domain.Message) { m.Content = "something else" }),
			wantErr:   domain.ErrConflict,
			wantAdded: []domain.Message{otherContent},
		},
		{
			name: "same key, different channel", cmd: retry,
			setup:     withEarlier(func(m *domain.Message) { m.Channel = groupTeam }),
			wantErr:   domain.ErrConflict,
			wantAdded: []domain.Message{func() domain.Message { m := earlier; m.Channel = groupTeam; return m }()},
		},
		{
			name: "same key, different persona", cmd: retry,
			setup:     withEarlier(func(m *domain.Message) { m.PersonaID = "" }),
			wantErr:   domain.ErrConflict,
			wantAdded: []domain.Message{func() domain.Message { m := earlier; m.PersonaID = ""; return m }()},
		},
		{
			// The append found the key taken; reading the original fails.
			name: "idempotency lookup fails", cmd: retry,
			setup: func(s *memStore, n *memNotifier) {
				withEarlier(same)(s, n)
				s.findErr = domain.ErrUnavailable
			},
			wantErr:   domain.ErrUnavailable,
			wantAdded: []domain.Message{earlier},
		},
		{
			name: "concurrent retry wins the race", cmd: retry, setup: concurrently(earlier),
			want:      application.SendMessageResult{Message: earlier, Created: false},
			wantAdded: []domain.Message{earlier},
		},
		{
			name: "concurrent request with the same key and other content wins the race", cmd: retry,
			setup:     concurrently(otherContent),
			wantErr:   domain.ErrConflict,
			wantAdded: []domain.Message{otherContent},
		},
		{
			// The append says the key is taken, yet the look-up finds no
			// message under it: a conflict all the same.
			name: "conflict without a winner to find", cmd: retry,
			setup:   func(s *memStore, _ *memNotifier) { s.appendErr = domain.ErrConflict },
			wantErr: domain.ErrConflict,
		},
		{
			name: "append fails", cmd: cmd,
			setup:   func(s *memStore, _ *memNotifier) { s.appendErr = domain.ErrUnavailable },
			wantErr: domain.ErrUnavailable,
		},
		{
			// The message is committed: a failed publish does not fail the
			// command, and is logged.
			name: "publish fails", cmd: cmd,
			setup:     func(_ *memStore, n *memNotifier) { n.err = errors.New("boom") },
			want:      application.SendMessageResult{Message: stored, Created: true},
			wantAdded: []domain.Message{stored}, wantWarning: true,
		},
		{
			// An unavailable notifier logs its outage itself: no line per message.
			name: "publish fails, notifier unavailable", cmd: cmd,
			setup:     func(_ *memStore, n *memNotifier) { n.err = domain.ErrUnavailable },
			want:      application.SendMessageResult{Message: stored, Created: true},
			wantAdded: []domain.Message{stored},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.fixedClockAndIDs()
			store := newMemStore().conversation(dmAB, "u_alice", "u_bob")
			history := sendHistory()
			for _, m := range history {
				store.put(m)
			}
			store.removals[dmAB] = 2
			notifier := &memNotifier{}
			if tt.setup != nil {
				tt.setup(store, notifier)
			}
			uc := application.NewSendMessage(store, store, notifier, f.ids, f.clock, f.logger)
			got, err := uc.Execute(t.Context(), tt.cmd)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Fatalf("result = %+v, want %+v", got, tt.want)
			}
			if added := store.stored()[len(history):]; !reflect.DeepEqual(added, tt.wantAdded) && len(added)+len(tt.wantAdded) > 0 {
				t.Fatalf("the store holds %+v after the history; want %+v", added, tt.wantAdded)
			}
			events, tries := notifier.published()
			switch {
			case tt.wantEvent != nil && (len(events) != 1 || !reflect.DeepEqual(events[0], *tt.wantEvent)):
				t.Fatalf("published %+v; want %+v", events, *tt.wantEvent)
			case tt.wantEvent == nil && len(events) > 0:
				t.Fatalf("published %+v; want nothing", events)
			case tt.want.Created && tries != 1:
				t.Fatalf("%d publishes of a committed message; want 1", tries)
			}
			if logged := strings.Contains(f.logs.String(), `"message_id":"msg_1"`); logged != tt.wantWarning {
				t.Fatalf("publish warning logged = %v, want %v; log: %s", logged, tt.wantWarning, f.logs)
			}
		})
	}
}

// TestSendMessagePublishOutlivesTheRequest checks that the doorbell rings
// even when the client goes away once the message is committed: Publish gets
// a context that is not cancelled but keeps the request's values.
func TestSendMessagePublishOutlivesTheRequest(t *testing.T) {
	t.Parallel()
	type key struct{}
	f := newFixture(t)
	f.fixedClockAndIDs()
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "request-7"))
	defer cancel()

	stored := domain.Message{ID: "msg_1", Channel: dmAB, Seq: 1, SenderID: "u_alice", Content: "hi", CreatedAt: fixedNow}
	gomock.InOrder(
		f.msgs.EXPECT().Append(gomock.Any(), gomock.Any(), asMember).DoAndReturn(func(context.Context, domain.Message, ports.AppendOptions) (domain.Message, domain.ChannelState, error) {
			cancel() // the client hangs up right after the commit
			return stored, domain.ChannelState{}, nil
		}),
		f.notifier.EXPECT().Publish(gomock.Any(), domain.CommittedMessageEvent(stored, 0)).DoAndReturn(func(ctx context.Context, _ domain.Event) error {
			if ctx.Err() != nil {
				t.Errorf("Publish got a cancelled context: %v", ctx.Err())
			}
			if ctx.Value(key{}) != "request-7" {
				t.Error("Publish's context lost the request's values")
			}
			return nil
		}),
	)
	uc := application.NewSendMessage(f.convs, f.msgs, f.notifier, f.ids, f.clock, f.logger)
	got, err := uc.Execute(ctx, application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: "hi"})
	if err != nil || got != (application.SendMessageResult{Message: stored, Created: true}) {
		t.Fatalf("Execute = %+v, %v", got, err)
	}
}
