package pgnotify_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
)

// TestMessagesCrossInTheirTransaction runs two instances as Module wires
// them: messages reach the other instance through the NOTIFY of the
// transaction that stored them, each exactly once (the sending instance
// drops its own), and other events through pg_notify.
func TestMessagesCrossInTheirTransaction(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	a := newNode(t, db, dsn, pgnotify.Options{})
	b := newNode(t, db, dsn, pgnotify.Options{})
	a.waitReady(t)
	b.waitReady(t)
	ch := newGroup(t, db)
	onA := clustertest.SubscribeConfirmed(t, a, ch)
	onB := clustertest.SubscribeConfirmed(t, b, ch)

	first := a.send(t, ch, "hello")
	expectMessage(t, onB, first)
	removed := domain.MemberRemovedEvent(ch, "u_bob")
	if err := a.Publish(t.Context(), removed); err != nil {
		t.Fatal(err)
	}
	if ev := clustertest.ExpectKind(t, onB, domain.EventMemberRemoved); ev.UserID != "u_bob" {
		t.Fatalf("received %+v, want %+v", ev, removed)
	}

	// Too large for a NOTIFY: b hears of it as a resync and reads the store.
	large := a.send(t, ch, strings.Repeat("x", 9000))
	if ev := clustertest.ExpectKind(t, onB, domain.EventResync); ev.Channel != ch {
		t.Fatalf("resync of %s, want %s", ev.Channel, ch)
	}
	last := a.send(t, ch, "bye")
	expectMessage(t, onB, last)

	// a's subscriber got each from a's hub, whole, and none a second time
	// when its NOTIFY came back: the member removal would have been
	// preceded by an echo of the first message, and so on.
	expectMessage(t, onA, first)
	clustertest.ExpectKind(t, onA, domain.EventMemberRemoved)
	expectMessage(t, onA, large)
	expectMessage(t, onA, last)
	sentinel := b.send(t, ch, "sentinel") // crosses after any late echo
	expectMessage(t, onA, sentinel)
}

// TestListenerKilled ends an instance's listener connection in the server
// while it cannot reconnect: it reports not ready, misses what is sent
// meanwhile, and once it reconnects its subscribers resync and messages
// flow again. Outage and recovery are each logged once.
func TestListenerKilled(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	a := newNode(t, db, dsn, pgnotify.Options{})
	b := newNode(t, db, dsn, pgnotify.Options{})
	a.waitReady(t)
	b.waitReady(t)
	ch, other := newGroup(t, db), newGroup(t, db)
	onB := clustertest.SubscribeConfirmed(t, b, ch, other)
	expectMessage(t, onB, a.send(t, ch, "before"))

	allowConnections(t, db, false)
	t.Cleanup(func() { allowConnections(t, db, true) })
	if n := terminate(t, db, b.appName); n != 1 {
		t.Fatalf("terminated %d connections named %s, want its listener's", n, b.appName)
	}
	// The reconnect attempts fail for as long as the database refuses
	// connections, so the failure is there to be seen.
	clustertest.Await(t, "b not ready while its listener is down", failing(b.Ping))
	a.send(t, ch, "missed") // b's subscriber learns of it from the resync
	// b's own message reaches its subscriber through the store: a member
	// removal NOTIFYed meanwhile is lost to b, and the resync checks
	// access before the stream reads the message.
	b.send(t, other, "sent on b meanwhile")
	if ev := clustertest.Next(t, onB); ev.Kind != domain.EventResync || ev.Channel != other {
		t.Fatalf("b's subscriber got %+v while b's listener is down, want a resync of %s", ev, other)
	}
	clustertest.Await(t, "b still not ready", failing(b.Ping))

	allowConnections(t, db, true)
	want := map[domain.ChannelID]bool{ch: true, other: true}
	for len(want) > 0 {
		ev := clustertest.ExpectKind(t, onB, domain.EventResync)
		delete(want, ev.Channel)
	}
	b.waitReady(t)
	expectMessage(t, onB, a.send(t, ch, "after"))
	clustertest.Await(t, "outage logged once", logged(b, lostLog, 1))
	clustertest.Await(t, "recovery logged once", logged(b, restoredLog, 1))
}

// TestUnreachableAtStart starts an instance while the database refuses
// connections: it starts, is not ready, and listens once it can connect,
// resyncing the channel subscribed meanwhile.
func TestUnreachableAtStart(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	a := newNode(t, db, dsn, pgnotify.Options{})
	a.waitReady(t)
	ch := newGroup(t, db)
	allowConnections(t, db, false)
	t.Cleanup(func() { allowConnections(t, db, true) })

	b := newNode(t, db, dsn, pgnotify.Options{})
	onB := clustertest.Subscribe(t, b, ch)
	clustertest.Await(t, "first failure logged", logged(b, failedLog, 1))
	if err := b.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping = %v, want ErrUnavailable", err)
	}

	allowConnections(t, db, true)
	clustertest.ExpectKind(t, onB, domain.EventResync)
	b.waitReady(t)
	expectMessage(t, onB, a.send(t, ch, "hello"))
}

// TestCloseWhileUnreachable closes a transport that never reached its
// server: Close returns, and TestMain finds no goroutine left behind.
func TestCloseWhileUnreachable(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	// Port 1 on loopback: connection refused at once.
	n := newNode(t, db, "postgres://postgres@127.0.0.1:1/none?sslmode=disable", pgnotify.Options{})
	clustertest.Await(t, "failure logged", logged(n, failedLog, 1))
	clustertest.Await(t, "not ready", failing(n.Ping))
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Ping(context.Background()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
}

// TestHalfOpenListener stalls an instance's listener connection without
// closing it: the health ping notices, and the instance recovers once the
// network does.
func TestHalfOpenListener(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := clustertest.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	a := newNode(t, db, dsn, pgnotify.Options{})
	b := newNode(t, db, dsn, pgnotify.Options{ // only b's listener crosses the proxy
		DSN: u.String(), HealthInterval: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
		ConnectTimeout: time.Second,
	})
	a.waitReady(t)
	b.waitReady(t)
	ch := newGroup(t, db)
	onB := clustertest.SubscribeConfirmed(t, b, ch)

	// Idle for several health checks, each ping answered: a quiet
	// connection is not a dead one. Only b's listener crosses the proxy
	// and nothing else is sent on it, so each reply is a check done with.
	from := proxy.Replies()
	clustertest.Await(t, "six health checks of the idle connection", func(context.Context) error {
		if got := proxy.Replies() - from; got < 6 {
			return fmt.Errorf("%d health checks answered", got)
		}
		return nil
	})
	if got := b.logs.Count(lostLog); got != 0 {
		t.Fatalf("a healthy idle connection was reported lost %d times", got)
	}

	proxy.Stall()
	// Only the health ping can notice: nothing closes.
	clustertest.Await(t, "stalled connection noticed", logged(b, lostLog, 1))
	clustertest.Await(t, "b not ready while stalled", failing(b.Ping))
	a.send(t, ch, "missed")

	proxy.Restore()
	clustertest.ExpectKind(t, onB, domain.EventResync)
	b.waitReady(t)
	expectMessage(t, onB, a.send(t, ch, "after"))
}
