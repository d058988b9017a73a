package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/redis"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

const (
	lostLog     = "redis subscriber connection lost"
	failedLog   = "redis subscriber connection failed"
	restoredLog = "redis subscriber connection restored"
)

func expectMessage(t *testing.T, sub ports.Subscription, ch domain.ChannelID, seq int64) {
	t.Helper()
	ev := clustertest.Next(t, sub)
	if ev.Kind != domain.EventMessage || ev.Channel != ch || ev.Message.Seq != seq {
		t.Fatalf("received %+v, want message %d of %s", ev, seq, ch)
	}
}

func publish(t *testing.T, n ports.Notifier, ev domain.Event) {
	t.Helper()
	if err := n.Publish(t.Context(), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func logged(n node, prefix string, want int) func(context.Context) error {
	return func(context.Context) error {
		if got := n.logs.Count(prefix); got != want {
			return fmt.Errorf("%q logged %d times, want %d", prefix, got, want)
		}
		return nil
	}
}

func failing(ping func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := ping(ctx); err == nil {
			return errors.New("Ping succeeds")
		} else if !errors.Is(err, domain.ErrUnavailable) {
			return fmt.Errorf("Ping = %w, want ErrUnavailable", err)
		}
		return nil
	}
}

// TestSubscribesOnlyToWatchedChannels checks that an instance holds one
// Redis subscription per channel its own clients watch, and drops it
// after the last local subscriber leaves, whichever way.
func TestSubscribesOnlyToWatchedChannels(t *testing.T) {
	t.Parallel()
	c := admin(t)
	p := prefix()
	n := newNode(t, redis.Options{Prefix: p})
	x, y, z := clustertest.NewChannel(), clustertest.NewChannel(), clustertest.NewChannel()
	rx, ry, rz := n.transport.RedisChannel(x), n.transport.RedisChannel(y), n.transport.RedisChannel(z)

	x1 := clustertest.SubscribeConfirmed(t, n, x)
	x2 := clustertest.Subscribe(t, n, x)
	y1 := clustertest.SubscribeConfirmed(t, n, y)
	got, err := redisChannels(t.Context(), c, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[rx] || !got[ry] {
		t.Fatalf("PUBSUB CHANNELS = %v, want %s and %s", got, rx, ry)
	}
	counts, err := c.PubSubNumSub(t.Context(), rx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if counts[rx] != 1 {
		t.Fatalf("%s has %d Redis subscribers, want 1 for two local ones", rx, counts[rx])
	}

	x1.Close()
	y1.Close()
	// Changes are applied in order: once y is gone, x1's leaving has been
	// handled too, and x must still be there for x2.
	clustertest.Await(t, "y unsubscribed", func(ctx context.Context) error {
		got, err := redisChannels(ctx, c, p)
		if err != nil {
			return err
		}
		if got[ry] {
			return errors.New("y still subscribed")
		}
		if !got[rx] {
			t.Fatalf("x unsubscribed while x2 watches it: %v", got)
		}
		return nil
	})
	x2.Unsubscribe(x)
	clustertest.Await(t, "x unsubscribed", func(ctx context.Context) error {
		got, err := redisChannels(ctx, c, p)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return fmt.Errorf("still subscribed: %v", got)
		}
		return nil
	})

	// A subscriber that is cut off leaves too.
	slow := clustertest.Subscribe(t, n, z)
	for seq := int64(1); seq <= 64+2; seq++ {
		_ = n.Publish(t.Context(), clustertest.Message(z, seq))
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow subscriber not cut off")
	}
	clustertest.Await(t, "z unsubscribed after the cut-off", func(ctx context.Context) error {
		got, err := redisChannels(ctx, c, p)
		if err != nil {
			return err
		}
		if got[rz] {
			return errors.New("z still subscribed")
		}
		return nil
	})
}

// TestReconnectAfterClientKill kills an instance's subscriber connection
// in Redis: go-redis reconnects and resubscribes, the instance's
// subscribers get a resync, and messages flow again.
func TestReconnectAfterClientKill(t *testing.T) {
	t.Parallel()
	c := admin(t)
	p := prefix()
	a := newNode(t, redis.Options{Prefix: p})
	b := newNode(t, redis.Options{Prefix: p})
	ch, other := clustertest.NewChannel(), clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, b, ch, other)
	publish(t, a, clustertest.Message(ch, 1))
	expectMessage(t, sub, ch, 1)

	for round := range 2 { // a second outage is noticed and logged too
		id := pubsubClientID(t, c, b.name)
		if err := c.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", id, err)
		}
		// Both channels are resubscribed, each confirmation a resync.
		want := map[domain.ChannelID]bool{ch: true, other: true}
		for len(want) > 0 {
			ev := clustertest.ExpectKind(t, sub, domain.EventResync)
			delete(want, ev.Channel)
		}
		b.waitReady(t)
		clustertest.Await(t, "outage logged once", logged(b, lostLog, round+1))
		clustertest.Await(t, "recovery logged once", logged(b, restoredLog, round+1))
		if newID := pubsubClientID(t, c, b.name); newID == id {
			t.Fatalf("subscriber connection %s still there after CLIENT KILL", id)
		}
		seq := int64(round + 2)
		publish(t, a, clustertest.Message(ch, seq))
		expectMessage(t, sub, ch, seq)
	}
}

// TestOutage cuts one instance off Redis: its own subscribers are still
// served, it reports not ready, its messages reach the other instance once
// it is back, and its subscribers resync for what they missed.
func TestOutage(t *testing.T) {
	t.Parallel()
	base := redisURL(t)
	proxy := clustertest.StartProxy(t, hostOf(t, base))
	p := prefix()
	a := newNode(t, redis.Options{Prefix: p})
	b := newNode(t, redis.Options{Prefix: p, URL: withHost(t, base, proxy.Addr())})
	ch := clustertest.NewChannel()
	onA := clustertest.SubscribeConfirmed(t, a, ch)
	onB := clustertest.SubscribeConfirmed(t, b, ch)

	proxy.Cut()
	clustertest.Await(t, "b not ready while cut off", failing(b.Ping))
	publish(t, a, clustertest.Message(ch, 1)) // b misses it
	expectMessage(t, onA, ch, 1)
	if err := b.Publish(t.Context(), clustertest.Message(ch, 2)); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Publish on b while cut off = %v, want ErrUnavailable", err)
	}
	// Local delivery goes on, through the store: b may have missed a
	// member removal published on a, which a resync makes its streams
	// check before they read the message.
	if ev := clustertest.Next(t, onB); ev.Kind != domain.EventResync || ev.Channel != ch {
		t.Fatalf("b's subscriber got %+v while cut off, want a resync of %s", ev, ch)
	}

	proxy.Restore()
	// b missed message 1: the resync makes its streams read the store.
	clustertest.ExpectKind(t, onB, domain.EventResync)
	b.waitReady(t)
	// a learns of message 2 from b's re-publish.
	expectMessage(t, onA, ch, 2)
	publish(t, a, clustertest.Message(ch, 3))
	expectMessage(t, onB, ch, 3)
	clustertest.Await(t, "outage logged once", logged(b, lostLog, 1))
	clustertest.Await(t, "recovery logged once", logged(b, restoredLog, 1))
}

// TestHalfOpenConnection stalls an instance's connections without closing
// them: the health check notices, and the instance recovers once the
// network does.
func TestHalfOpenConnection(t *testing.T) {
	t.Parallel()
	base := redisURL(t)
	proxy := clustertest.StartProxy(t, hostOf(t, base))
	p := prefix()
	a := newNode(t, redis.Options{Prefix: p})
	pings := countPings(t, proxy.Addr())
	b := newNode(t, redis.Options{
		Prefix: p, URL: withHost(t, base, pings.addr()),
		HealthInterval: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
	})
	ch := clustertest.NewChannel()
	onB := clustertest.SubscribeConfirmed(t, b, ch)

	// Idle for several health checks, each PING answered: a quiet
	// connection is not a dead one. The subscriber sends a PING only once
	// the one before was answered or reported lost, so seven sent means
	// six were done with.
	from := pings.count()
	clustertest.Await(t, "six health checks of the idle connection", func(context.Context) error {
		if got := pings.count() - from; got < 7 {
			return fmt.Errorf("%d PINGs sent", got)
		}
		return nil
	})
	if got := b.logs.Count(lostLog); got != 0 {
		t.Fatalf("a healthy idle connection was reported lost %d times", got)
	}
	b.waitReady(t)

	proxy.Stall()
	// Only the health check can notice: nothing closes.
	clustertest.Await(t, "stalled connection noticed", logged(b, lostLog, 1))
	clustertest.Await(t, "b not ready while stalled", failing(b.Ping))

	proxy.Restore()
	clustertest.ExpectKind(t, onB, domain.EventResync)
	b.waitReady(t)
	publish(t, a, clustertest.Message(ch, 1))
	expectMessage(t, onB, ch, 1)
}

// TestUnreachableAtStart starts an instance while Redis cannot be reached:
// it starts, is not ready, serves local subscribers, and connects and
// subscribes once Redis is there.
func TestUnreachableAtStart(t *testing.T) {
	t.Parallel()
	base := redisURL(t)
	proxy := clustertest.StartProxy(t, hostOf(t, base))
	proxy.Cut()
	p := prefix()
	a := newNode(t, redis.Options{Prefix: p})
	b := newNode(t, redis.Options{Prefix: p, URL: withHost(t, base, proxy.Addr())})
	ch := clustertest.NewChannel()
	onB := clustertest.Subscribe(t, b, ch)
	clustertest.Await(t, "first failure logged", logged(b, failedLog, 1))
	if err := b.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping = %v, want ErrUnavailable", err)
	}

	proxy.Restore()
	clustertest.ExpectKind(t, onB, domain.EventResync)
	b.waitReady(t)
	publish(t, a, clustertest.Message(ch, 1))
	// The first connection may confirm ch twice (go-redis's resubscribe
	// and the sync loop's own SUBSCRIBE): a resync more is harmless.
	if ev := clustertest.NextMessage(t, onB); ev.Channel != ch || ev.Message.Seq != 1 {
		t.Fatalf("received %+v, want message 1 of %s", ev, ch)
	}
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestPublishBoundedWhenStalled black-holes an instance's connections
// (nothing closes, nothing is answered) and publishes: the PUBLISH must
// give up within PublishTimeout, not wait for go-redis's socket timeouts
// (made 30 s here, so that a publish that ignores its context cannot pass
// by luck), and the caller learns that the event did not go out.
func TestPublishBoundedWhenStalled(t *testing.T) {
	t.Parallel()
	base := redisURL(t)
	proxy := clustertest.StartProxy(t, hostOf(t, base))
	u, err := url.Parse(withHost(t, base, proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("read_timeout", "30s")
	q.Set("write_timeout", "30s")
	u.RawQuery = q.Encode()
	b := newNode(t, redis.Options{Prefix: prefix(), URL: u.String(), PublishTimeout: 200 * time.Millisecond})
	ch := clustertest.NewChannel()
	clustertest.SubscribeConfirmed(t, b, ch)
	publish(t, b, clustertest.Message(ch, 1)) // a pooled connection exists

	proxy.Stall()
	done := make(chan error, 1)
	go func() { done <- b.Publish(context.Background(), clustertest.Message(ch, 2)) }()
	// The bound is generous: it only tells "returns after its timeout"
	// from "hangs until the socket timeout or the proxy gives up".
	select {
	case err := <-done:
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("Publish while stalled = %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish while stalled still blocked after 5 s (PublishTimeout 200 ms): the context deadline is ignored")
	}
}

// pingCounter forwards TCP connections to a target and counts the PING
// commands the clients send through it.
type pingCounter struct {
	ln    net.Listener
	pings atomic.Int64
}

// countPings starts a pingCounter in front of target; it stops with t.
func countPings(t *testing.T, target string) *pingCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &pingCounter{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			closeBoth := func() { _ = client.Close(); _ = server.Close() }
			wg.Go(func() { defer closeBoth(); _, _ = io.Copy(client, server) })
			wg.Go(func() { defer closeBoth(); c.scan(client, server) })
		}
	})
	return c
}

func (c *pingCounter) addr() string { return c.ln.Addr().String() }
func (c *pingCounter) count() int64 { return c.pings.Load() }

// scan copies src to dst, counting the RESP commands PING in it; a command
// split across reads is counted too.
func (c *pingCounter) scan(src io.Reader, dst io.Writer) {
	cmd := []byte("\r\nping\r\n")
	var tail []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			seen := bytes.ToLower(append(tail, buf[:n]...))
			c.pings.Add(int64(bytes.Count(seen, cmd)))
			// Keep what could begin a command the next read completes,
			// never a whole one (it is counted).
			tail = append(tail[:0], seen[max(0, len(seen)-len(cmd)+1):]...)
		}
		if err != nil {
			return
		}
	}
}
