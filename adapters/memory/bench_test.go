package memory_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// window is how many events a benchmark publishes to a channel before it
// waits for that channel's readers to catch up. It is well under the queue
// size, so that no reader is ever cut off however the two cores are
// scheduled: the numbers measure sustained fan-out, publish and delivery
// together, not a burst into empty queues.
const window = memory.DefaultQueueSize / 4

// reader drains sub until it ends, calling caughtUp after the last event of
// each window.
func reader(sub ports.Subscription, caughtUp func()) {
	var batch []*domain.Event
	for {
		select {
		case <-sub.Ready():
			batch = sub.Take(batch[:0], 64)
			for _, ev := range batch {
				if ev.Message.Seq%window == 0 {
					caughtUp()
				}
			}
		case <-sub.Done():
			return
		}
	}
}

func benchEvent(ch domain.ChannelID, seq int64) domain.Event {
	return domain.MessageEvent(domain.Message{
		ID: "msg_01jbench", Channel: ch, Seq: seq, SenderID: "u_alice",
		Content: "hello, world", CreatedAt: time.Now().UTC(),
	})
}

func BenchmarkPublish(b *testing.B) {
	for _, subscribers := range []int{0, 1, 100, 1000} {
		b.Run("subscribers="+strconv.Itoa(subscribers), func(b *testing.B) {
			n := newNotifier(b, memory.Options{})
			ch := domain.GroupChannel("grp_bench")
			var (
				readers sync.WaitGroup
				pending sync.WaitGroup // readers yet to finish the window
			)
			// Cleanups run last registered first: the readers are waited
			// for after their subscriptions are closed.
			b.Cleanup(readers.Wait)
			for range subscribers {
				sub := subscribe(b, n, ch)
				readers.Go(func() { reader(sub, pending.Done) })
			}
			ev := benchEvent(ch, 0)
			ctx := context.Background()

			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if i%window == 1 || window == 1 {
					pending.Add(subscribers)
				}
				ev.Message.Seq = int64(i)
				if err := n.Publish(ctx, ev); err != nil {
					b.Fatal(err)
				}
				if i%window == 0 {
					pending.Wait()
				}
			}
			b.StopTimer()
			if subscribers > 0 {
				b.ReportMetric(float64(b.N*subscribers)/b.Elapsed().Seconds(), "deliveries/s")
			}
		})
	}
}

// BenchmarkPublishParallel publishes from every core to many channels at
// once, to show that publishers of different channels do not contend.
func BenchmarkPublishParallel(b *testing.B) {
	const channelsPerWorker = 64
	for _, subscribers := range []int{0, 1} {
		b.Run(fmt.Sprintf("channels=%d/subscribers=%d", channelsPerWorker*runtime.GOMAXPROCS(0), subscribers), func(b *testing.B) {
			n := newNotifier(b, memory.Options{})
			var readers sync.WaitGroup
			b.Cleanup(readers.Wait) // after the subscriptions' cleanups

			// Each RunParallel worker owns a group of channels and waits
			// only for its own readers.
			type group struct {
				channels []domain.ChannelID
				pending  sync.WaitGroup
			}
			groups := make([]*group, runtime.GOMAXPROCS(0))
			for w := range groups {
				g := &group{}
				for c := range channelsPerWorker {
					ch := domain.GroupChannel(domain.ConversationID(fmt.Sprintf("grp_%d_%d", w, c)))
					g.channels = append(g.channels, ch)
					for range subscribers {
						sub := subscribe(b, n, ch)
						readers.Go(func() { reader(sub, g.pending.Done) })
					}
				}
				groups[w] = g
			}
			var next atomic.Int32
			ctx := context.Background()

			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				g := groups[int(next.Add(1)-1)%len(groups)]
				evs := make([]domain.Event, len(g.channels))
				for c, ch := range g.channels {
					evs[c] = benchEvent(ch, 0)
				}
				for i := 0; pb.Next(); i++ {
					c := i % len(evs)
					if c == 0 && (i/len(evs))%window == 0 {
						g.pending.Add(subscribers * len(evs))
					}
					evs[c].Message.Seq = int64(i/len(evs) + 1)
					if err := n.Publish(ctx, evs[c]); err != nil {
						b.Error(err)
						return
					}
					if c == len(evs)-1 && evs[c].Message.Seq%window == 0 {
						g.pending.Wait()
					}
				}
			})
		})
	}
}

// BenchmarkSubscribeClose measures the cost of a subscription's life,
// dominated by its queue: QueueSize events of domain.Event size each.
func BenchmarkSubscribeClose(b *testing.B) {
	n := newNotifier(b, memory.Options{})
	channels := []domain.ChannelID{domain.GroupChannel("grp_a"), domain.DMChannel("dm_b")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sub, err := n.Subscribe(ctx, channels)
		if err != nil {
			b.Fatal(err)
		}
		sub.Close()
	}
}
