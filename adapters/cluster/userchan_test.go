package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/domain"
)

// TestAddedChannelUnconfirmedUntilSubscribed: a channel added to a
// subscription is watched and unconfirmed until the transport confirms
// it, exactly as a new subscription's channel: local messages meanwhile
// come as resyncs, the confirmation resyncs, then messages come as they
// are.
func TestAddedChannelUnconfirmedUntilSubscribed(t *testing.T) {
	t.Parallel()
	tr := (&bus{}).newTransport(0)
	tr.holdConfirms = true
	n := newInstanceOver(t, tr, cluster.Options{})
	x := clustertest.NewChannel()
	sub := clustertest.Subscribe(t, n)
	if err := sub.Subscribe(x); err != nil {
		t.Fatal(err)
	}
	if calls := tr.takeCalls(); !slices.Equal(calls, []string{"+" + x.String()}) {
		t.Fatalf("transport calls %q, want a Watch of %s", calls, x)
	}
	if n.Receiving(x) {
		t.Fatalf("%s counts as received before the transport confirmed it", x)
	}
	publish(t, n, clustertest.Message(x, 1))
	expectResync(t, sub, x)

	tr.confirm(x)
	expectResync(t, sub, x)
	expectHandedOver(t, n, sub, x, 2)

	sub.Unsubscribe(x)
	if calls := tr.takeCalls(); !slices.Equal(calls, []string{"-" + x.String()}) {
		t.Fatalf("transport calls %q, want an Unwatch of %s", calls, x)
	}
}

// TestUserChannelAcrossInstances: user-log events cross the transport, a
// confirmation resyncs a user channel like any other (for a stream: re-read
// the user's log), and a local user-log event is handed over as it is even
// before the confirmation, since it grants no access to anything.
func TestUserChannelAcrossInstances(t *testing.T) {
	t.Parallel()
	b := &bus{}
	tr := b.newTransport(0)
	tr.holdConfirms = true
	n := newInstanceOver(t, tr, cluster.Options{})
	other := newInstance(t, b, cluster.Options{})
	u := domain.UserChannel("auth|a:b/c%2F")
	conv := clustertest.NewChannel()
	sub := clustertest.Subscribe(t, n, u)

	local := domain.MemberJoinedEvent("auth|a:b/c%2F", conv, 1)
	publish(t, n, local)
	if ev := clustertest.Next(t, sub); ev != local {
		t.Fatalf("received %+v, want the local event as it is", ev)
	}
	tr.confirm(u)
	expectResync(t, sub, u)
	remote := domain.ReadMovedEvent("auth|a:b/c%2F", conv, 9, 2)
	publish(t, other, remote)
	if ev := clustertest.NextMessage(t, sub); ev != remote {
		t.Fatalf("received %+v, want %+v from the other instance", ev, remote)
	}
	// Reconnected resyncs user channels too.
	n.transport.reconnect()
	expectResync(t, sub, u)
}

// TestPendingUserLogEventsCoalesce: while the transport fails, a user
// channel's events stand for each other (each says "re-read the log"):
// only the one of the highest user seq is kept, and re-published.
func TestPendingUserLogEventsCoalesce(t *testing.T) {
	t.Parallel()
	b := &bus{}
	a := newInstance(t, b, cluster.Options{})
	remote := newInstance(t, b, cluster.Options{})
	u, conv := domain.UserChannel("u_alice"), clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, remote, u)

	b.setDown(true)
	for _, ev := range []domain.Event{
		domain.MemberJoinedEvent("u_alice", conv, 1),
		domain.ReadMovedEvent("u_alice", conv, 3, 3), // a concurrent publisher's, failing first
		domain.ReadMovedEvent("u_alice", conv, 2, 2),
	} {
		if err := a.Publish(t.Context(), ev); err == nil {
			t.Fatal("Publish while down succeeded")
		}
	}
	if got := a.metric(t, "relay_notifier_pending_events"); got != 1 {
		t.Fatalf("pending = %v, want 1", got)
	}
	b.setDown(false)
	want := domain.ReadMovedEvent("u_alice", conv, 3, 3)
	if ev := clustertest.NextMessage(t, sub); ev != want {
		t.Fatalf("re-published %+v, want %+v", ev, want)
	}
}

// recordingStore is a Store that records the channels asked for.
type recordingStore struct {
	mu    sync.Mutex
	asked []domain.ChannelID
}

func (s *recordingStore) ChannelStates(_ context.Context, channels []domain.ChannelID, _ domain.UserID) ([]domain.ChannelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, channels...)
	out := make([]domain.ChannelState, 0, len(channels))
	for _, ch := range channels {
		out = append(out, domain.ChannelState{Channel: ch, LastSeq: 1})
	}
	return out, nil
}

func (s *recordingStore) channels() []domain.ChannelID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

// TestNoHeadsOfUserChannels: the head check asks the store about the
// watched conversations only; a user's log has no head there.
func TestNoHeadsOfUserChannels(t *testing.T) {
	t.Parallel()
	store := &recordingStore{}
	n := newInstance(t, &bus{}, cluster.Options{Store: store, HeadInterval: 2 * time.Millisecond})
	x, u := clustertest.NewChannel(), domain.UserChannel("u_bob")
	sub := clustertest.SubscribeConfirmed(t, n, x, u)
	if head := nextHead(t, sub); head.Channel != x {
		t.Fatalf("head of %s, want %s", head.Channel, x)
	}
	if err := clustertest.Eventually(t.Context(), func(context.Context) error {
		asked := store.channels()
		if slices.Contains(asked, u) {
			return fmt.Errorf("store asked for %s", u)
		}
		if !slices.Contains(asked, x) {
			return fmt.Errorf("store not asked for %s", x)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
