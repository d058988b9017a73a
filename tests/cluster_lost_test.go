package tests

import (
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
)

// Notifications lost for good: what no re-publish and no resync on
// reconnect can bring back, and that the store must make up for.

// TestClusterRemovedMemberDuringOutage removes bob from a group on A while
// C, where bob streams the group, is cut off from Redis, then carol posts
// into the group on C: bob's stream on C must not get that message (API:
// a removed member's open streams stop receiving the group's messages).
func TestClusterRemovedMemberDuringOutage(t *testing.T) {
	t.Parallel()
	c := startCluster(t, clusterOptions{proxied: []int{2}})
	a, cc := c.nodes[0], c.nodes[2]
	alice, bob, carol := newUser(t, "u_alice"), newUser(t, "u_bob"), newUser(t, "u_carol")
	g := a.createGroup(t, alice, "Team", "u_bob", "u_carol")
	dm := a.createDM(t, alice, "u_bob")
	s := cc.openStream(t, bob, []string{g.channel(), dm.channel()}, streamOpts{})

	cc.proxy.Cut()
	cc.waitReady(t, http.StatusServiceUnavailable)
	a.removeMember(t, alice, g, "u_bob")
	cc.send(t, carol, g, "after bob left")
	marker := cc.send(t, alice, dm, "marker")
	// C's hub delivers in order: the group's message, if it leaks, comes
	// before the marker.
	for {
		ev := s.nextEvent(t)
		if ev.Event == "channel_removed" {
			continue // the removal may be noticed; not required during the outage
		}
		var m message
		mustUnmarshal(t, ev.Data, &m)
		if m.Channel == g.channel() {
			t.Fatalf("bob, removed from %s on A, got its message %q on C", g.ID, m.Content)
		}
		if m.ID == marker.ID {
			break
		}
	}
}

// TestClusterPendingSurvivesShutdown stores a message on A while A is cut
// off from Redis, then stops A gracefully (SIGTERM, as a rolling deploy
// does) before Redis is back: bob's stream on B, whose own connection
// never dropped, must still get the message in bounded time.
func TestClusterPendingSurvivesShutdown(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	c := startCluster(t, clusterOptions{size: 1})
	b := c.nodes[0]
	proxy := clustertest.StartProxy(t, hostOf(t, c.redisURL))
	a := startRelay(t, map[string]string{
		"DATABASE_URL": c.dsn, "AUTH_SECRET": string(testSecret),
		"REDIS_URL": withHost(t, c.redisURL, proxy.Addr()), "REDIS_PREFIX": c.prefix,
	})
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := b.createDM(t, alice, "u_bob")
	s := follow(t, "B/u_bob", b.openStream(t, bob, []string{dm.channel()}, streamOpts{}))
	first := a.send(t, alice, dm, "first")
	s.waitMessage(t, waitTimeout, first.ID)

	proxy.Cut()
	waitFor(t, "A to be not ready", func() bool { return a.readyStatus() == http.StatusServiceUnavailable })
	lost := a.send(t, alice, dm, "sent while A is cut off")
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := a.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d after SIGTERM, want 0", code)
	}
	proxy.Restore()
	s.waitMessage(t, recoveryTimeout, lost.ID)
}

// TestClusterRemovalLostAtShutdown removes bob from a group on A while A
// is cut off from Redis, then stops A before Redis is back, so the removal
// is never published: bob's stream of the group on B, whose connection
// never dropped, must still end (API: a removed member's open streams stop
// receiving the group), found out from the store.
func TestClusterRemovalLostAtShutdown(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	c := startCluster(t, clusterOptions{size: 1})
	b := c.nodes[0]
	proxy := clustertest.StartProxy(t, hostOf(t, c.redisURL))
	a := startRelay(t, map[string]string{
		"DATABASE_URL": c.dsn, "AUTH_SECRET": string(testSecret),
		"REDIS_URL": withHost(t, c.redisURL, proxy.Addr()), "REDIS_PREFIX": c.prefix,
	})
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := b.createGroup(t, alice, "Team", "u_bob")
	dm := b.createDM(t, alice, "u_bob")
	s := b.openStream(t, bob, []string{g.channel(), dm.channel()}, streamOpts{})

	proxy.Cut()
	waitFor(t, "A to be not ready", func() bool { return a.readyStatus() == http.StatusServiceUnavailable })
	a.removeMember(t, alice, g, "u_bob")
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := a.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d after SIGTERM, want 0", code)
	}
	proxy.Restore()
	ev := s.nextEvent(t) // within waitTimeout; the head check comes every 5 s
	if ev.Event != "channel_removed" || !strings.Contains(ev.Data, g.channel()) {
		t.Fatalf("bob's stream on B got %q %s, want channel_removed of %s", ev.Event, ev.Data, g.channel())
	}
	// The stream goes on with the DM.
	m := b.send(t, alice, dm, "still here")
	if ev := s.nextEvent(t); ev.Event != "message" || !strings.Contains(ev.Data, m.ID) {
		t.Fatalf("bob's stream on B got %q %s, want the DM's message %s", ev.Event, ev.Data, m.ID)
	}
}
