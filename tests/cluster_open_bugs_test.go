package tests

import (
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
)

// The tests in this file fail today: each shows a bug found while testing
// the cluster, and is skipped until it is fixed (then delete its openBug
// line). RELAY_OPEN_BUGS=1 runs them:
//
//	RELAY_OPEN_BUGS=1 go test -run 'TestClusterRemovedMemberDuringOutage|TestClusterPendingSurvivesShutdown' ./tests/

// openBug skips t, which shows the open bug what, unless RELAY_OPEN_BUGS
// is set.
func openBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("RELAY_OPEN_BUGS") == "" {
		t.Skip("open bug: " + what + " (RELAY_OPEN_BUGS=1 runs it)")
	}
}

// TestClusterRemovedMemberDuringOutage removes bob from a group on A while
// C, where bob streams the group, is cut off from Redis, then carol posts
// into the group on C: bob's stream on C must not get that message (API:
// a removed member's open streams stop receiving the group's messages).
func TestClusterRemovedMemberDuringOutage(t *testing.T) {
	openBug(t, "an instance that misses a member removal keeps streaming the group to the removed member until it resyncs")
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
	openBug(t, "events waiting to be re-published are dropped when the instance stops, and nothing else announces them")
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
