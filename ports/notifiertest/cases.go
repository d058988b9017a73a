package notifiertest

import (
	"errors"
	"runtime"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

func testPing(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	if err := n.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testFanOut(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	ch, other := newChannel(), newChannel()
	// Publishing to a channel nobody listens to is not an error.
	publish(t, n, messageEvent(newChannel(), 1))

	subs := []ports.Subscription{subscribe(t, n, ch), subscribe(t, n, ch), subscribe(t, n, ch)}
	bystander := subscribe(t, n, other)
	ev := messageEvent(ch, 1)
	publish(t, n, ev)
	for _, sub := range subs {
		expect(t, sub, ev)
	}
	// Had the bystander received ev, it would come before the sentinel.
	sentinel := messageEvent(other, 1)
	publish(t, n, sentinel)
	expect(t, bystander, sentinel)
}

func testOrderPerChannel(t *testing.T, newNotifier Factory) {
	const count = 200
	// The queue holds every event, so that the test publishes all of them
	// before reading without risking a cut-off.
	n := newNotifier(t, Config{QueueSize: count + 16})
	ch := newChannel()
	sub := subscribe(t, n, ch)
	for seq := int64(1); seq <= count; seq++ {
		publish(t, n, messageEvent(ch, seq))
	}
	for seq := int64(1); seq <= count; seq++ {
		expect(t, sub, messageEvent(ch, seq))
	}
}

func testMultipleChannels(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	a, b := newChannel(), newChannel()
	sub := subscribe(t, n, a, b)
	evA, evB := messageEvent(a, 1), messageEvent(b, 1)
	publish(t, n, evA)
	publish(t, n, evB)
	// The order across channels is not part of the contract.
	want := []domain.Event{evA, evB}
	for range 2 {
		got := receive(t, sub)
		i := indexOf(want, got)
		if i < 0 {
			t.Fatalf("received %s, want one of %s and %s", describe(got), describe(evA), describe(evB))
		}
		want = append(want[:i], want[i+1:]...)
	}
}

func indexOf(events []domain.Event, ev domain.Event) int {
	for i, e := range events {
		if sameEvent(e, ev) {
			return i
		}
	}
	return -1
}

func testDuplicateChannel(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	ch := newChannel()
	sub := subscribe(t, n, ch, ch)
	first, second := messageEvent(ch, 1), messageEvent(ch, 2)
	publish(t, n, first)
	publish(t, n, second)
	expect(t, sub, first)
	expect(t, sub, second) // not first again
}

func testUnsubscribe(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	dropped, kept := newChannel(), newChannel()
	sub := subscribe(t, n, dropped, kept)
	publish(t, n, messageEvent(dropped, 1))
	expect(t, sub, messageEvent(dropped, 1))

	sub.Unsubscribe(dropped)
	// Had the dropped channel's event been delivered, it would come before
	// the one published after it on the kept channel.
	publish(t, n, messageEvent(dropped, 2))
	publish(t, n, messageEvent(kept, 1))
	expect(t, sub, messageEvent(kept, 1))
	publish(t, n, messageEvent(kept, 2))
	expect(t, sub, messageEvent(kept, 2))
	// Unsubscribing a channel twice, or one never subscribed, is harmless.
	sub.Unsubscribe(dropped, newChannel())
	assertLive(t, sub, "the")
}

func testClose(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	ch := newChannel()
	closed, open := subscribe(t, n, ch), subscribe(t, n, ch)
	publish(t, n, messageEvent(ch, 1))
	expect(t, closed, messageEvent(ch, 1))

	closed.Close()
	if err := waitDone(t, closed); err != nil {
		t.Fatalf("Err after Close = %v, want nil", err)
	}
	closed.Close() // a second Close is harmless
	closed.Unsubscribe(ch)
	if err := closed.Err(); err != nil {
		t.Fatalf("Err after a second Close = %v, want nil", err)
	}
	// Ready is never closed: a receive must not succeed with ok=false.
	select {
	case _, ok := <-closed.Ready():
		if !ok {
			t.Fatal("Ready was closed; the contract says watch Done")
		}
	default:
	}
	// The other subscriber of the channel carries on.
	publish(t, n, messageEvent(ch, 2))
	expect(t, open, messageEvent(ch, 1))
	expect(t, open, messageEvent(ch, 2))
}

func testReleasesGoroutines(t *testing.T, newNotifier Factory) {
	before := runtime.NumGoroutine()
	t.Run("lifecycle", func(t *testing.T) {
		n := newNotifier(t, Config{QueueSize: 16})
		a, b := newChannel(), newChannel()
		subs := []ports.Subscription{subscribe(t, n, a), subscribe(t, n, a, b), subscribe(t, n, b)}
		publish(t, n, messageEvent(a, 1))
		publish(t, n, messageEvent(b, 1))
		expect(t, subs[0], messageEvent(a, 1))
		receive(t, subs[1])
		receive(t, subs[1])
		expect(t, subs[2], messageEvent(b, 1))
		subs[1].Unsubscribe(a)
		if err := subs[2].Subscribe(a, newChannel()); err != nil {
			t.Fatalf("Subscription.Subscribe: %v", err)
		}
		subs[0].Close()
		// subs[1] and subs[2] are left for the cleanups, after the
		// notifier's own, to show that shutting down with live
		// subscriptions releases everything too.
	})
	// The subtest's cleanups have shut the notifier down.
	if err := waitGoroutines(before); err != nil {
		t.Fatal(err)
	}
}

func testSlowSubscriberCutOff(t *testing.T, newNotifier Factory) {
	const queue = 16
	n := newNotifier(t, Config{QueueSize: queue})
	ch := newChannel()
	slow := subscribe(t, n, ch) // never reads
	fast := subscribe(t, n, ch)

	// The fast subscriber reads each batch before the next is published,
	// so its queue never holds more than half its capacity: whatever the
	// notifier's delivery latency, only the slow one can fall behind.
	var seq int64
	batch := func() {
		t.Helper()
		first := seq + 1
		for range queue / 2 {
			seq++
			publish(t, n, messageEvent(ch, seq))
		}
		for s := first; s <= seq; s++ {
			expect(t, fast, messageEvent(ch, s))
		}
	}
	for seq < 2*queue { // well past the slow queue's capacity
		batch()
	}
	if err := waitDone(t, slow); !errors.Is(err, ports.ErrSlowSubscriber) {
		t.Fatalf("slow subscriber ended with %v, want %v", err, ports.ErrSlowSubscriber)
	}
	// What the slow subscriber did get is a prefix, in order, bounded by
	// its queue.
	held := drain(slow)
	if len(held) > queue {
		t.Fatalf("slow subscriber holds %d events, more than its queue of %d", len(held), queue)
	}
	for i, ev := range held {
		if want := messageEvent(ch, int64(i+1)); !sameEvent(ev, want) {
			t.Fatalf("slow subscriber's queue holds %s at %d, want %s", describe(ev), i, describe(want))
		}
	}
	// The fast subscriber carries on after the cut-off.
	for range 4 {
		batch()
	}
	assertLive(t, fast, "fast")
}

func testMemberRemoved(t *testing.T, newNotifier Factory) {
	n := newNotifier(t, Config{QueueSize: 16})
	ch := newChannel()
	sub := subscribe(t, n, ch)
	removed := domain.MemberRemovedEvent(ch, "u_bob")
	publish(t, n, messageEvent(ch, 1))
	publish(t, n, removed)
	publish(t, n, messageEvent(ch, 2))
	expect(t, sub, messageEvent(ch, 1))
	expect(t, sub, removed)
	expect(t, sub, messageEvent(ch, 2))
}
