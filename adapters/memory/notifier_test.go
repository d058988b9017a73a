package memory_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/notifiertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newNotifier(t testing.TB, opts memory.Options) *memory.Notifier {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := memory.NewNotifier(opts)
	t.Cleanup(n.Close)
	return n
}

func subscribe(t testing.TB, n ports.Notifier, channels ...domain.ChannelID) ports.Subscription {
	t.Helper()
	sub, err := n.Subscribe(context.Background(), channels)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func event(ch domain.ChannelID, seq int64) domain.Event {
	return domain.MessageEvent(domain.Message{ID: "msg_x", Channel: ch, Seq: seq, SenderID: "u_a", Content: "hi"})
}

func drain(sub ports.Subscription) []int64 {
	var seqs []int64
	for {
		ev, ok := notifiertest.TakeOne(sub)
		if !ok {
			return seqs
		}
		seqs = append(seqs, ev.Message.Seq)
	}
}

func isDone(sub ports.Subscription) bool {
	select {
	case <-sub.Done():
		return true
	default:
		return false
	}
}

func TestContract(t *testing.T) {
	notifiertest.Run(t, func(t *testing.T, cfg notifiertest.Config) ports.Notifier {
		return newNotifier(t, memory.Options{QueueSize: cfg.QueueSize})
	})
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       memory.Options
		wantQueue  int
		wantShards int
	}{
		{"zero", memory.Options{}, memory.DefaultQueueSize, memory.DefaultShards},
		{"negative", memory.Options{QueueSize: -1, Shards: -1}, memory.DefaultQueueSize, memory.DefaultShards},
		{"power of two", memory.Options{QueueSize: 8, Shards: 16}, 8, 16},
		{"rounded up", memory.Options{QueueSize: 3, Shards: 5}, 3, 8},
		{"one shard", memory.Options{QueueSize: 1, Shards: 1}, 1, 1},
		{"capped", memory.Options{Shards: 1 << 30}, memory.DefaultQueueSize, 1 << 16},
		{"huge", memory.Options{Shards: math.MaxInt}, memory.DefaultQueueSize, 1 << 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNotifier(t, tt.opts)
			if got := memory.ShardCount(n); got != tt.wantShards {
				t.Errorf("shards = %d, want %d", got, tt.wantShards)
			}
			// The queue holds wantQueue events; one more cuts its
			// subscriber off.
			ch := domain.GroupChannel("grp_1")
			sub := subscribe(t, n, ch)
			for seq := range int64(tt.wantQueue) {
				_ = n.Publish(t.Context(), event(ch, seq+1))
			}
			if isDone(sub) {
				t.Fatalf("cut off with %d events queued, want a queue of %d", tt.wantQueue, tt.wantQueue)
			}
			_ = n.Publish(t.Context(), event(ch, int64(tt.wantQueue)+1))
			if !isDone(sub) || !errors.Is(sub.Err(), ports.ErrSlowSubscriber) {
				t.Fatalf("not cut off with %d events queued: %v", tt.wantQueue+1, sub.Err())
			}
		})
	}
}

func TestSubscribeWithCanceledContext(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.Subscribe(ctx, []domain.ChannelID{domain.GroupChannel("grp_1")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe = %v, want context.Canceled", err)
	}
	if got := memory.LiveSubscriptions(n); got != 0 {
		t.Fatalf("%d live subscriptions, want 0", got)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{})
	a, b := domain.GroupChannel("grp_a"), domain.DMChannel("dm_b")
	subs := []ports.Subscription{subscribe(t, n, a), subscribe(t, n, a, b), subscribe(t, n)}

	n.Close()
	for i, sub := range subs {
		if !isDone(sub) {
			t.Fatalf("subscription %d: Done not closed when Close returned", i)
		}
		if err := sub.Err(); !errors.Is(err, ports.ErrNotifierClosed) {
			t.Fatalf("subscription %d: Err = %v, want ErrNotifierClosed", i, err)
		}
	}
	if _, err := n.Subscribe(context.Background(), []domain.ChannelID{a}); !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, ports.ErrNotifierClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrUnavailable and ErrNotifierClosed", err)
	}
	if err := n.Publish(context.Background(), event(a, 1)); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Publish after Close = %v, want ErrUnavailable", err)
	}
	if seqs := drain(subs[0]); len(seqs) != 0 {
		t.Fatalf("Publish after Close delivered %v", seqs)
	}
	if err := n.Ping(context.Background()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
	n.Close() // idempotent
	subs[0].Close()
	if err := subs[0].Err(); !errors.Is(err, ports.ErrNotifierClosed) {
		t.Fatalf("Err after Close of a subscription the notifier ended = %v, want ErrNotifierClosed", err)
	}
	if got := memory.LiveSubscriptions(n); got != 0 {
		t.Fatalf("%d live subscriptions after Close, want 0", got)
	}
	for _, ch := range []domain.ChannelID{a, b} {
		if got := memory.SubscriberCount(n, ch); got != 0 {
			t.Fatalf("%d subscribers of %s after Close, want 0", got, ch)
		}
	}
}

// TestCutOff checks what the contract suite can only wait for: the cut-off
// happens in the Publish that overflows the queue, and removes the
// subscriber from all its channels.
func TestCutOff(t *testing.T) {
	t.Parallel()
	const queue = 4
	n := newNotifier(t, memory.Options{QueueSize: queue})
	a, b := domain.GroupChannel("grp_a"), domain.GroupChannel("grp_b")
	slow := subscribe(t, n, a, b)
	bystander := subscribe(t, n, b)

	for seq := int64(1); seq <= queue; seq++ {
		if err := n.Publish(context.Background(), event(a, seq)); err != nil {
			t.Fatal(err)
		}
	}
	if isDone(slow) || slow.Err() != nil {
		t.Fatalf("cut off with a full but not overflowing queue: %v", slow.Err())
	}
	if err := n.Publish(context.Background(), event(a, queue+1)); err != nil {
		t.Fatal(err)
	}
	if !isDone(slow) {
		t.Fatal("Done not closed when the overflowing Publish returned")
	}
	if err := slow.Err(); !errors.Is(err, ports.ErrSlowSubscriber) {
		t.Fatalf("Err = %v, want ErrSlowSubscriber", err)
	}
	if got, want := memory.SubscriberCount(n, a), 0; got != want {
		t.Fatalf("%d subscribers of a, want %d", got, want)
	}
	if got, want := memory.SubscriberCount(n, b), 1; got != want {
		t.Fatalf("%d subscribers of b, want %d (the bystander)", got, want)
	}
	if got := drain(slow); len(got) != queue || got[0] != 1 || got[queue-1] != queue {
		t.Fatalf("slow queue held %v, want 1..%d", got, queue)
	}

	if err := n.Publish(context.Background(), event(b, 1)); err != nil {
		t.Fatal(err)
	}
	if got := drain(slow); len(got) != 0 {
		t.Fatalf("cut-off subscriber received %v", got)
	}
	if got := drain(bystander); len(got) != 1 {
		t.Fatalf("bystander received %v, want one event", got)
	}
	slow.Close()
	if err := slow.Err(); !errors.Is(err, ports.ErrSlowSubscriber) {
		t.Fatalf("Err after Close = %v, want ErrSlowSubscriber still", err)
	}
	if got, want := memory.LiveSubscriptions(n), 1; got != want {
		t.Fatalf("%d live subscriptions, want %d", got, want)
	}
}

// TestUnsubscribeWhilePublishing checks that once Unsubscribe returns,
// a publisher running concurrently enqueues nothing more. Other subscribers
// registered first make each Publish spend most of its time reaching the
// one that unsubscribes, which widens the window a publisher working from a
// stale list of subscribers would need; rounds make hitting it likely.
func TestUnsubscribeWhilePublishing(t *testing.T) {
	t.Parallel()
	const (
		rounds = 5
		count  = 200
		others = 200
	)
	n := newNotifier(t, memory.Options{QueueSize: count})
	ch := domain.GroupChannel("grp_a")
	fillers := make([]ports.Subscription, others)
	for i := range fillers {
		fillers[i] = subscribe(t, n, ch)
	}
	for round := range rounds {
		sub := subscribe(t, n, ch)
		var wg sync.WaitGroup
		wg.Go(func() {
			for seq := int64(1); seq <= count; seq++ {
				_ = n.Publish(context.Background(), event(ch, seq))
			}
		})
		first, _ := notifiertest.Await(sub, nil) // the publisher is running
		sub.Unsubscribe(ch)
		before := append([]int64{first.Message.Seq}, drain(sub)...)
		wg.Wait()
		if after := drain(sub); len(after) != 0 {
			t.Fatalf("round %d: %d events enqueued after Unsubscribe returned (first %d)", round, len(after), after[0])
		}
		for i, seq := range before {
			if seq != int64(i+1) {
				t.Fatalf("round %d: received seq %d at position %d: out of order", round, seq, i)
			}
		}
		if isDone(sub) {
			t.Fatalf("round %d: subscription ended: %v", round, sub.Err())
		}
		for _, f := range fillers {
			drain(f)
		}
	}
}

// TestConcurrentUse runs publishers, subscribers that read, unsubscribe,
// close or fall behind, and a final Close all at once, for the race
// detector; then checks that nothing is left registered.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	const (
		publishers      = 3
		publishesEach   = 3000
		subscribers     = 4
		subscribesEach  = 150
		channelCount    = 8
		maxSubsPerRound = 3
	)
	n := newNotifier(t, memory.Options{QueueSize: 8, Shards: 4})
	channels := make([]domain.ChannelID, channelCount)
	for i := range channels {
		channels[i] = domain.GroupChannel(domain.ConversationID("grp_" + string(rune('a'+i))))
	}

	var (
		pubs, subs sync.WaitGroup
		mu         sync.Mutex
		kept       []ports.Subscription // left open for the notifier's Close
	)
	for p := range publishers {
		pubs.Go(func() {
			rng := rand.New(rand.NewPCG(1, uint64(p)))
			for seq := int64(1); seq <= publishesEach; seq++ {
				// Errors are expected once Close has run.
				_ = n.Publish(context.Background(), event(channels[rng.IntN(channelCount)], seq))
			}
		})
	}
	for s := range subscribers {
		subs.Go(func() {
			rng := rand.New(rand.NewPCG(2, uint64(s)))
			for range subscribesEach {
				chs := make([]domain.ChannelID, 1+rng.IntN(maxSubsPerRound))
				for i := range chs {
					chs[i] = channels[rng.IntN(channelCount)] // duplicates welcome
				}
				sub, err := n.Subscribe(context.Background(), chs)
				if err != nil {
					t.Errorf("Subscribe: %v", err)
					return
				}
				drain(sub)
				switch rng.IntN(4) {
				case 0:
					sub.Unsubscribe(chs[0])
					drain(sub)
					sub.Close()
				case 1:
					sub.Close()
				case 2: // never reads again: likely cut off
					mu.Lock()
					kept = append(kept, sub)
					mu.Unlock()
				case 3:
					sub.Unsubscribe(chs...)
					sub.Close()
					sub.Close()
				}
			}
		})
	}
	subs.Wait()
	n.Close() // while the publishers may still run
	pubs.Wait()

	for i, sub := range kept {
		if !isDone(sub) {
			t.Fatalf("kept subscription %d still running after Close", i)
		}
		if err := sub.Err(); !errors.Is(err, ports.ErrSlowSubscriber) && !errors.Is(err, ports.ErrNotifierClosed) {
			t.Fatalf("kept subscription %d ended with %v", i, err)
		}
	}
	if got := memory.LiveSubscriptions(n); got != 0 {
		t.Fatalf("%d live subscriptions after Close", got)
	}
	for _, ch := range channels {
		if got := memory.SubscriberCount(n, ch); got != 0 {
			t.Fatalf("%d subscribers of %s after Close", got, ch)
		}
	}
}

// TestOnWatch checks that OnWatch reports a channel's first subscriber and
// its last leaving, whichever way it leaves (unsubscribe, close, cut-off).
func TestOnWatch(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		log []string
	)
	n := newNotifier(t, memory.Options{QueueSize: 1, OnWatch: func(ch domain.ChannelID, watched bool) {
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
	a, b := domain.DMChannel("dm_a"), domain.GroupChannel("grp_b")

	first := subscribe(t, n, a, b)
	second := subscribe(t, n, a)
	if got := taken(); !slices.Equal(got, []string{"+dm:dm_a", "+group:grp_b"}) && !slices.Equal(got, []string{"+group:grp_b", "+dm:dm_a"}) {
		t.Fatalf("after two subscriptions: %q, want each channel watched once", got)
	}
	first.Unsubscribe(b)
	if got := taken(); !slices.Equal(got, []string{"-group:grp_b"}) {
		t.Fatalf("after the last subscriber of b left: %q", got)
	}
	first.Close()
	if got := taken(); len(got) != 0 {
		t.Fatalf("a still has a subscriber, got %q", got)
	}
	// The second subscription's queue holds one event: two cut it off.
	for seq := range int64(2) {
		if err := n.Publish(context.Background(), event(a, seq+1)); err != nil {
			t.Fatal(err)
		}
	}
	if !isDone(second) {
		t.Fatal("the subscriber was not cut off")
	}
	if got := taken(); !slices.Equal(got, []string{"-dm:dm_a"}) {
		t.Fatalf("after the last subscriber of a was cut off: %q", got)
	}
}

// TestCrowded: the queue tells once it passes half its capacity, and
// not before.
func TestCrowded(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{QueueSize: 16})
	ch := domain.GroupChannel("grp_crowd")
	sub := subscribe(t, n, ch)
	publishSeqs := func(from, to int64) {
		for seq := from; seq <= to; seq++ {
			if err := n.Publish(t.Context(), domain.MessageEvent(domain.Message{ID: "m", Channel: ch, Seq: seq})); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishSeqs(1, 8) // half: not crowded yet
	select {
	case <-sub.Crowded():
		t.Fatal("crowded at half the queue")
	default:
	}
	publishSeqs(9, 9)
	select {
	case <-sub.Crowded():
	default:
		t.Fatal("not crowded past half the queue")
	}
}
