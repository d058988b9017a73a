package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// faultFixture is a three-instance cluster with two groups of alice, bob
// and carol, two streams of both groups on every instance, and a poster
// on every instance posting into the groups in turn. Two groups, because
// a stream fills the gaps of a channel whenever a later message of it
// arrives: the last messages of one group can come from one instance and
// those of the other from another, and each instance's streams must learn
// of those it did not store.
type faultFixture struct {
	c          *cluster
	groups     []conversation
	senders    []user        // who posts on each instance
	streams    [][]*follower // per instance
	posters    *posters
	sentByTest []message // posted by the test goroutine itself
}

// postInterval paces the posters: a fault then spans a few messages.
const postInterval = 15 * time.Millisecond

func newFaultFixture(t *testing.T, o clusterOptions) *faultFixture {
	t.Helper()
	c := startCluster(t, o)
	f := &faultFixture{c: c, senders: []user{newUser(t, "u_alice"), newUser(t, "u_bob"), newUser(t, "u_carol")}}
	for _, name := range []string{"One", "Two"} {
		f.groups = append(f.groups, c.nodes[0].createGroup(t, f.senders[0], name, "u_bob", "u_carol"))
	}
	channels := []string{f.groups[0].channel(), f.groups[1].channel()}
	for _, n := range c.nodes {
		var on []*follower
		for _, u := range f.senders[:2] {
			on = append(on, follow(t, n.name+"/"+u.id, n.openStream(t, u, channels, streamOpts{})))
		}
		f.streams = append(f.streams, on)
	}
	f.posters = startPosters(t, f.groups, postInterval, c.nodes, f.senders)
	// Messages flow everywhere before any fault.
	for _, s := range f.all() {
		s.waitCount(t, waitTimeout, 6)
	}
	return f
}

// all returns every stream of every instance.
func (f *faultFixture) all() []*follower {
	var out []*follower
	for _, on := range f.streams {
		out = append(out, on...)
	}
	return out
}

// send posts into group g on instance i, outside the posters, and keeps
// the answer.
func (f *faultFixture) send(t *testing.T, i, g int, content string) message {
	t.Helper()
	m := f.c.nodes[i].send(t, f.senders[i], f.groups[g], content)
	f.sentByTest = append(f.sentByTest, m)
	return m
}

// stored returns every message stored so far, in seq order. The posters
// must be stopped.
func (f *faultFixture) stored(t *testing.T) []message {
	t.Helper()
	return inSeqOrder(t, append(f.posters.result(t), f.sentByTest...))
}

// wantRecovered waits, up to recoveryTimeout from since, until every
// stream has every stored message; then it checks, with a last message
// that any duplicate would precede, that each received exactly those, in
// order, on the stream it opened first: none ended and reconnected.
func (f *faultFixture) wantRecovered(t *testing.T, since time.Time) {
	t.Helper()
	want := f.stored(t)
	for _, s := range f.all() {
		s.waitCount(t, recoveryTimeout-time.Since(since), len(want))
	}
	t.Logf("%d messages on every stream %s after the fault ended", len(want), time.Since(since).Round(time.Millisecond))
	fences := []message{f.send(t, 2, 0, "fence"), f.send(t, 2, 1, "fence")}
	want = inSeqOrder(t, append(want, fences...))
	for _, s := range f.all() {
		for _, fence := range fences {
			s.waitMessage(t, waitTimeout, fence.ID)
		}
		s.wantExactly(t, want)
	}
	ops := newAdmin(t, "svc_ops")
	for i, n := range f.c.nodes {
		if st := n.sseStats(t, ops); st.Connections != len(f.streams[i]) {
			t.Errorf("/api/sse/stats of %s counts %d connections, want the %d opened at the start", n.name, st.Connections, len(f.streams[i]))
		}
	}
}

// metricEach returns the unlabelled series name of every instance.
func (f *faultFixture) metricEach(t *testing.T, name string) []float64 {
	t.Helper()
	out := make([]float64, len(f.c.nodes))
	for i, n := range f.c.nodes {
		out[i] = n.metric(t, name)
	}
	return out
}

// TestClusterRedisClientKill kills every Redis connection of the three
// instances (CLIENT KILL, by the ids of their named connections), three
// times, while messages flow into two groups from all of them: every
// stream still ends with every message exactly once, in order, without
// reconnecting, and every instance resynced.
func TestClusterRedisClientKill(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, clusterOptions{})
	resyncs := f.metricEach(t, "relay_notifier_resyncs_total")

	const rounds = 3
	for range rounds {
		if killed := f.c.killClients(t); killed < len(f.c.nodes) {
			t.Fatalf("CLIENT KILL killed %d connections, want at least one subscriber connection per instance", killed)
		}
		f.posters.waitEach(t, f.posters.counts(), 3)
	}
	f.posters.stopPosting()
	f.wantRecovered(t, time.Now())

	for i, n := range f.c.nodes {
		n.waitReady(t, http.StatusOK)
		// Each kill cost the instance its subscription, and each
		// resubscription resynced the group's streams.
		if got := n.metric(t, "relay_notifier_resyncs_total"); got < resyncs[i]+rounds {
			t.Errorf("relay_notifier_resyncs_total on %s went from %v to %v, want +%d at least", n.name, resyncs[i], got, rounds)
		}
	}
}

// TestClusterRedisOutage cuts A and B off Redis (each reaches it through a
// proxy of its own; C connects directly) while messages flow: POST still
// answers 201, an instance's own subscribers still get its messages, and
// A and B are not ready. Once the network is back, every stream on every
// instance catches up, exactly once and in order, without reconnecting:
// A's and B's by resyncing from the store, C's from the messages A
// re-publishes.
func TestClusterRedisOutage(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t, clusterOptions{proxied: []int{0, 1}})
	a, b, c := f.c.nodes[0], f.c.nodes[1], f.c.nodes[2]
	resyncs := f.metricEach(t, "relay_notifier_resyncs_total")
	fills := f.metricEach(t, "relay_stream_gap_fills_total")

	a.proxy.Cut()
	b.proxy.Cut()
	a.waitReady(t, http.StatusServiceUnavailable)
	b.waitReady(t, http.StatusServiceUnavailable)
	if st := c.readyStatus(); st != http.StatusOK {
		t.Fatalf("/readyz of C = %d while only A and B are cut off, want 200", st)
	}
	// Messages keep flowing, and every POST answers 201 (waitEach fails on
	// any other answer).
	f.posters.waitEach(t, f.posters.counts(), 5)
	for i, n := range []*instance{a, b} {
		m := f.send(t, i, 0, fmt.Sprintf("stored on %s during the outage", n.name))
		for _, s := range f.streams[i] {
			s.waitMessage(t, waitTimeout, m.ID)
		}
	}
	// The last messages of group One are stored on A, which is cut off: C
	// can learn of them only from A's re-publish. Those of group Two are
	// stored on C, whose publish succeeds while A and B do not listen:
	// they can learn of them only by resyncing.
	f.posters.stopPosting()
	for i := range 3 {
		f.send(t, 0, 0, fmt.Sprintf("last of One, on A, %d", i))
		f.send(t, 2, 1, fmt.Sprintf("last of Two, on C, %d", i))
	}
	failures := f.metricEach(t, "relay_notifier_publish_failures_total")
	if failures[0] == 0 || failures[1] == 0 || failures[2] != 0 {
		t.Errorf("relay_notifier_publish_failures_total = %v, want some on A and B, none on C", failures)
	}

	restored := time.Now()
	a.proxy.Restore()
	b.proxy.Restore()
	f.wantRecovered(t, restored)

	for _, n := range f.c.nodes {
		n.waitReady(t, http.StatusOK)
	}
	waitFor(t, "the re-publish sets to empty", func() bool {
		p := f.metricEach(t, "relay_notifier_pending_events")
		return p[0] == 0 && p[1] == 0
	})
	after := f.metricEach(t, "relay_notifier_resyncs_total")
	if after[0] <= resyncs[0] || after[1] <= resyncs[1] {
		t.Errorf("relay_notifier_resyncs_total went from %v to %v: want A and B to resync after reconnecting", resyncs, after)
	}
	if got := c.metric(t, "relay_stream_gap_fills_total"); got <= fills[2] {
		t.Errorf("relay_stream_gap_fills_total on C went from %v to %v: its streams must have read the messages they were not told of", fills[2], got)
	}
}
