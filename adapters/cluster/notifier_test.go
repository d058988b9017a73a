package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type instance struct {
	*cluster.Notifier
	transport *fakeTransport
	reg       *prometheus.Registry
}

func newInstance(t *testing.T, b *bus, opts cluster.Options) instance {
	t.Helper()
	return newInstanceOver(t, b.newTransport(0), opts)
}

func newInstanceOver(t *testing.T, tr *fakeTransport, opts cluster.Options) instance {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 5 * time.Millisecond
	}
	n, err := cluster.NewNotifier(tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return instance{Notifier: n, transport: tr, reg: reg}
}

func (in instance) metric(t *testing.T, name string) float64 {
	t.Helper()
	families, err := in.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func publish(t *testing.T, n ports.Notifier, ev domain.Event) {
	t.Helper()
	if err := n.Publish(t.Context(), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func expectMessage(t *testing.T, sub ports.Subscription, ch domain.ChannelID, seq int64) {
	t.Helper()
	ev := clustertest.NextMessage(t, sub)
	if ev.Kind != domain.EventMessage || ev.Channel != ch || ev.Message.Seq != seq {
		t.Fatalf("received %s, want message %d of %s", describe(ev), seq, ch)
	}
}

func expectResync(t *testing.T, sub ports.Subscription, ch domain.ChannelID) {
	t.Helper()
	ev := clustertest.Next(t, sub)
	if ev.Kind != domain.EventResync || ev.Channel != ch {
		t.Fatalf("received %s, want a resync of %s", describe(ev), ch)
	}
}

// expectNothingBefore fails unless the next event of sub is the message
// that publishing sentinel (on another instance) brings.
func expectNothingBefore(t *testing.T, sub ports.Subscription, publisher ports.Notifier, sentinel domain.Event) {
	t.Helper()
	publish(t, publisher, sentinel)
	expectMessage(t, sub, sentinel.Channel, sentinel.Message.Seq)
}

func describe(ev domain.Event) string {
	switch ev.Kind {
	case domain.EventMessage:
		return fmt.Sprintf("message %s seq %d", ev.Channel, ev.Message.Seq)
	case domain.EventGuardedMessage:
		return fmt.Sprintf("guarded message %s seq %d after %d removals", ev.Channel, ev.Message.Seq, ev.Head.Removals)
	case domain.EventResync:
		return "resync " + ev.Channel.String()
	case domain.EventMemberRemoved:
		return "removal of " + string(ev.UserID) + " from " + ev.Channel.String()
	}
	return "unknown event"
}

func TestContractOverFakeTransport(t *testing.T) {
	b := &bus{}
	clustertest.Run(t, func(*testing.T, string) cluster.Transport { return b.newTransport(0) })
}

func TestLocalDeliveryWhileTransportDown(t *testing.T) {
	t.Parallel()
	b := &bus{}
	n := newInstance(t, b, cluster.Options{RetryInterval: time.Hour})
	ch := clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, n, ch)
	b.setDown(true)

	err := n.Publish(t.Context(), clustertest.Message(ch, 1))
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Publish while down = %v, want ErrUnavailable", err)
	}
	expectMessage(t, sub, ch, 1)
	if err := n.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping while down = %v, want ErrUnavailable", err)
	}
	// Later events queue behind the first without trying the transport,
	// so that a publisher does not wait for a failing transport each time.
	if err := n.Publish(t.Context(), clustertest.Message(ch, 2)); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("second Publish while down = %v, want ErrUnavailable", err)
	}
	expectMessage(t, sub, ch, 2)
	if attempts, _ := n.transport.stats(); attempts != 1 {
		t.Fatalf("transport tried %d times, want 1", attempts)
	}
	if got := n.metric(t, "relay_notifier_publish_failures_total"); got != 2 {
		t.Fatalf("publish failures = %v, want 2", got)
	}
}

func TestPendingRepublishedAfterRecovery(t *testing.T) {
	t.Parallel()
	b := &bus{}
	a := newInstance(t, b, cluster.Options{})
	remote := newInstance(t, b, cluster.Options{})
	busy, quietCh, grp := clustertest.NewChannel(), clustertest.NewChannel(), clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, remote, busy, quietCh, grp)

	b.setDown(true)
	for _, ev := range []domain.Event{
		clustertest.Message(busy, 1),
		domain.MemberRemovedEvent(grp, "u_bob"),
		clustertest.Message(quietCh, 1),
		clustertest.Message(busy, 3), // a concurrent publisher's, failing first
		clustertest.Message(busy, 2),
		clustertest.Message(grp, 1), // must not replace the removal
	} {
		if err := a.Publish(t.Context(), ev); !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("Publish while down = %v, want ErrUnavailable", err)
		}
	}
	if got := a.metric(t, "relay_notifier_pending_events"); got != 4 {
		t.Fatalf("pending = %v, want 4 (busy's latest, the removal, quiet's, grp's message)", got)
	}
	b.setDown(false)

	// Oldest first; busy's entry moved back when replaced, and kept seq 3.
	want := []string{"removal of u_bob from " + grp.String(), "message " + quietCh.String() + " seq 1",
		"message " + busy.String() + " seq 3", "message " + grp.String() + " seq 1"}
	var got []string
	for range want {
		got = append(got, describe(clustertest.NextMessage(t, sub)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("re-published\n%q\nwant\n%q", got, want)
	}
	if err := clustertest.Eventually(t.Context(), func(context.Context) error {
		if a.metric(t, "relay_notifier_pending_events") != 0 {
			return errors.New("events still pending")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Recovered: publishing reaches the transport directly again.
	publish(t, a, clustertest.Message(busy, 4))
	expectMessage(t, sub, busy, 4)
}

func TestPendingIsBounded(t *testing.T) {
	t.Parallel()
	b := &bus{}
	a := newInstance(t, b, cluster.Options{MaxPending: 2})
	remote := newInstance(t, b, cluster.Options{})
	chs := []domain.ChannelID{clustertest.NewChannel(), clustertest.NewChannel(), clustertest.NewChannel()}
	sub := clustertest.SubscribeConfirmed(t, remote, chs...)

	b.setDown(true)
	for _, ch := range chs {
		_ = a.Publish(t.Context(), clustertest.Message(ch, 1))
	}
	if got := a.metric(t, "relay_notifier_pending_dropped_total"); got != 1 {
		t.Fatalf("dropped = %v, want 1", got)
	}
	b.setDown(false)
	expectMessage(t, sub, chs[1], 1) // chs[0], the oldest, was dropped
	expectMessage(t, sub, chs[2], 1)
	expectNothingBefore(t, sub, a, clustertest.Message(chs[0], 2))
}

func TestOwnEventsNotDeliveredTwice(t *testing.T) {
	t.Parallel()
	b := &bus{}
	a := newInstance(t, b, cluster.Options{})
	other := newInstance(t, b, cluster.Options{})
	ch := clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, a, ch)
	clustertest.SubscribeConfirmed(t, other, ch)

	publish(t, a, clustertest.Message(ch, 1))
	expectMessage(t, sub, ch, 1)
	// a's own copy came back through the transport before other's event.
	expectNothingBefore(t, sub, other, clustertest.Message(ch, 2))
	if got := a.metric(t, "relay_notifier_lag_seconds"); got != 1 {
		t.Fatalf("lag observed %v times, want once (for the remote message only)", got)
	}
}

func TestPartialEnvelopeBecomesResync(t *testing.T) {
	t.Parallel()
	b := &bus{}
	const limit = 400
	a := newInstanceOver(t, b.newTransport(limit), cluster.Options{})
	remote := newInstanceOver(t, b.newTransport(limit), cluster.Options{})
	ch := clustertest.NewChannel()
	local := clustertest.SubscribeConfirmed(t, a, ch)
	sub := clustertest.SubscribeConfirmed(t, remote, ch)

	big := clustertest.Message(ch, 1)
	big.Message.Content = strings.Repeat("x", limit)
	publish(t, a, big)
	if ev := clustertest.NextMessage(t, local); ev.Message.Content != big.Message.Content {
		t.Fatal("the local subscriber did not get the whole message")
	}
	expectResync(t, sub, ch)
	if got := remote.metric(t, "relay_notifier_resyncs_total"); got != 2 {
		t.Fatalf("resyncs = %v, want 2 (subscription, partial message)", got)
	}
	// A message that fits still crosses whole.
	publish(t, a, clustertest.Message(ch, 2))
	expectMessage(t, sub, ch, 2)
}

func TestUnusableEnvelope(t *testing.T) {
	t.Parallel()
	b := &bus{}
	a := newInstance(t, b, cluster.Options{})
	n := newInstance(t, b, cluster.Options{})
	ch := clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, n, ch)

	n.transport.inject([]byte(`{"v":2,"c":"` + ch.String() + `","k":"future"}`))
	expectResync(t, sub, ch)
	n.transport.inject([]byte(`{"v":1,"k":"m","c":"` + ch.String() + `"}`)) // no seq
	expectResync(t, sub, ch)
	n.transport.inject([]byte(`garbage`)) // no channel to resync: dropped
	expectNothingBefore(t, sub, a, clustertest.Message(ch, 1))
	if got := n.metric(t, "relay_notifier_rejected_envelopes_total"); got != 3 {
		t.Fatalf("rejected = %v, want 3", got)
	}
}

func TestSubscribedAndReconnectedResync(t *testing.T) {
	t.Parallel()
	b := &bus{}
	n := newInstance(t, b, cluster.Options{})
	other := newInstance(t, b, cluster.Options{})
	x, y := clustertest.NewChannel(), clustertest.NewChannel()
	onX := clustertest.SubscribeConfirmed(t, n, x)
	onY := clustertest.SubscribeConfirmed(t, n, y)
	onBoth := clustertest.Subscribe(t, n, x, y) // both already watched: no new confirmation

	n.transport.confirm(x) // x subscribed again, as after a reconnect
	expectResync(t, onX, x)
	expectResync(t, onBoth, x)
	expectNothingBefore(t, onY, other, clustertest.Message(y, 1))
	expectMessage(t, onBoth, y, 1)

	n.transport.reconnect()
	expectResync(t, onX, x)
	expectResync(t, onY, y)
	got := []domain.ChannelID{clustertest.Next(t, onBoth).Channel, clustertest.Next(t, onBoth).Channel}
	if !slices.Contains(got, x) || !slices.Contains(got, y) {
		t.Fatalf("subscriber of both got resyncs of %v, want x and y", got)
	}
}

func TestWatchFollowsLocalSubscribers(t *testing.T) {
	t.Parallel()
	b := &bus{}
	// A queue of three: the first subscriber gets a confirmation resync
	// for each of its two channels, which must not cut it off.
	n := newInstance(t, b, cluster.Options{Hub: memory.Options{QueueSize: 3}})
	x, y := clustertest.NewChannel(), clustertest.NewChannel()

	first := clustertest.Subscribe(t, n, x, y)
	second := clustertest.Subscribe(t, n, x)
	if got := n.transport.takeCalls(); len(got) != 2 || !slices.Contains(got, "+"+x.String()) || !slices.Contains(got, "+"+y.String()) {
		t.Fatalf("after two subscriptions: %q, want x and y watched once each", got)
	}
	first.Unsubscribe(y)
	if got := n.transport.takeCalls(); !slices.Equal(got, []string{"-" + y.String()}) {
		t.Fatalf("after y's last subscriber left: %q", got)
	}
	first.Close()
	if got := n.transport.takeCalls(); len(got) != 0 {
		t.Fatalf("x still has a subscriber, got %q", got)
	}
	// The second subscriber's queue of three holds x's confirmation resync
	// (or not yet): publishing four messages cuts it off.
	for seq := range int64(4) {
		_ = n.Publish(t.Context(), clustertest.Message(x, seq+1))
	}
	select {
	case <-second.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the subscriber was not cut off")
	}
	// Done closes as the cut-off begins; the hub lets go of the channel
	// just after.
	var calls []string
	if err := clustertest.Eventually(t.Context(), func(context.Context) error {
		if calls = append(calls, n.transport.takeCalls()...); len(calls) == 0 {
			return errors.New("x still watched")
		}
		return nil
	}); err != nil || !slices.Equal(calls, []string{"-" + x.String()}) {
		t.Fatalf("after x's last subscriber was cut off: %q (%v)", calls, err)
	}
	if got := n.metric(t, "relay_notifier_watched_channels"); got != 0 {
		t.Fatalf("watched channels = %v, want 0", got)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	b := &bus{}
	tr := b.newTransport(0)
	n, err := cluster.NewNotifier(tr, cluster.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ch := clustertest.NewChannel()
	sub := clustertest.Subscribe(t, n, ch)
	b.setDown(true)
	_ = n.Publish(t.Context(), clustertest.Message(ch, 1)) // leaves the re-publish loop retrying

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !tr.isClosed() {
		t.Fatal("transport not closed")
	}
	select {
	case <-sub.Done():
	default:
		t.Fatal("subscription still running after Close")
	}
	if err := sub.Err(); !errors.Is(err, ports.ErrNotifierClosed) {
		t.Fatalf("Err = %v, want ErrNotifierClosed", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := n.Start(t.Context()); !errors.Is(err, ports.ErrNotifierClosed) {
		t.Fatalf("Start after Close = %v, want ErrNotifierClosed", err)
	}
	if err := n.Publish(t.Context(), clustertest.Message(ch, 2)); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Publish after Close = %v, want ErrUnavailable", err)
	}
	if err := n.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	t.Parallel()
	tr := (&bus{}).newTransport(0)
	n, err := cluster.NewNotifier(tr, cluster.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Subscribe(t, n, clustertest.NewChannel())
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !tr.isClosed() {
		t.Fatal("transport not closed")
	}
}

func TestPublishRejectsUnencodableEvent(t *testing.T) {
	t.Parallel()
	n := newInstance(t, &bus{}, cluster.Options{})
	err := n.Publish(t.Context(), domain.Event{Kind: domain.EventResync}) // no channel
	if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("Publish = %v, want ErrInvalid and ErrMalformed", err)
	}
	if got := n.metric(t, "relay_notifier_pending_events"); got != 0 {
		t.Fatalf("pending = %v, want 0: retrying cannot help", got)
	}
}

func TestMetricsRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	tr := (&bus{}).newTransport(0)
	n, err := cluster.NewNotifier(tr, cluster.Options{Registerer: reg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got, err := testutil.GatherAndCount(reg); err != nil || got != 10 {
		t.Fatalf("%d metrics registered (%v), want 10", got, err)
	}
	if _, err := cluster.NewNotifier(tr, cluster.Options{Registerer: reg, Logger: quiet}); err == nil {
		t.Fatal("a second notifier on the same registry registered its metrics")
	}
}
