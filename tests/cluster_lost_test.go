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

// doomedPeer is instance B, in-process, and instance A, the built binary,
// which reaches Redis through a proxy: A can be cut off and then stopped
// with events it never published.
type doomedPeer struct {
	b     *instance
	a     *relayProcess
	proxy *clustertest.Proxy
}

func startDoomedPeer(t *testing.T) *doomedPeer {
	t.Helper()
	relayBinary(t)
	c := startCluster(t, clusterOptions{size: 1})
	proxy := clustertest.StartProxy(t, hostOf(t, c.redisURL))
	a := startRelay(t, map[string]string{
		"DATABASE_URL": c.dsn, "AUTH_SECRET": string(testSecret),
		"REDIS_URL": withHost(t, c.redisURL, proxy.Addr()), "REDIS_PREFIX": c.prefix,
	})
	return &doomedPeer{b: c.nodes[0], a: a, proxy: proxy}
}

// cutOff cuts A off Redis and waits until A knows it.
func (p *doomedPeer) cutOff(t *testing.T) {
	t.Helper()
	p.proxy.Cut()
	waitFor(t, "A to be not ready", func() bool { return p.a.readyStatus() == http.StatusServiceUnavailable })
}

// stop stops A gracefully (SIGTERM, as a rolling deploy does) while it is
// cut off, then lets Redis through again, too late for A.
func (p *doomedPeer) stop(t *testing.T) {
	t.Helper()
	if err := p.a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.a.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d after SIGTERM, want 0", code)
	}
	p.proxy.Restore()
}

// TestClusterPendingSurvivesShutdown stores a message on A while A is cut
// off from Redis, then stops A before Redis is back: bob's stream on B,
// whose own connection never dropped, must still get the message in
// bounded time.
func TestClusterPendingSurvivesShutdown(t *testing.T) {
	t.Parallel()
	p := startDoomedPeer(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := p.b.createDM(t, alice, "u_bob")
	s := follow(t, "B/u_bob", p.b.openStream(t, bob, []string{dm.channel()}, streamOpts{}))
	first := p.a.send(t, alice, dm, "first")
	s.waitMessage(t, waitTimeout, first.ID)

	p.cutOff(t)
	lost := p.a.send(t, alice, dm, "sent while A is cut off")
	p.stop(t)
	s.waitMessage(t, recoveryTimeout, lost.ID)
}

// TestClusterRemovalLostAtShutdown removes bob from a group on A while A
// is cut off from Redis, then stops A before Redis is back, so the removal
// is never published: bob's stream of the group on B, whose connection
// never dropped, must still end (API: a removed member's open streams stop
// receiving the group), found out from the store.
func TestClusterRemovalLostAtShutdown(t *testing.T) {
	t.Parallel()
	p := startDoomedPeer(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := p.b.createGroup(t, alice, "Team", "u_bob")
	dm := p.b.createDM(t, alice, "u_bob")
	s := p.b.openStream(t, bob, []string{g.channel(), dm.channel()}, streamOpts{})

	p.cutOff(t)
	p.a.removeMember(t, alice, g, "u_bob")
	p.stop(t)
	ev := s.nextEvent(t) // within waitTimeout; the head check comes every 5 s
	if ev.Event != "channel_removed" || !strings.Contains(ev.Data, g.channel()) {
		t.Fatalf("bob's stream on B got %q %s, want channel_removed of %s", ev.Event, ev.Data, g.channel())
	}
	// The stream goes on with the DM.
	m := p.b.send(t, alice, dm, "still here")
	if ev := s.nextEvent(t); ev.Event != "message" || !strings.Contains(ev.Data, m.ID) {
		t.Fatalf("bob's stream on B got %q %s, want the DM's message %s", ev.Event, ev.Data, m.ID)
	}
}
