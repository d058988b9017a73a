package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recoveryTimeout bounds how long, once Redis is back, every stream may
// take to catch up.
const recoveryTimeout = 15 * time.Second

// TestClusterDelivery runs three instances on one database and one Redis:
// what is posted to one instance reaches the subscribers of every other,
// whole and in seq order, also with posters on two instances racing into
// one group; stream stats stay per instance.
func TestClusterDelivery(t *testing.T) {
	t.Parallel()
	forEachNotifier(t, testClusterDelivery)
}

// forEachNotifier runs test on a Redis cluster and on a PostgreSQL
// LISTEN/NOTIFY cluster.
func forEachNotifier(t *testing.T, test func(t *testing.T, o clusterOptions)) {
	for _, o := range []struct {
		name string
		o    clusterOptions
	}{{"redis", clusterOptions{}}, {"postgres", clusterOptions{postgres: true}}} {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			test(t, o.o)
		})
	}
}

func testClusterDelivery(t *testing.T, o clusterOptions) {
	c := startCluster(t, o)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	alice, bob, carol := newUser(t, "u_alice"), newUser(t, "u_bob"), newUser(t, "u_carol")
	g := a.createGroup(t, alice, "Everyone", "u_bob", "u_carol")

	// One stream on A, two on B, three on C.
	var followers []*follower
	for _, s := range []struct {
		on *instance
		u  user
	}{{a, alice}, {b, bob}, {b, carol}, {cc, alice}, {cc, bob}, {cc, carol}} {
		name := s.on.name + "/" + s.u.id
		followers = append(followers, follow(t, name, s.on.openStream(t, s.u, []string{g.channel()}, streamOpts{})))
	}
	onB := followers[1]

	// Posted to A, then to C: B's subscriber gets both, in seq order.
	sent := []message{a.send(t, alice, g, "to A"), cc.send(t, carol, g, "to C")}
	onB.waitCount(t, waitTimeout, 2)
	onB.wantExactly(t, sent)

	// Posters on A and C race into the group.
	const each = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, p := range []struct {
		on *instance
		u  user
	}{{a, alice}, {cc, carol}} {
		wg.Go(func() {
			for i := range each {
				_, m, err := p.on.postMessage(p.u, g, fmt.Sprintf("%s %d", p.on.name, i))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					sent = append(sent, m)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent POSTs: %v", errs)
	}
	want := inSeqOrder(t, sent)
	for _, f := range followers {
		f.waitCount(t, waitTimeout, len(want))
	}
	// A duplicate would arrive before a message sent after all of them.
	fence := b.send(t, bob, g, "fence")
	want = append(want, fence)
	for _, f := range followers {
		f.waitMessage(t, waitTimeout, fence.ID)
		f.wantExactly(t, want)
	}

	ops := newAdmin(t, "svc_ops")
	for i, n := range c.nodes {
		st := n.sseStats(t, ops)
		if st.Connections != i+1 || st.GroupSubscriptions[g.ID] != i+1 || len(st.GroupSubscriptions) != 1 {
			t.Errorf("/api/sse/stats of %s = %+v, want its own %d stream(s) of %s", n.name, st, i+1, g.ID)
		}
	}
	// B stored only the fence: everything else came from A and C over
	// the notifier, and its lag was measured.
	if lag := b.metric(t, "relay_notifier_lag_seconds_count"); lag < 1 || lag > float64(len(want)-1) {
		t.Errorf("relay_notifier_lag_seconds_count on B = %v, want 1…%d (messages stored elsewhere)", lag, len(want)-1)
	}

	if o.postgres {
		return // one LISTEN channel carries every Relay channel
	}
	// Each instance subscribes in Redis to the channels its own clients
	// watch, and unsubscribes after the last one leaves.
	redisChannel := c.prefix + "ch:" + g.channel()
	subscribers := func() int64 {
		n, err := c.redis.PubSubNumSub(t.Context(), redisChannel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[redisChannel]
	}
	if n := subscribers(); n != 3 {
		t.Errorf("PUBSUB NUMSUB %s = %d, want 3 (one per instance)", redisChannel, n)
	}
	followers[0].s.close() // A's only stream
	waitFor(t, "A to unsubscribe in Redis", func() bool {
		return subscribers() == 2 && a.metric(t, "relay_notifier_watched_channels") == 0
	})
}

// TestClusterResumeOnAnotherInstance moves a client from A to C with its
// last cursor, over a DM and a group, while messages are posted to B: it
// gets exactly what it had not read, then live messages.
func TestClusterResumeOnAnotherInstance(t *testing.T) {
	t.Parallel()
	forEachNotifier(t, testClusterResumeOnAnotherInstance)
}

func testClusterResumeOnAnotherInstance(t *testing.T, o clusterOptions) {
	c := startCluster(t, o)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	channels := []string{dm.channel(), g.channel()}
	post := func(on *instance, n int, label string) []message {
		var out []message
		for i := range n {
			out = append(out, on.send(t, bob, dm, fmt.Sprintf("%s dm %d", label, i)), on.send(t, bob, g, fmt.Sprintf("%s group %d", label, i)))
		}
		return out
	}

	s := a.openStream(t, alice, channels, streamOpts{})
	first := post(b, 3, "first")
	got, evs := s.messages(t, 4) // two messages stay unread
	// Order holds per channel, not across channels: which four arrived
	// first may vary, and the unread ones are the rest.
	wantSameMessages(t, "on A", sortedLike(got, first), firstOf(first, got))
	for _, ch := range channels {
		wantSeqs(t, "on A, "+ch, byChannel(got)[ch], byChannel(firstOf(first, got))[ch])
	}
	cursor := evs[3].ID
	s.close()

	missed := post(b, 2, "missed")
	r := cc.openStream(t, alice, channels, streamOpts{lastEventID: cursor})
	want := slices.Concat(without(first, got), missed)
	replay, _ := r.messages(t, len(want))
	for _, ch := range channels {
		wantSeqs(t, "resumed on C, "+ch, byChannel(replay)[ch], byChannel(want)[ch])
	}
	wantSameMessages(t, "resumed on C", sortedLike(replay, want), want)

	// Live messages from A and B follow, once each.
	live := slices.Concat(post(a, 1, "live A"), post(b, 1, "live B"))
	next, _ := r.messages(t, len(live))
	// In order per channel; channels may interleave either way.
	for _, ch := range channels {
		wantSeqs(t, "live on C, "+ch, byChannel(next)[ch], byChannel(live)[ch])
	}
	wantSameMessages(t, "live on C", sortedLike(next, live), live)
}

// TestClusterInstanceKilled kills an instance (the built binary) while its
// clients stream: the other instances go on serving, and the clients
// resume on another instance without loss.
func TestClusterInstanceKilled(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	cl := startCluster(t, clusterOptions{size: 2})
	a, b := cl.nodes[0], cl.nodes[1]
	killed := startRelay(t, map[string]string{
		"DATABASE_URL": cl.dsn, "AUTH_SECRET": string(testSecret),
		"REDIS_URL": cl.redisURL, "REDIS_PREFIX": cl.prefix,
	})
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	doomed := killed.openStream(t, alice, []string{g.channel()}, streamOpts{})
	onB := follow(t, "B/u_bob", b.openStream(t, bob, []string{g.channel()}, streamOpts{}))

	sent := []message{a.send(t, bob, g, "one"), a.send(t, bob, g, "two")}
	got, evs := doomed.messages(t, 2)
	wantSameMessages(t, "on the doomed instance", got, sent)

	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.waitExit(t, waitTimeout)
	if _, err := doomed.waitEnd(t); err == nil {
		t.Fatal("the stream of the killed instance did not fail")
	}
	sent = append(sent, a.send(t, bob, g, "three"), b.send(t, bob, g, "four"))
	for _, n := range cl.nodes {
		if st := n.readyStatus(); st != http.StatusOK {
			t.Fatalf("/readyz of %s = %d after another instance died, want 200", n.name, st)
		}
	}
	onB.waitCount(t, waitTimeout, len(sent))
	onB.wantExactly(t, sent)

	r := b.openStream(t, alice, []string{g.channel()}, streamOpts{lastEventID: evs[1].ID})
	got, _ = r.messages(t, 2)
	wantSameMessages(t, "resumed on B", got, sent[2:])
	last := a.send(t, bob, g, "five")
	got, _ = r.messages(t, 1)
	wantSameMessages(t, "live on B", got, []message{last})
}

// TestClusterMemberRemoval removes bob from a group on A while he streams
// it on B, and on C while C is cut off from Redis: both streams drop the
// group (channel_removed), C's once it is back, and neither gets the
// group's later messages.
func TestClusterMemberRemoval(t *testing.T) {
	t.Parallel()
	c := startCluster(t, clusterOptions{proxied: []int{2}})
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	channels := []string{g.channel(), dm.channel()}
	streams := []*stream{b.openStream(t, bob, channels, streamOpts{}), cc.openStream(t, bob, channels, streamOpts{})}
	first := a.send(t, alice, g, "before")
	for _, s := range streams {
		got, _ := s.messages(t, 1)
		wantSameMessages(t, "before the removal", got, []message{first})
	}

	cc.proxy.Cut()
	cc.waitReady(t, http.StatusServiceUnavailable)
	a.removeMember(t, alice, g, "u_bob")
	a.send(t, alice, g, "bob is gone")
	cc.proxy.Restore()
	last := a.send(t, alice, dm, "still here")
	for i, s := range streams {
		on := c.nodes[i+1].name
		// Different channels are not ordered: the DM's message may come
		// first. Nothing of the group may.
		removed, got := false, []message(nil)
		for !removed || len(got) == 0 {
			ev := s.nextEvent(t)
			switch {
			case ev.Event == "channel_removed" && strings.Contains(ev.Data, `"`+g.channel()+`"`) && !removed:
				removed = true
			case ev.Event == "message" && len(got) == 0:
				var m message
				mustUnmarshal(t, ev.Data, &m)
				got = append(got, m)
			default:
				t.Fatalf("stream on %s: got %q, want channel_removed of %s and the DM's message", on, ev.Raw, g.channel())
			}
		}
		wantSameMessages(t, "after the removal on "+on, got, []message{last})
	}
}

// firstOf returns the messages of all that are in some, in all's order.
func firstOf(all, some []message) []message {
	ids := map[string]bool{}
	for _, m := range some {
		ids[m.ID] = true
	}
	var out []message
	for _, m := range all {
		if ids[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// without returns the messages of all that are not in some, in all's order.
func without(all, some []message) []message {
	ids := map[string]bool{}
	for _, m := range some {
		ids[m.ID] = true
	}
	var out []message
	for _, m := range all {
		if !ids[m.ID] {
			out = append(out, m)
		}
	}
	return out
}
