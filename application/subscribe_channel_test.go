package application_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports/mocks"
)

func TestSubscribeChannel(t *testing.T) {
	t.Parallel()
	ab := []domain.ChannelID{chA, chB}
	states := defaultStates() // A: number 10, last 5; B: number 20, last 3
	nonMember := []domain.ChannelState{states[0], {Channel: chB, Number: 20, LastSeq: 3, IsMember: false}}

	many := func(n int) []domain.ChannelID {
		out := make([]domain.ChannelID, n)
		for i := range out {
			out[i] = domain.GroupChannel(domain.ConversationID(fmt.Sprintf("grp_%d", i)))
		}
		return out
	}
	statesOf := func(chs []domain.ChannelID) []domain.ChannelState {
		out := make([]domain.ChannelState, len(chs))
		for i, ch := range chs {
			out[i] = domain.ChannelState{Channel: ch, Number: int64(i + 1), LastSeq: 1, IsMember: true}
		}
		return out
	}

	tests := []struct {
		name      string
		principal domain.Principal
		channels  []domain.ChannelID
		cursor    *domain.Cursor
		// subscribed is what Subscribe and ChannelStates must get; nil when
		// the query fails before subscribing.
		subscribed []domain.ChannelID
		states     []domain.ChannelState
		statesErr  error
		subErr     error
		wantErr    error
		wantStart  string
	}{
		{name: "no cursor: every channel at its end", channels: ab, subscribed: ab, states: states, wantStart: "{A:5 B:3}"},
		{name: "states in another order", channels: ab, subscribed: ab, states: []domain.ChannelState{states[1], states[0]},
			wantStart: "{A:5 B:3}"},
		{name: "duplicates removed, request order kept", channels: []domain.ChannelID{chB, chA, chB, chA, chB},
			subscribed: []domain.ChannelID{chB, chA}, states: states, wantStart: "{A:5 B:3}"},
		{name: "cursor", channels: ab, subscribed: ab, states: states,
			cursor: cursorOf(domain.Position{Number: 10, Seq: 2}, domain.Position{Number: 20, Seq: 0}), wantStart: "{A:2 B:0}"},
		{name: "cursor ahead of the store is clamped", channels: ab, subscribed: ab, states: states,
			cursor: cursorOf(domain.Position{Number: 10, Seq: 9}, domain.Position{Number: 20, Seq: 1}), wantStart: "{A:5 B:1}"},
		{name: "channels the cursor does not name start at their end", channels: ab, subscribed: ab, states: states,
			cursor: cursorOf(domain.Position{Number: 20, Seq: 1}), wantStart: "{A:5 B:1}"},
		{name: "positions of other channels are dropped", channels: ab, subscribed: ab, states: states,
			cursor:    cursorOf(domain.Position{Number: 10, Seq: 2}, domain.Position{Number: 30, Seq: 8}, domain.Position{Number: 99, Seq: 1}),
			wantStart: "{A:2 B:3}"},
		{name: "empty cursor", channels: ab, subscribed: ab, states: states, cursor: cursorOf(), wantStart: "{A:5 B:3}"},
		{name: "admin needs no membership", principal: service, channels: ab, subscribed: ab, states: nonMember, wantStart: "{A:5 B:3}"},
		{name: "100 channels", channels: many(100), subscribed: many(100), states: statesOf(many(100))},
		{name: "100 channels named twice", channels: append(many(100), many(100)...), subscribed: many(100),
			states: statesOf(many(100))},

		{name: "no channel", channels: nil, wantErr: domain.ErrInvalid},
		{name: "101 channels", channels: many(101), wantErr: domain.ErrInvalid},
		{name: "subscribe fails", channels: ab, subscribed: ab, subErr: domain.ErrUnavailable, wantErr: domain.ErrUnavailable},
		{name: "reading the states fails", channels: ab, subscribed: ab, statesErr: domain.ErrUnavailable, wantErr: domain.ErrUnavailable},
		{name: "not a member of one channel", channels: ab, subscribed: ab, states: nonMember, wantErr: domain.ErrNotFound},
		{name: "one channel does not exist", channels: ab, subscribed: ab, states: states[:1], wantErr: domain.ErrNotFound},
		{name: "admin, one channel does not exist", principal: service, channels: ab, subscribed: ab, states: states[1:],
			wantErr: domain.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.principal == (domain.Principal{}) {
				tt.principal = alice
			}
			f := newFixture(t)
			sub := mocks.NewMockSubscription(gomock.NewController(t))
			if tt.subscribed != nil {
				subscribe := f.notifier.EXPECT().Subscribe(gomock.Any(), tt.subscribed)
				if tt.subErr != nil {
					subscribe.Return(nil, tt.subErr)
				} else {
					subscribe.Return(sub, nil)
					// The subscription is registered before the states are
					// read, so that nothing committed in between is missed.
					gomock.InOrder(subscribe,
						f.convs.EXPECT().ChannelStates(gomock.Any(), tt.subscribed, tt.principal.UserID).Return(tt.states, tt.statesErr))
					// Whoever holds the subscription closes it exactly once:
					// Execute on failure, the test through the stream.
					sub.EXPECT().Close()
				}
			}
			uc := application.NewSubscribeChannel(f.convs, f.msgs, f.notifier, 0, f.logger)
			stream, err := uc.Execute(t.Context(), application.SubscribeQuery{Principal: tt.principal, Channels: tt.channels, Cursor: tt.cursor})
			checkErr(t, err, tt.wantErr)
			if err != nil {
				if stream != nil {
					t.Fatal("Execute returned a stream with an error")
				}
				return
			}
			defer stream.Close()
			if !slices.Equal(stream.Channels(), tt.subscribed) {
				t.Fatalf("Channels() = %v, want %v", stream.Channels(), tt.subscribed)
			}
			if tt.wantStart != "" {
				if got := renderCursor(t, stream.Start()); got != tt.wantStart {
					t.Fatalf("Start() = %s, want %s", got, tt.wantStart)
				}
			} else if stream.Start().Len() != len(tt.subscribed) {
				t.Fatalf("Start() names %d channels, want %d", stream.Start().Len(), len(tt.subscribed))
			}
		})
	}
}

// TestSubscribeChannelDefaultHeartbeat checks that a heartbeat interval that
// is not positive falls back to the default rather than making the stream's
// ticker panic.
func TestSubscribeChannelDefaultHeartbeat(t *testing.T) {
	t.Parallel()
	for _, hb := range []time.Duration{-time.Second, -1} {
		h := openStream(t, streamSetup{heartbeat: hb})
		h.sink.steps = []func(){h.cancel}
		if err := h.run(); err != nil {
			t.Fatalf("heartbeat %v: Run = %v", hb, err)
		}
	}
}
