package application_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// asMember and asService are the AppendOptions of a member's message and a
// service principal's.
var (
	asMember  = ports.AppendOptions{}
	asService = ports.AppendOptions{Service: true}
)

func TestSendMessage(t *testing.T) {
	t.Parallel()
	cmd := application.SendMessageCommand{Principal: alice, Channel: dmAB, Content: "  hi  ", PersonaID: "p_42"}
	retry := cmd
	retry.ClientMessageID = "c-1"
	// toStore is what Append must receive: trimmed, with id and time set.
	toStore := domain.Message{ID: "msg_1", Channel: dmAB, SenderID: "u_alice", PersonaID: "p_42",
		Content: "hi", CreatedAt: fixedNow}
	stored := toStore
	stored.Seq = 17
	storedRetry := stored
	storedRetry.ClientMessageID = "c-1"
	toStoreRetry := toStore
	toStoreRetry.ClientMessageID = "c-1"
	earlier := storedRetry
	earlier.ID, earlier.Seq, earlier.CreatedAt = "msg_0", 9, fixedNow.Add(-1)

	tests := []struct {
		name        string
		cmd         application.SendMessageCommand
		setup       func(f *fixture)
		want        application.SendMessageResult
		wantErr     error
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
		{
			name: "non-member",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, nil)
			},
			wantErr: domain.ErrNotFound,
		},
		{
			name: "membership check fails",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(false, domain.ErrUnavailable)
			},
			wantErr: domain.ErrUnavailable,
		},
		{
			name: "member, new message",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().Append(gomock.Any(), toStore, asMember).Return(stored, int64(2), nil),
					// The event carries the removals the append saw.
					f.notifier.EXPECT().Publish(liveContext(), domain.CommittedMessageEvent(stored, 2)).Return(nil),
				)
			},
			want: application.SendMessageResult{Message: stored, Created: true},
		},
		{
			// The store checks again under the conversation's lock: a
			// removal committed after the fast path refuses the message.
			name: "removed between the check and the append",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().Append(gomock.Any(), toStore, asMember).Return(domain.Message{}, int64(0), domain.ErrNotFound)
			},
			wantErr: domain.ErrNotFound,
		},
		{
			name: "admin skips membership",
			cmd:  application.SendMessageCommand{Principal: service, Channel: dmAB, Content: "hi"},
			setup: func(f *fixture) {
				m := domain.Message{ID: "msg_1", Channel: dmAB, SenderID: "svc_bot", Content: "hi", CreatedAt: fixedNow}
				s := m
				s.Seq = 3
				gomock.InOrder(
					f.msgs.EXPECT().Append(gomock.Any(), m, asService).Return(s, int64(0), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.CommittedMessageEvent(s, 0)).Return(nil),
				)
			},
			want: application.SendMessageResult{Message: domain.Message{ID: "msg_1", Channel: dmAB, Seq: 3,
				SenderID: "svc_bot", Content: "hi", CreatedAt: fixedNow}, Created: true},
		},
		{
			name: "admin into a missing conversation",
			cmd:  application.SendMessageCommand{Principal: service, Channel: dmAB, Content: "hi"},
			setup: func(f *fixture) {
				f.msgs.EXPECT().Append(gomock.Any(), gomock.Any(), asService).Return(domain.Message{}, int64(0), domain.ErrNotFound)
			},
			wantErr: domain.ErrNotFound,
		},
		{
			name: "first use of a client message id",
			cmd:  retry,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(domain.Message{}, domain.ErrNotFound),
					f.msgs.EXPECT().Append(gomock.Any(), toStoreRetry, asMember).Return(storedRetry, int64(0), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.CommittedMessageEvent(storedRetry, 0)).Return(nil),
				)
			},
			want: application.SendMessageResult{Message: storedRetry, Created: true},
		},
		{
			name: "retry returns the original",
			cmd:  retry,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(earlier, nil)
			},
			want: application.SendMessageResult{Message: earlier, Created: false},
		},
		{
			name: "same key, different content",
			cmd:  retry,
			setup: func(f *fixture) {
				other := earlier
				other.Content = "something else"
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(other, nil)
			},
			wantErr: domain.ErrConflict,
		},
		{
			name: "same key, different channel",
			cmd:  retry,
			setup: func(f *fixture) {
				other := earlier
				other.Channel = groupTeam
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(other, nil)
			},
			wantErr: domain.ErrConflict,
		},
		{
			name: "same key, different persona",
			cmd:  retry,
			setup: func(f *fixture) {
				other := earlier
				other.PersonaID = ""
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(other, nil)
			},
			wantErr: domain.ErrConflict,
		},
		{
			name: "idempotency lookup fails",
			cmd:  retry,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(domain.Message{}, domain.ErrUnavailable)
			},
			wantErr: domain.ErrUnavailable,
		},
		{
			name: "concurrent retry wins the race",
			cmd:  retry,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(domain.Message{}, domain.ErrNotFound),
					f.msgs.EXPECT().Append(gomock.Any(), toStoreRetry, asMember).Return(domain.Message{}, int64(0), domain.ErrConflict),
					f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(earlier, nil),
				)
			},
			want: application.SendMessageResult{Message: earlier, Created: false},
		},
		{
			name: "concurrent request with the same key and other content wins the race",
			cmd:  retry,
			setup: func(f *fixture) {
				other := earlier
				other.Content = "something else"
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(domain.Message{}, domain.ErrNotFound),
					f.msgs.EXPECT().Append(gomock.Any(), toStoreRetry, asMember).Return(domain.Message{}, int64(0), domain.ErrConflict),
					f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(other, nil),
				)
			},
			wantErr: domain.ErrConflict,
		},
		{
			name: "conflict without a winner to find",
			cmd:  retry,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().FindByClientID(gomock.Any(), domain.UserID("u_alice"), "c-1").Return(domain.Message{}, domain.ErrNotFound).Times(2)
				f.msgs.EXPECT().Append(gomock.Any(), toStoreRetry, asMember).Return(domain.Message{}, int64(0), domain.ErrConflict)
			},
			wantErr: domain.ErrConflict,
		},
		{
			name: "append fails",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				f.msgs.EXPECT().Append(gomock.Any(), toStore, asMember).Return(domain.Message{}, int64(0), domain.ErrUnavailable)
			},
			wantErr: domain.ErrUnavailable,
		},
		{
			name: "publish fails",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().Append(gomock.Any(), toStore, asMember).Return(stored, int64(0), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.CommittedMessageEvent(stored, 0)).Return(errors.New("boom")),
				)
			},
			want:        application.SendMessageResult{Message: stored, Created: true},
			wantWarning: true,
		},
		{
			// An unavailable notifier logs its outage itself: no line per message.
			name: "publish fails, notifier unavailable",
			cmd:  cmd,
			setup: func(f *fixture) {
				f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
				gomock.InOrder(
					f.msgs.EXPECT().Append(gomock.Any(), toStore, asMember).Return(stored, int64(0), nil),
					f.notifier.EXPECT().Publish(gomock.Any(), domain.CommittedMessageEvent(stored, 0)).Return(domain.ErrUnavailable),
				)
			},
			want: application.SendMessageResult{Message: stored, Created: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.fixedClockAndIDs()
			if tt.setup != nil {
				tt.setup(f)
			}
			uc := application.NewSendMessage(f.convs, f.msgs, f.notifier, f.ids, f.clock, f.logger)
			got, err := uc.Execute(t.Context(), tt.cmd)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Fatalf("result = %+v, want %+v", got, tt.want)
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
	f.convs.EXPECT().IsMember(gomock.Any(), dmAB, domain.UserID("u_alice")).Return(true, nil)
	gomock.InOrder(
		f.msgs.EXPECT().Append(gomock.Any(), gomock.Any(), asMember).DoAndReturn(func(context.Context, domain.Message, ports.AppendOptions) (domain.Message, int64, error) {
			cancel() // the client hangs up right after the commit
			return stored, 0, nil
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
