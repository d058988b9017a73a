package memory_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// TestSubscribeOnWatch checks that a channel added to a subscription is
// reported to OnWatch when it is its first subscriber, as for a new
// subscription, and released on Unsubscribe and Close.
func TestSubscribeOnWatch(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		log []string
	)
	n := newNotifier(t, memory.Options{OnWatch: func(ch domain.ChannelID, watched bool) {
		mu.Lock()
		defer mu.Unlock()
		state := "-"
		if watched {
			state = "+"
		}
		log = append(log, state+ch.String())
	}})
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := log
		log = nil
		return out
	}
	a, u := domain.GroupChannel("grp_a"), domain.UserChannel("u:1")
	other := subscribe(t, n, a)
	sub := subscribe(t, n)
	taken()
	if err := sub.Subscribe(a, u); err != nil {
		t.Fatal(err)
	}
	if got := taken(); !slices.Equal(got, []string{"+user:u:1"}) {
		t.Fatalf("after adding a (watched already) and u: %q, want u watched", got)
	}
	if got := memory.SubscriberCount(n, a); got != 2 {
		t.Fatalf("a has %d subscribers, want 2", got)
	}
	sub.Unsubscribe(u)
	if got := taken(); !slices.Equal(got, []string{"-user:u:1"}) {
		t.Fatalf("after unsubscribing u: %q", got)
	}
	if err := sub.Subscribe(u); err != nil {
		t.Fatal(err)
	}
	taken()
	sub.Close()
	if got := taken(); !slices.Equal(got, []string{"-user:u:1"}) {
		t.Fatalf("after Close: %q, want u released", got)
	}
	if got := memory.SubscriberCount(n, a); got != 1 {
		t.Fatalf("a has %d subscribers after Close, want 1", got)
	}
	other.Close()
	if got := memory.LiveSubscriptions(n); got != 0 {
		t.Fatalf("%d live subscriptions, want 0", got)
	}
}

// TestSubscribeAfterEnd checks that a subscription cut off or shut down
// cannot grow, and says why.
func TestSubscribeAfterEnd(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{QueueSize: 1})
	ch := domain.DMChannel("dm_a")
	slow := subscribe(t, n, ch)
	for seq := range int64(2) {
		if err := n.Publish(context.Background(), event(ch, seq+1)); err != nil {
			t.Fatal(err)
		}
	}
	err := slow.Subscribe(domain.DMChannel("dm_b"))
	if !errors.Is(err, ports.ErrSubscriptionEnded) || !errors.Is(err, ports.ErrSlowSubscriber) {
		t.Fatalf("Subscribe after a cut-off = %v, want %v and %v", err, ports.ErrSubscriptionEnded, ports.ErrSlowSubscriber)
	}
	if got := memory.SubscriberCount(n, domain.DMChannel("dm_b")); got != 0 {
		t.Fatalf("dm_b has %d subscribers, want 0", got)
	}
	live := subscribe(t, n)
	n.Close()
	if err := live.Subscribe(ch); !errors.Is(err, ports.ErrNotifierClosed) || !errors.Is(err, ports.ErrSubscriptionEnded) {
		t.Fatalf("Subscribe after the notifier closed = %v", err)
	}
}

// TestSubscribeWhileClosing races growing subscriptions with their end:
// no channel may stay listed for a subscription that has ended.
func TestSubscribeWhileClosing(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{QueueSize: 4})
	channels := []domain.ChannelID{domain.DMChannel("dm_1"), domain.GroupChannel("grp_2"), domain.UserChannel("u_3")}
	var wg sync.WaitGroup
	for range 50 {
		sub := subscribe(t, n)
		wg.Go(func() {
			for _, ch := range channels {
				_ = sub.Subscribe(ch)
			}
		})
		wg.Go(sub.Close)
		wg.Go(func() { _ = n.Publish(context.Background(), event(channels[0], 1)) })
	}
	wg.Wait()
	for _, ch := range channels {
		if got := memory.SubscriberCount(n, ch); got != 0 {
			t.Fatalf("%s has %d subscribers after every subscription closed", ch, got)
		}
	}
	if got := memory.LiveSubscriptions(n); got != 0 {
		t.Fatalf("%d live subscriptions, want 0", got)
	}
}
