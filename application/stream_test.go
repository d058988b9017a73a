package application_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// stalledAfter bounds a stream test that goes wrong by never ending; a
// correct test ends long before. It guards against a hang, it asserts no
// timing.
const stalledAfter = 5 * time.Second

// streamSetup describes the stream under test: by default alice's stream of
// A (last seq 5) and B (last seq 3), without a cursor.
type streamSetup struct {
	principal  domain.Principal
	channels   []domain.ChannelID
	states     []domain.ChannelState
	cursor     *domain.Cursor
	heartbeat  time.Duration
	writeDelay time.Duration
}

func defaultStates() []domain.ChannelState {
	return []domain.ChannelState{
		{Channel: chA, Number: 10, LastSeq: 5, IsMember: true},
		{Channel: chB, Number: 20, LastSeq: 3, IsMember: true},
	}
}

// streamHarness is one stream test's world: the subscription, the store and
// the sink, and the context Run gets.
type streamHarness struct {
	t        *testing.T
	observer gapObserver
	states   []domain.ChannelState // what ChannelStates answers; a step may change it
	// stateReads counts the ChannelStates calls: the stream's opening and
	// each access check.
	stateReads int
	stream     *application.Stream
	sub        *fakeSub
	store      *fakeStore
	sink       *recordingSink
	ctx        context.Context
	cancel     context.CancelFunc
}

func openStream(t *testing.T, s streamSetup) *streamHarness {
	t.Helper()
	if s.principal == (domain.Principal{}) {
		s.principal = alice
	}
	if s.states == nil {
		s.states = defaultStates()
	}
	if s.channels == nil {
		for _, st := range s.states {
			s.channels = append(s.channels, st.Channel)
		}
	}
	if s.heartbeat == 0 {
		s.heartbeat = time.Hour // never, in a test
	}
	f := newFixture(t)
	h := &streamHarness{t: t, sub: newFakeSub(), store: newFakeStore()}
	h.sink = &recordingSink{t: t, failOn: map[string]error{}}
	for _, st := range s.states {
		h.store.commit(st.Channel, st.LastSeq)
	}
	f.notifier.EXPECT().Subscribe(gomock.Any(), s.channels).Return(h.sub, nil)
	h.states = s.states
	// Read when the stream opens, and again on every resync.
	f.convs.EXPECT().ChannelStates(gomock.Any(), gomock.Any(), s.principal.UserID).DoAndReturn(h.channelStates).MinTimes(1)
	f.msgs.EXPECT().List(gomock.Any(), gomock.Any()).DoAndReturn(h.store.list).AnyTimes()

	uc := application.NewSubscribeChannel(f.convs, f.msgs, f.notifier, s.heartbeat, f.logger,
		application.WithStreamObserver(&h.observer), application.WithWriteDelay(s.writeDelay))
	stream, err := uc.Execute(t.Context(), application.SubscribeQuery{Principal: s.principal, Channels: s.channels, Cursor: s.cursor})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	t.Cleanup(stream.Close)
	h.stream = stream
	h.ctx, h.cancel = context.WithTimeout(t.Context(), stalledAfter)
	t.Cleanup(h.cancel)
	return h
}

// gapObserver records gap fills as "A+4" (channel A, 4 recovered); only the
// stream's goroutine calls it.
type gapObserver struct{ fills []string }

func (o *gapObserver) GapFilled(ch domain.ChannelID, recovered int) {
	o.fills = append(o.fills, fmt.Sprintf("%s+%d", channelNames[ch], recovered))
}

// channelStates answers ChannelStates from h.states, for the channels
// asked, in the order asked, with the last seq the store holds now; it
// runs on the stream's goroutine (or the test's, when the stream opens),
// so it needs no lock of its own.
func (h *streamHarness) channelStates(_ context.Context, channels []domain.ChannelID, _ domain.UserID) ([]domain.ChannelState, error) {
	h.stateReads++
	if err := h.store.failure(); err != nil {
		return nil, err
	}
	var out []domain.ChannelState
	for _, ch := range channels {
		for _, st := range h.states {
			if st.Channel == ch {
				st.LastSeq = h.store.lastOf(ch)
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// run runs the stream on the test goroutine until it ends.
func (h *streamHarness) run() error {
	h.t.Helper()
	err := h.stream.Run(h.ctx, h.sink)
	if errors.Is(h.ctx.Err(), context.DeadlineExceeded) {
		h.t.Fatalf("the stream stalled; log so far: %q", h.sink.log)
	}
	return err
}

// Steps of a test's script.
type step func(h *streamHarness)

// publish commits messages to the store and rings the doorbell for each.
func publish(ch domain.ChannelID, seqs ...int64) step {
	return func(h *streamHarness) {
		for _, seq := range seqs {
			h.store.commit(ch, seq)
			h.sub.push(domain.MessageEvent(msg(ch, seq)))
		}
	}
}

// publishGuarded commits messages to the store and queues each as a
// guarded message committed after removals member removals.
func publishGuarded(ch domain.ChannelID, removals int64, seqs ...int64) step {
	return func(h *streamHarness) {
		for _, seq := range seqs {
			h.store.commit(ch, seq)
			h.sub.push(guarded(ch, seq, removals))
		}
	}
}

// guarded is the guarded event of message seq of ch, committed after
// removals member removals.
func guarded(ch domain.ChannelID, seq, removals int64) domain.Event {
	ev, ok := domain.CommittedMessageEvent(msg(ch, seq), removals).Guarded()
	if !ok {
		panic("a committed message event has a guarded form")
	}
	return ev
}

// commitSilently commits messages up to seq whose notifications are lost.
func commitSilently(ch domain.ChannelID, seq int64) step {
	return func(h *streamHarness) { h.store.commit(ch, seq) }
}

// push queues events as they are, without touching the store.
func push(evs ...domain.Event) step {
	return func(h *streamHarness) { h.sub.push(evs...) }
}

func live(ch domain.ChannelID, seqs ...int64) []domain.Event {
	evs := make([]domain.Event, 0, len(seqs))
	for _, seq := range seqs {
		evs = append(evs, domain.MessageEvent(msg(ch, seq)))
	}
	return evs
}

func resync(ch domain.ChannelID) domain.Event {
	return domain.Event{Kind: domain.EventResync, Channel: ch}
}

// head announces that the store holds ch up to lastSeq, with removals
// member removals so far.
func head(ch domain.ChannelID, lastSeq, removals int64) domain.Event {
	return domain.HeadEvent(domain.ChannelState{Channel: ch, LastSeq: lastSeq, Removals: removals})
}

// setState changes what ChannelStates answers for ch.
func setState(ch domain.ChannelID, change func(*domain.ChannelState)) step {
	return func(h *streamHarness) {
		for i := range h.states {
			if h.states[i].Channel == ch {
				change(&h.states[i])
			}
		}
	}
}

func removed(ch domain.ChannelID, user domain.UserID) domain.Event {
	return domain.MemberRemovedEvent(ch, user)
}

func endSub(err error) step { return func(h *streamHarness) { h.sub.end(err) } }

func cancelRun(h *streamHarness) { h.cancel() }

func noop(*streamHarness) {}

// steps chains steps into one.
func steps(ss ...step) step {
	return func(h *streamHarness) {
		for _, s := range ss {
			s(h)
		}
	}
}

func cursorOf(positions ...domain.Position) *domain.Cursor {
	c := domain.NewCursor(positions...)
	return &c
}

func TestStreamRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   streamSetup
		before  step   // runs before Run
		script  []step // script[i] runs during the i-th Flush
		want    []string
		wantErr error
		check   func(t *testing.T, h *streamHarness)
	}{
		{
			name:   "no cursor: starts at each channel's end and replays nothing",
			script: []step{cancelRun},
			want:   []string{"flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := renderCursor(t, h.stream.Start()); got != "{A:5 B:3}" {
					t.Errorf("Start() = %s, want {A:5 B:3}", got)
				}
			},
		},
		{
			name:   "no cursor: live messages in order",
			script: []step{publish(chA, 6), publish(chB, 4), publish(chA, 7), cancelRun},
			want:   []string{"flush", "A6 {A:6 B:3}", "flush", "B4 {A:6 B:4}", "flush", "A7 {A:7 B:4}", "flush"},
		},
		{
			name:   "cursor: replays every missed message in channel order, then live",
			setup:  streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2}, domain.Position{Number: 20, Seq: 1})},
			script: []step{publish(chB, 4), cancelRun},
			want: []string{
				"A3 {A:3 B:1}", "A4 {A:4 B:1}", "A5 {A:5 B:1}", "B2 {A:5 B:2}", "B3 {A:5 B:3}", "flush",
				"B4 {A:5 B:4}", "flush",
			},
			check: func(t *testing.T, h *streamHarness) {
				if got := renderCursor(t, h.stream.Start()); got != "{A:2 B:1}" {
					t.Errorf("Start() = %s, want {A:2 B:1}", got)
				}
			},
		},
		{
			name:   "cursor at the end: nothing to replay",
			setup:  streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 5}, domain.Position{Number: 20, Seq: 3})},
			script: []step{cancelRun},
			want:   []string{"flush"},
		},
		{
			name:   "cursor ahead of the store is clamped, so later messages are not taken for duplicates",
			setup:  streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 99}, domain.Position{Number: 20, Seq: 3})},
			script: []step{publish(chA, 6), cancelRun},
			want:   []string{"flush", "A6 {A:6 B:3}", "flush"},
		},
		{
			name:   "channels the cursor does not name start at their end",
			setup:  streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 3})},
			script: []step{publish(chB, 4), cancelRun},
			want:   []string{"A4 {A:4 B:3}", "A5 {A:5 B:3}", "flush", "B4 {A:5 B:4}", "flush"},
		},
		{
			name: "positions of channels not in the stream are ignored",
			setup: streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 4}, domain.Position{Number: 20, Seq: 3},
				domain.Position{Number: 99, Seq: 7})},
			script: []step{publish(chA, 6), cancelRun},
			want:   []string{"A5 {A:5 B:3}", "flush", "A6 {A:6 B:3}", "flush"},
		},
		{
			name:   "live duplicates are dropped",
			script: []step{push(live(chA, 3, 4, 5)...), publish(chA, 6), push(live(chA, 6)...), cancelRun},
			want:   []string{"flush", "flush", "A6 {A:6 B:3}", "flush", "flush"},
		},
		{
			name:  "a message both replayed and announced live is delivered once",
			setup: streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 3}, domain.Position{Number: 20, Seq: 3})},
			// A4 and A5 were published between Subscribe and the replay.
			before: push(live(chA, 4, 5)...),
			script: []step{noop, publish(chA, 6), cancelRun},
			want:   []string{"A4 {A:4 B:3}", "A5 {A:5 B:3}", "flush", "flush", "A6 {A:6 B:3}", "flush"},
		},
		{
			name: "late notifications close a gap without a store read",
			script: []step{
				// A6 and A7 are committed but their notifications are late:
				// A8 is held.
				steps(commitSilently(chA, 7), publish(chA, 8)),
				// The late notifications turn up within gapWait.
				push(live(chA, 6, 7, 8)...),
				publish(chA, 9),
				cancelRun,
			},
			want: []string{"flush", "flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "A8 {A:8 B:3}", "flush", "A9 {A:9 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				// The stream started at the end: nothing read the store.
				if got := h.store.queriesOf(chA); len(got) != 0 {
					t.Errorf("queries of A after %v, want none", got)
				}
				if len(h.observer.fills) != 0 {
					t.Errorf("gap fills %q, want none", h.observer.fills)
				}
			},
		},
		{
			name: "a lost notification is filled from the store after the wait, exactly once",
			script: []step{
				steps(commitSilently(chA, 9), push(live(chA, 7)...)),
				push(live(chA, 8, 9)...),
				noop, // A6 never comes: gapWait passes and the store fills the gap
				push(live(chA, 8, 9)...),
				cancelRun,
			},
			want: []string{"flush", "flush", "flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "A8 {A:8 B:3}", "A9 {A:9 B:3}", "flush", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := h.store.queriesOf(chA); !slices.Equal(got, []int64{5}) {
					t.Errorf("queries of A after %v, want [5]", got)
				}
			},
		},
		{
			name:   "a head at or behind the cursor reads nothing",
			script: []step{push(head(chA, 5, 0), head(chB, 2, 0)), cancelRun},
			want:   []string{"flush", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := h.store.queriesOf(chA); len(got) != 0 {
					t.Errorf("queries of A after %v, want none", got)
				}
			},
		},
		{
			name: "a head past the cursor waits for notifications that are on their way",
			script: []step{
				steps(commitSilently(chA, 7), push(head(chA, 7, 0))),
				push(live(chA, 6, 7)...),
				cancelRun,
			},
			want: []string{"flush", "flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := h.store.queriesOf(chA); len(got) != 0 {
					t.Errorf("queries of A after %v, want none", got)
				}
				if len(h.observer.fills) != 0 {
					t.Errorf("gap fills %q, want none", h.observer.fills)
				}
			},
		},
		{
			// The publisher crashed between commit and publish: only the
			// store knows of A6 and A7.
			name: "a head past the cursor whose notifications never come is read from the store",
			script: []step{
				steps(commitSilently(chA, 7), push(head(chA, 7, 0))),
				noop, // gapWait passes
				cancelRun,
			},
			want: []string{"flush", "flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := h.store.queriesOf(chA); !slices.Equal(got, []int64{5}) {
					t.Errorf("queries of A after %v, want [5]", got)
				}
				if !slices.Equal(h.observer.fills, []string{"A+2"}) {
					t.Errorf("gap fills %q, want [A+2]", h.observer.fills)
				}
			},
		},
		{
			// The notification of alice's removal from B was lost for good.
			name: "a head counting a removal the stream has not seen checks access again",
			script: []step{
				steps(setState(chB, func(st *domain.ChannelState) { st.IsMember, st.Removals = false, 1 }),
					push(head(chB, 3, 1))),
				cancelRun,
			},
			want: []string{"flush", "removed B {A:5}", "flush"},
		},
		{
			name: "a removal of someone else is checked for once",
			setup: streamSetup{states: []domain.ChannelState{
				{Channel: chA, Number: 10, LastSeq: 5, IsMember: true, Removals: 2},
			}},
			script: []step{
				push(head(chA, 5, 2)),
				steps(setState(chA, func(st *domain.ChannelState) { st.Removals = 3 }), push(head(chA, 5, 3))),
				push(head(chA, 5, 3)),
				cancelRun,
			},
			want: []string{"flush", "flush", "flush", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				// Access read when the stream opened, then the one recheck.
				if h.stateReads != 2 {
					t.Errorf("channel states read %d times, want 2", h.stateReads)
				}
			},
		},
		{
			name: "a gap too long to hold is filled at once",
			// One more than can be held; the first burst (maxBatch, 64)
			// is held, the next message overflows the hold.
			script: []step{steps(commitSilently(chA, 6+maxHeldForTest+1), push(live(chA, seqsFrom(7, maxHeldForTest+1)...)...)), noop, cancelRun},
			want:   append(append([]string{"flush", "flush"}, deliveredA(6, 6+maxHeldForTest+1)...), "flush"),
		},
		{
			name: "notifications overtaken within a burst",
			script: []step{
				steps(commitSilently(chA, 8), push(live(chA, 8, 6, 7)...)),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "A8 {A:8 B:3}", "flush"},
		},
		{
			// An instance that cannot trust its notifier (an outage, a
			// subscription not yet confirmed) turns every local message
			// into a resync: those queued together cost one access check
			// and one catch-up, not one each.
			name: "queued resyncs of a channel coalesce into one",
			script: []step{
				steps(commitSilently(chA, 7), push(resync(chA), resync(chA), resync(chA), resync(chA), resync(chA))),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if h.stateReads != 2 {
					t.Errorf("ChannelStates read %d times, want 2 (the opening, one resync)", h.stateReads)
				}
			},
		},
		{
			// An instance that cannot trust its notifier hands local
			// messages on guarded, each with the removals of its channel
			// at commit.
			name: "guarded messages with no removal since the access check are delivered without a store read",
			script: []step{
				publishGuarded(chA, 0, 6, 7),
				steps(commitSilently(chA, 9), push(guarded(chA, 9, 0))), // A8's notification is behind
				push(guarded(chA, 8, 0)),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush", "flush", "A8 {A:8 B:3}", "A9 {A:9 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if h.stateReads != 1 {
					t.Errorf("ChannelStates read %d times, want 1 (the opening)", h.stateReads)
				}
				if got := h.store.queriesOf(chA); len(got) != 0 {
					t.Errorf("queries of A after %v, want none", got)
				}
			},
		},
		{
			// The notifier lost alice's removal from A; the message
			// committed after it says so by its count of removals.
			name: "a guarded message after a removal checks access first",
			script: []step{
				steps(setState(chA, func(st *domain.ChannelState) { st.IsMember, st.Removals = false, 1 }),
					publishGuarded(chA, 1, 6)),
				publish(chB, 4),
				cancelRun,
			},
			want: []string{"flush", "removed A {B:3}", "flush", "B4 {B:4}", "flush"},
		},
		{
			name: "after another member's removal one access check covers the later guarded messages",
			script: []step{
				steps(setState(chA, func(st *domain.ChannelState) { st.Removals = 1 }),
					publishGuarded(chA, 1, 6)),
				publishGuarded(chA, 1, 7, 8),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "flush", "A7 {A:7 B:3}", "A8 {A:8 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if h.stateReads != 2 {
					t.Errorf("ChannelStates read %d times, want 2 (the opening, one check)", h.stateReads)
				}
			},
		},
		{
			name: "a resync is not coalesced across a message of its channel",
			script: []step{
				steps(commitSilently(chA, 6), push(resync(chA), live(chA, 7)[0], resync(chA)), commitSilently(chA, 7)),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if h.stateReads != 3 {
					t.Errorf("ChannelStates read %d times, want 3 (the opening, two resyncs)", h.stateReads)
				}
			},
		},
		{
			name: "resync of one channel catches it up",
			script: []step{
				steps(commitSilently(chA, 7), commitSilently(chB, 4), push(resync(chA))),
				push(resync(chB)),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "A7 {A:7 B:3}", "flush", "B4 {A:7 B:4}", "flush"},
		},
		{
			// The notifier lost the removal of alice from B (it lost
			// events, hence the resync): the resync finds out.
			name: "a resync drops a channel the caller may no longer read",
			script: []step{
				steps(func(h *streamHarness) {
					h.states = []domain.ChannelState{
						{Channel: chA, Number: 10, LastSeq: 5, IsMember: true},
						{Channel: chB, Number: 20, LastSeq: 3, IsMember: false},
					}
				}, commitSilently(chA, 6), push(resync(chA), resync(chB))),
				publish(chB, 4),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6 B:3}", "removed B {A:6}", "flush", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if _, unsubscribed := h.sub.state(); !slices.Equal(unsubscribed, []domain.ChannelID{chB}) {
					t.Errorf("unsubscribed %v, want [B]", unsubscribed)
				}
			},
		},
		{
			name: "a resync drops a channel that no longer exists",
			script: []step{
				steps(func(h *streamHarness) { h.states = h.states[:1] }, push(resync(chB))),
				cancelRun,
			},
			want: []string{"flush", "removed B {A:5}", "flush"},
		},
		{
			name:  "a service caller keeps every channel on resync",
			setup: streamSetup{principal: domain.Principal{UserID: "svc", Admin: true}, states: []domain.ChannelState{{Channel: chA, Number: 10, LastSeq: 5}}},
			script: []step{
				steps(commitSilently(chA, 6), push(resync(chA))),
				cancelRun,
			},
			want: []string{"flush", "A6 {A:6}", "flush"},
		},
		{
			name: "resync and messages of channels not in the stream are ignored",
			script: []step{
				push(resync(chC), domain.MessageEvent(msg(chC, 1))),
				cancelRun,
			},
			want: []string{"flush", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if got := h.store.queriesOf(chC); len(got) != 0 {
					t.Errorf("the store was queried for C after %v", got)
				}
			},
		},
		{
			name: "the caller removed from a group: the channel stops",
			script: []step{
				push(removed(chB, "u_alice")),
				steps(publish(chB, 4), push(resync(chA), resync(chB), removed(chB, "u_alice")), publish(chA, 6)),
				cancelRun,
			},
			want: []string{"flush", "removed B {A:5}", "flush", "A6 {A:6}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if _, unsubscribed := h.sub.state(); !slices.Equal(unsubscribed, []domain.ChannelID{chB}) {
					t.Errorf("unsubscribed %v, want [B]", unsubscribed)
				}
				if got := h.store.queriesOf(chB); len(got) != 0 {
					t.Errorf("B was read from the store after %v; it started at its end", got)
				}
			},
		},
		{
			// Messages posted after the stream was authorised come through
			// the queue, behind a removal queued meanwhile: a replay that
			// read past the authorised position would serve them to a
			// member who is no longer one, for as long as the replay lasts.
			name:   "the replay stops at the position read when the stream was authorised",
			setup:  streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 5}, domain.Position{Number: 20, Seq: 1})},
			before: steps(commitSilently(chB, 6), push(removed(chB, "u_alice")), push(live(chB, 4, 5, 6)...)),
			script: []step{noop, cancelRun},
			want:   []string{"B2 {A:5 B:2}", "B3 {A:5 B:3}", "flush", "removed B {A:5}", "flush"},
		},
		{
			name:   "removal of another user is ignored",
			script: []step{steps(push(removed(chB, "u_bob")), publish(chB, 4)), cancelRun},
			want:   []string{"flush", "B4 {A:5 B:4}", "flush"},
			check: func(t *testing.T, h *streamHarness) {
				if _, unsubscribed := h.sub.state(); len(unsubscribed) != 0 {
					t.Errorf("unsubscribed %v", unsubscribed)
				}
			},
		},
		{
			name: "an admin is not removed",
			setup: streamSetup{principal: service, states: []domain.ChannelState{
				{Channel: chA, Number: 10, LastSeq: 5, IsMember: false},
				{Channel: chB, Number: 20, LastSeq: 3, IsMember: false},
			}},
			script: []step{steps(push(removed(chB, "svc_bot")), publish(chB, 4)), cancelRun},
			want:   []string{"flush", "B4 {A:5 B:4}", "flush"},
		},
		{
			name:    "the last channel removed ends the stream",
			setup:   streamSetup{states: []domain.ChannelState{{Channel: chB, Number: 20, LastSeq: 3, IsMember: true}}},
			script:  []step{push(removed(chB, "u_alice"))},
			want:    []string{"flush", "removed B {}", "flush"},
			wantErr: application.ErrNoChannelsLeft,
		},
		{
			name: "credentials expire after the replay",
			setup: streamSetup{principal: domain.Principal{UserID: "u_alice", ExpiresAt: time.Now().Add(-time.Minute)},
				cursor: cursorOf(domain.Position{Number: 10, Seq: 4})},
			want:    []string{"A5 {A:5 B:3}", "flush", "expired", "flush"},
			wantErr: application.ErrCredentialsExpired,
		},
		{
			name:    "a slow subscriber is cut off",
			script:  []step{publish(chA, 6), endSub(ports.ErrSlowSubscriber)},
			want:    []string{"flush", "A6 {A:6 B:3}", "flush"},
			wantErr: ports.ErrSlowSubscriber,
		},
		{
			name:    "the notifier shuts down",
			script:  []step{endSub(ports.ErrNotifierClosed)},
			want:    []string{"flush"},
			wantErr: ports.ErrNotifierClosed,
		},
		{
			name:   "the subscription is closed",
			script: []step{endSub(nil)},
			want:   []string{"flush"},
		},
		{
			name:    "the store fails during the replay",
			setup:   streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2})},
			before:  func(h *streamHarness) { h.store.fail(domain.ErrUnavailable) },
			want:    nil,
			wantErr: domain.ErrUnavailable,
		},
		{
			name:    "the store fails while filling a gap",
			script:  []step{steps(func(h *streamHarness) { h.store.fail(domain.ErrUnavailable) }, push(live(chA, 7)...))},
			want:    []string{"flush", "flush"},
			wantErr: domain.ErrUnavailable,
		},
		{
			name:    "the store fails on a resync",
			script:  []step{steps(func(h *streamHarness) { h.store.fail(domain.ErrUnavailable) }, push(resync(chA), resync(chB)))},
			want:    []string{"flush"},
			wantErr: domain.ErrUnavailable,
		},
		{
			name:  "cancelled during the replay",
			setup: streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2})},
			before: func(h *streamHarness) {
				h.store.onList = func(domain.HistoryQuery) { h.cancel() }
			},
			want: nil,
		},
		{
			name: "cancelled while filling a gap",
			script: []step{steps(
				func(h *streamHarness) { h.store.onList = func(domain.HistoryQuery) { h.cancel() } },
				commitSilently(chA, 7), push(live(chA, 7)...),
			)},
			want: []string{"flush", "flush"},
		},
		{
			name:    "the sink fails on a replayed message",
			setup:   streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2})},
			before:  func(h *streamHarness) { h.sink.failOn["A4 {A:4 B:3}"] = errBoom },
			want:    []string{"A3 {A:3 B:3}", "A4 {A:4 B:3}"},
			wantErr: errBoom,
		},
		{
			// A client that stops reading makes a write time out while its
			// queue overflows: the stream must report the cut-off, which is
			// the cause, not only the write error.
			name:  "a write fails after the subscriber was cut off",
			setup: streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2})},
			before: func(h *streamHarness) {
				h.sub.end(ports.ErrSlowSubscriber)
				h.sink.failOn["A4 {A:4 B:3}"] = errBoom
			},
			want:    []string{"A3 {A:3 B:3}", "A4 {A:4 B:3}"},
			wantErr: ports.ErrSlowSubscriber,
		},
		{
			// net/http cancels the request's context when a write fails.
			name:  "the context ends after the subscriber was cut off",
			setup: streamSetup{cursor: cursorOf(domain.Position{Number: 10, Seq: 2})},
			before: func(h *streamHarness) {
				h.sub.end(ports.ErrSlowSubscriber)
				h.cancel()
			},
			want:    nil,
			wantErr: ports.ErrSlowSubscriber,
		},
		{
			name:    "the sink fails on a live message",
			before:  func(h *streamHarness) { h.sink.failOn["A6 {A:6 B:3}"] = errBoom },
			script:  []step{publish(chA, 6, 7)},
			want:    []string{"flush", "A6 {A:6 B:3}"},
			wantErr: errBoom,
		},
		{
			name:    "the sink fails on the first flush",
			before:  func(h *streamHarness) { h.sink.failOn["flush#0"] = errBoom },
			script:  []step{publish(chA, 6)},
			want:    []string{"flush"},
			wantErr: errBoom,
		},
		{
			name:    "the sink fails on a flush after a burst",
			before:  func(h *streamHarness) { h.sink.failOn["flush#1"] = errBoom },
			script:  []step{publish(chA, 6), publish(chA, 7)},
			want:    []string{"flush", "A6 {A:6 B:3}", "flush"},
			wantErr: errBoom,
		},
		{
			name:    "the sink fails on a channel removal",
			before:  func(h *streamHarness) { h.sink.failOn["removed B {A:5}"] = errBoom },
			script:  []step{push(removed(chB, "u_alice"), live(chA, 6)[0])},
			want:    []string{"flush", "removed B {A:5}"},
			wantErr: errBoom,
		},
		{
			name:    "the sink fails on token expiry",
			setup:   streamSetup{principal: domain.Principal{UserID: "u_alice", ExpiresAt: time.Now().Add(-time.Minute)}},
			before:  func(h *streamHarness) { h.sink.failOn["expired"] = errBoom },
			want:    []string{"flush", "expired"},
			wantErr: errBoom,
		},
		{
			name:   "a burst is flushed once",
			script: []step{steps(publish(chA, 6, 7), publish(chB, 4), publish(chA, 8)), publish(chB, 5), cancelRun},
			want: []string{"flush",
				"A6 {A:6 B:3}", "A7 {A:7 B:3}", "B4 {A:7 B:4}", "A8 {A:8 B:4}", "flush",
				"B5 {A:8 B:5}", "flush"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := openStream(t, tt.setup)
			if tt.before != nil {
				tt.before(h)
			}
			for _, s := range tt.script {
				h.sink.steps = append(h.sink.steps, func() { s(h) })
			}
			err := h.run()
			checkErr(t, err, tt.wantErr)
			if !slices.Equal(h.sink.log, tt.want) {
				t.Fatalf("log:\n got %q\nwant %q", h.sink.log, tt.want)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

// TestStreamReplayPages checks that a replay longer than one store page is
// read page by page and delivered whole, in order.
func TestStreamReplayPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		from, last  int64
		wantQueries []int64
	}{
		{"less than a page", 0, 199, []int64{0}},
		{"exactly a page", 0, 200, []int64{0}},
		{"several pages", 0, 450, []int64{0, 200, 400}},
		{"several pages from the middle", 1000, 1601, []int64{1000, 1200, 1400, 1600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := openStream(t, streamSetup{
				states: []domain.ChannelState{{Channel: chA, Number: 10, LastSeq: tt.last, IsMember: true}},
				cursor: cursorOf(domain.Position{Number: 10, Seq: tt.from}),
			})
			h.sink.steps = []func(){func() { publish(chA, tt.last+1)(h) }, h.cancel}
			if err := h.run(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for seq := tt.from + 1; seq <= tt.last; seq++ {
				want = append(want, fmt.Sprintf("A%d {A:%d}", seq, seq))
			}
			want = append(want, "flush", fmt.Sprintf("A%d {A:%d}", tt.last+1, tt.last+1), "flush")
			if !slices.Equal(h.sink.log, want) {
				t.Fatalf("log:\n got %q\nwant %q", h.sink.log, want)
			}
			if got := h.store.queriesOf(chA); !slices.Equal(got, tt.wantQueries) {
				t.Fatalf("queries after %v, want %v", got, tt.wantQueries)
			}
			for _, q := range h.store.queries {
				if q.Limit != 200 {
					t.Fatalf("query %+v, want pages of 200", q)
				}
			}
		})
	}
}

// TestStreamLargeBurst checks that a burst larger than one batch is
// delivered whole and in order, with far fewer flushes than events.
func TestStreamLargeBurst(t *testing.T) {
	t.Parallel()
	h := openStream(t, streamSetup{})
	h.sink.steps = []func(){func() { publish(chA, seqs(6, 205)...)(h) }}
	for range 10 {
		h.sink.steps = append(h.sink.steps, func() {
			if h.sink.log[len(h.sink.log)-2] == "A205 {A:205 B:3}" {
				h.cancel()
			}
		})
	}
	if err := h.run(); err != nil {
		t.Fatal(err)
	}
	delivered := h.sink.delivered()
	var want []string
	for _, seq := range seqs(6, 205) {
		want = append(want, fmt.Sprintf("A%d {A:%d B:3}", seq, seq))
	}
	if !slices.Equal(delivered, want) {
		t.Fatalf("delivered:\n got %q\nwant %q", delivered, want)
	}
	if h.sink.log[len(h.sink.log)-1] != "flush" {
		t.Fatal("the burst was not flushed at its end")
	}
	if flushes := len(h.sink.log) - len(delivered); flushes > 10 {
		t.Fatalf("%d flushes for a burst of %d events", flushes, len(delivered))
	}
}

func seqs(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failOn  string
		wantErr error
	}{
		{name: "heartbeat then flush"},
		{name: "heartbeat fails", failOn: "heartbeat", wantErr: errBoom},
		{name: "flush after heartbeat fails", failOn: "flush#1", wantErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := openStream(t, streamSetup{heartbeat: time.Millisecond})
			if tt.failOn != "" {
				h.sink.failOn[tt.failOn] = errBoom // the error ends the stream
			} else {
				h.sink.onHeartbeat = h.cancel
			}
			err := h.run()
			checkErr(t, err, tt.wantErr)
			log := strings.Join(h.sink.log, ",")
			if !strings.HasPrefix(log, "flush,heartbeat") {
				t.Fatalf("log %q, want a heartbeat after the replay", h.sink.log)
			}
			if tt.wantErr == nil && !strings.Contains(log, "heartbeat,flush") {
				t.Fatalf("log %q, want a flush after the heartbeat", h.sink.log)
			}
		})
	}
}

// TestStreamCancelledBeforeRun checks that a stream whose context is
// already done replays and returns nil without waiting.
func TestStreamCancelledBeforeRun(t *testing.T) {
	t.Parallel()
	h := openStream(t, streamSetup{})
	h.cancel()
	if err := h.stream.Run(h.ctx, h.sink); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// maxHeldForTest mirrors the stream's bound on held messages per channel.
const maxHeldForTest = 64

func seqsFrom(from int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

// deliveredA is the log of A's messages from..to delivered in order, with
// B at 3.
func deliveredA(from, to int64) []string {
	var out []string
	for seq := from; seq <= to; seq++ {
		out = append(out, fmt.Sprintf("A%d {A:%d B:3}", seq, seq))
	}
	return out
}

// TestStreamGapFillBound checks that a gap filled from the store is read
// only up to the message that revealed it: what was committed later comes
// through the queue, behind a removal queued meanwhile, so a removed member
// is not served messages posted after its removal.
func TestStreamGapFillBound(t *testing.T) {
	t.Parallel()
	h := openStream(t, streamSetup{})
	// B4 is lost; B5…B69 overflow the hold (maxHeld) and make the stream
	// read the store at once, while B70…B80 are committed and the removal
	// is queued right behind B69.
	h.sink.steps = []func(){
		func() {
			h.store.commit(chB, 80)
			h.sub.push(live(chB, seqs(5, 69)...)...)
			h.sub.push(removed(chB, "u_alice"))
			h.sub.push(live(chB, seqs(70, 80)...)...)
		},
	}
	for range 5 {
		h.sink.steps = append(h.sink.steps, func() {
			if slices.Contains(h.sink.log, "removed B {A:5}") {
				h.cancel()
			}
		})
	}
	if err := h.run(); err != nil {
		t.Fatal(err)
	}
	delivered := h.sink.delivered()
	var want []string
	for seq := int64(4); seq <= 69; seq++ {
		want = append(want, fmt.Sprintf("B%d {A:5 B:%d}", seq, seq))
	}
	want = append(want, "removed B {A:5}")
	if !slices.Equal(delivered, want) {
		t.Fatalf("delivered:\n got %q\nwant %q", delivered, want)
	}
}

// timedSink records each delivery and flush with the (bubble's) time since
// start, for the write delay's test; safe for the stream's goroutine and
// the test's.
type timedSink struct {
	start time.Time
	mu    sync.Mutex
	log   []string
}

func (s *timedSink) record(entry string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, fmt.Sprintf("%s@%s", entry, time.Since(s.start)))
	return nil
}

func (s *timedSink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log
	s.log = nil
	return out
}

func (s *timedSink) Message(m domain.Message, _ domain.Cursor) error {
	return s.record(fmt.Sprintf("%s%d", channelNames[m.Channel], m.Seq))
}
func (s *timedSink) ChannelRemoved(ch domain.ChannelID, _ domain.Cursor) error {
	return s.record("removed " + channelNames[ch])
}
func (s *timedSink) TokenExpired() error { return s.record("expired") }
func (s *timedSink) Heartbeat() error    { return s.record("heartbeat") }
func (s *timedSink) Flush() error        { return s.record("flush") }

// TestStreamWriteDelay: with a write delay, an event after a quiet spell
// is written and flushed at once; events that follow within the delay wait
// for its end and go out in one flush; a quiet stream writes at once again.
func TestStreamWriteDelay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const delay = 20 * time.Millisecond
		h := openStream(t, streamSetup{writeDelay: delay})
		sink := &timedSink{start: time.Now()}
		done := make(chan error, 1)
		go func() { done <- h.stream.Run(h.ctx, sink) }()
		synctest.Wait()
		if got := sink.take(); !slices.Equal(got, []string{"flush@0s"}) {
			t.Fatalf("replay: %q, want one flush", got)
		}
		expect := func(what string, want ...string) {
			t.Helper()
			synctest.Wait()
			if got := sink.take(); !slices.Equal(got, want) {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}
		publish(chA, 6)(h)
		expect("after a quiet spell", "A6@0s", "flush@0s")
		time.Sleep(time.Millisecond)
		publish(chA, 7)(h)
		time.Sleep(time.Millisecond)
		publish(chA, 8)(h)
		expect("within the delay") // nothing yet
		time.Sleep(delay - 2*time.Millisecond)
		expect("at the delay's end", "A7@20ms", "A8@20ms", "flush@20ms")
		time.Sleep(delay) // a quiet rest: nothing was queued
		expect("a quiet rest")
		time.Sleep(time.Second)
		publish(chB, 4)(h)
		expect("quiet again", "B4@1.04s", "flush@1.04s")
		h.cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestStreamHeartbeatsUntilTheTokenExpires: one clock serves the heartbeat
// and the token's expiry, so heartbeats keep their interval, and the
// stream ends at the expiry itself, not at the heartbeat after it.
func TestStreamHeartbeatsUntilTheTokenExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := openStream(t, streamSetup{
			heartbeat: 10 * time.Millisecond,
			principal: domain.Principal{UserID: "u_alice", ExpiresAt: start.Add(25 * time.Millisecond)},
		})
		sink := &timedSink{start: start}
		err := h.stream.Run(h.ctx, sink)
		if !errors.Is(err, application.ErrCredentialsExpired) {
			t.Fatalf("Run = %v, want ErrCredentialsExpired", err)
		}
		want := []string{"flush@0s", "heartbeat@10ms", "flush@10ms", "heartbeat@20ms", "flush@20ms", "expired@25ms", "flush@25ms"}
		if got := sink.take(); !slices.Equal(got, want) {
			t.Fatalf("log %q, want %q", got, want)
		}
	})
}

// TestStreamWriteDelayEndsWhenCrowded: a resting stream whose queue fills
// past half writes what it holds at once instead of waiting out the rest.
func TestStreamWriteDelayEndsWhenCrowded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := openStream(t, streamSetup{writeDelay: time.Hour})
		h.sub.crowded = make(chan struct{}, 1)
		sink := &timedSink{start: time.Now()}
		done := make(chan error, 1)
		go func() { done <- h.stream.Run(h.ctx, sink) }()
		synctest.Wait()
		publish(chA, 6)(h)
		synctest.Wait()
		publish(chA, 7, 8)(h)
		synctest.Wait()
		if got := sink.take(); !slices.Equal(got, []string{"flush@0s", "A6@0s", "flush@0s"}) {
			t.Fatalf("before the queue is crowded: %q, want the replay's flush and A6 only", got)
		}
		time.Sleep(time.Second)
		h.sub.crowded <- struct{}{}
		synctest.Wait()
		if got := sink.take(); !slices.Equal(got, []string{"A7@1s", "A8@1s", "flush@1s"}) {
			t.Fatalf("crowded: %q, want A7 and A8 written at once", got)
		}
		h.cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
