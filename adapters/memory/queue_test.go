package memory_test

import (
	"testing"

	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

func seqsOf(evs []*domain.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Message.Seq
	}
	return out
}

func wantSeqs(t *testing.T, got []*domain.Event, from, to int64) {
	t.Helper()
	seqs := seqsOf(got)
	if len(seqs) != int(to-from+1) {
		t.Fatalf("took %v, want %d..%d", seqs, from, to)
	}
	for i, s := range seqs {
		if s != from+int64(i) {
			t.Fatalf("took %v, want %d..%d", seqs, from, to)
		}
	}
}

func ready(sub ports.Subscription) bool {
	select {
	case <-sub.Ready():
		return true
	default:
		return false
	}
}

// The queue keeps publish order while it grows and wraps around, holds
// no slots while empty, lets a burst's slots go once drained, and signals
// Ready again when a Take leaves events behind.
func TestQueueGrowsWrapsAndShrinks(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, memory.Options{QueueSize: 200})
	ch := domain.GroupChannel("grp_q")
	sub := subscribe(t, n, ch)
	if got := memory.QueueSlots(sub); got != 0 {
		t.Fatalf("an idle subscription holds %d slots, want 0", got)
	}
	if ready(sub) {
		t.Fatal("Ready with nothing queued")
	}
	publishRange := func(from, to int64) {
		for seq := from; seq <= to; seq++ {
			if err := n.Publish(t.Context(), event(ch, seq)); err != nil {
				t.Fatal(err)
			}
		}
	}

	publishRange(1, 5)
	if got := memory.QueueSlots(sub); got != 8 {
		t.Fatalf("5 queued in %d slots, want 8", got)
	}
	if !ready(sub) {
		t.Fatal("not Ready with 5 queued")
	}
	wantSeqs(t, sub.Take(nil, 3), 1, 3)
	if !ready(sub) {
		t.Fatal("a Take that left 2 did not signal Ready again")
	}
	publishRange(6, 10) // wraps around the 8 slots
	publishRange(11, 150)
	wantSeqs(t, sub.Take(nil, 64), 4, 67)
	if !ready(sub) { // the signal is taken, as a subscriber does
		t.Fatal("not Ready with 83 queued")
	}
	wantSeqs(t, sub.Take(nil, 1000), 68, 150)
	if ready(sub) {
		t.Fatal("Ready after a Take that left nothing")
	}
	if got := memory.QueueSlots(sub); got != 0 {
		t.Fatalf("a drained queue holds %d slots after a burst, want 0", got)
	}
	if got := sub.Take(nil, 10); len(got) != 0 {
		t.Fatalf("an empty queue gave %v", seqsOf(got))
	}

	// A small queue keeps its slots between batches.
	publishRange(151, 154)
	wantSeqs(t, sub.Take(nil, 64), 151, 154)
	if got := memory.QueueSlots(sub); got != 8 {
		t.Fatalf("a drained small queue holds %d slots, want its 8", got)
	}
}
