package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/notifiertest"
)

// fakeStore answers ChannelStates from a map, or fails with err.
type fakeStore struct {
	mu     sync.Mutex
	states map[domain.ChannelID]domain.ChannelState
	err    error
}

func (s *fakeStore) set(st domain.ChannelState, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = make(map[domain.ChannelID]domain.ChannelState)
	}
	s.states[st.Channel], s.err = st, err
}

func (s *fakeStore) ChannelStates(_ context.Context, channels []domain.ChannelID, _ domain.UserID) ([]domain.ChannelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []domain.ChannelState
	for _, ch := range channels {
		if st, ok := s.states[ch]; ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// nextHead returns the next event of sub that is a head, skipping resyncs.
func nextHead(t *testing.T, sub ports.Subscription) domain.Event {
	t.Helper()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		ev, ok := notifiertest.Await(sub, timer.C)
		switch {
		case !ok:
			t.Fatal("no head within 5s")
		case ev.Kind == domain.EventResync:
			continue
		case ev.Kind != domain.EventHead:
			t.Fatalf("received %s, want a head", describe(*ev))
		}
		return *ev
	}
}

func TestHeadsOfWatchedChannels(t *testing.T) {
	t.Parallel()
	store := &fakeStore{}
	x, y := clustertest.NewChannel(), clustertest.NewChannel()
	store.set(domain.ChannelState{Channel: x, Number: 7, LastSeq: 4, Removals: 2, IsMember: true}, nil)
	store.set(domain.ChannelState{Channel: y, LastSeq: 9}, nil)
	n := newInstance(t, &bus{}, cluster.Options{Store: store, HeadInterval: 5 * time.Millisecond})
	sub := clustertest.SubscribeConfirmed(t, n, x)

	// Only x is watched: y's head never comes; and the head carries what
	// streams compare, not what the store said of some user.
	want := domain.HeadEvent(domain.ChannelState{Channel: x, LastSeq: 4, Removals: 2})
	for range 2 {
		if got := nextHead(t, sub); got != want {
			t.Fatalf("head %+v, want %+v", got, want)
		}
	}
	// Counted once the batch has been handed over, so maybe just after.
	if err := clustertest.Eventually(t.Context(), func(context.Context) error {
		if got := n.metric(t, "relay_notifier_heads_total"); got < 2 {
			return fmt.Errorf("heads_total = %v, want at least 2", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A store that fails is counted and retried; heads resume with it.
	store.set(domain.ChannelState{Channel: x, LastSeq: 5, Removals: 2}, domain.ErrUnavailable)
	if err := clustertest.Eventually(t.Context(), func(context.Context) error {
		if n.metric(t, "relay_notifier_head_check_failures_total") == 0 {
			return domain.ErrUnavailable
		}
		return nil
	}); err != nil {
		t.Fatalf("no failed head check counted: %v", err)
	}
	store.set(domain.ChannelState{Channel: x, LastSeq: 5, Removals: 2}, nil)
	for {
		if got := nextHead(t, sub); got.Head.LastSeq == 5 {
			break
		}
	}
}

func TestNoHeadsWithoutStore(t *testing.T) {
	t.Parallel()
	// In a bubble the twenty intervals pass at once, and deterministically:
	// every goroutine of the notifier has run by the time Sleep returns.
	synctest.Test(t, func(t *testing.T) {
		b := &bus{}
		n := newInstance(t, b, cluster.Options{HeadInterval: time.Millisecond})
		other := newInstance(t, b, cluster.Options{})
		ch := clustertest.NewChannel()
		sub := clustertest.SubscribeConfirmed(t, n, ch)
		time.Sleep(20 * time.Millisecond) // twenty intervals: any head would be queued by now
		synctest.Wait()
		expectNothingBefore(t, sub, other, clustertest.Message(ch, 1))
	})
}

// TestUnconfirmedChannelsResync checks that while the transport is not
// receiving a channel, local messages of it reach local subscribers as
// resyncs: a member removal published elsewhere meanwhile is lost, and
// only the store, which a resync makes the stream consult, knows of it.
func TestUnconfirmedChannelsResync(t *testing.T) {
	t.Parallel()
	n := newInstance(t, &bus{}, cluster.Options{})
	x, y, probe := clustertest.NewChannel(), clustertest.NewChannel(), clustertest.NewChannel()
	onX := clustertest.SubscribeConfirmed(t, n, x)
	onY := clustertest.SubscribeConfirmed(t, n, y)
	clustertest.SubscribeConfirmed(t, n, probe)
	publish(t, n, clustertest.Message(x, 1))
	expectMessage(t, onX, x, 1)

	n.transport.lose()
	if err := clustertest.Eventually(t.Context(), func(ctx context.Context) error {
		if n.metric(t, "relay_notifier_unconfirmed_publishes_total") > 0 {
			return nil
		}
		_ = n.Publish(ctx, clustertest.Message(probe, 1)) // until the loss is seen
		return domain.ErrUnavailable
	}); err != nil {
		t.Fatalf("local messages still handed over as they are after the loss: %v", err)
	}
	publish(t, n, clustertest.Message(x, 2))
	expectResync(t, onX, x)
	// A message that knows its channel's removals at commit (as SendMessage
	// publishes them) goes guarded instead: the stream needs the store only
	// if a removal came after its last access check.
	committed := domain.CommittedMessageEvent(clustertest.Message(x, 3).Message, 4)
	publish(t, n, committed)
	if ev := clustertest.Next(t, onX); ev.Kind != domain.EventGuardedMessage || ev.Message.Seq != 3 || ev.Head.Removals != 4 {
		t.Fatalf("an unconfirmed channel's committed message reached its subscriber as %s, want it guarded with 4 removals", describe(ev))
	}

	// x is received again: its resync comes first, then messages as they are.
	n.transport.confirm(x)
	expectResync(t, onX, x)
	expectHandedOver(t, n, onX, x, 4)
	// y is still unconfirmed, until a reconnect confirms every channel.
	publish(t, n, clustertest.Message(y, 2))
	expectResync(t, onY, y)
	n.transport.reconnect()
	expectResync(t, onY, y)
	expectHandedOver(t, n, onY, y, 3)
}

// expectHandedOver publishes messages of ch from seq on until one reaches
// sub as it is. The confirmation resyncs sub before it marks ch confirmed
// (so that no message overtakes the access check), and a message published
// in between still goes through the store: each publish brings sub exactly
// one event, a resync until the mark is set, then the message.
func expectHandedOver(t *testing.T, n instance, sub ports.Subscription, ch domain.ChannelID, seq int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ; time.Now().Before(deadline); seq++ {
		publish(t, n, clustertest.Message(ch, seq))
		switch ev := clustertest.Next(t, sub); {
		case ev.Kind == domain.EventMessage && ev.Message.Seq == seq:
			return
		case ev.Kind != domain.EventResync:
			t.Fatalf("received %s, want message %d of %s or a resync", describe(ev), seq, ch)
		}
	}
	t.Fatalf("messages of %s still reach subscribers as resyncs after its confirmation", ch)
}

// TestNewChannelUnconfirmedUntilSubscribed checks that a channel that has
// just gained its first local subscriber is not trusted before the
// transport confirms it: until the SUBSCRIBE or LISTEN is acknowledged, a
// member removal published elsewhere does not arrive, so local messages of
// the channel reach the subscriber as resyncs (an access check, then the
// store), exactly as during an outage.
func TestNewChannelUnconfirmedUntilSubscribed(t *testing.T) {
	t.Parallel()
	tr := (&bus{}).newTransport(0)
	tr.holdConfirms = true
	n := newInstanceOver(t, tr, cluster.Options{})
	x := clustertest.NewChannel()
	onX := clustertest.Subscribe(t, n, x)

	publish(t, n, clustertest.Message(x, 1))
	if ev := clustertest.Next(t, onX); ev.Kind != domain.EventResync || ev.Channel != x {
		t.Fatalf("before the transport confirmed %s, a local message reached its subscriber as %s, want a resync", x, describe(ev))
	}
	if got := n.metric(t, "relay_notifier_unconfirmed_publishes_total"); got != 1 {
		t.Fatalf("unconfirmed_publishes_total = %v, want 1", got)
	}

	// Confirmed: the confirmation's resync, then messages as they are.
	tr.confirm(x)
	expectResync(t, onX, x)
	expectHandedOver(t, n, onX, x, 2)
}
