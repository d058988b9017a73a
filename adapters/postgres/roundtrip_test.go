package postgres_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/sqlstore/sqlstoretest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// tripCounter counts round trips on the connections it dials: a write
// after a read (or the first write) starts one.
type tripCounter struct {
	dial pq.Dialer
	mu   sync.Mutex
	n    int
}

func (c *tripCounter) Dial(network, address string) (net.Conn, error) {
	conn, err := c.dial.Dial(network, address)
	return &countedConn{Conn: conn, c: c}, err
}

func (c *tripCounter) DialTimeout(network, address string, d time.Duration) (net.Conn, error) {
	conn, err := c.dial.DialTimeout(network, address, d)
	return &countedConn{Conn: conn, c: c}, err
}

func (c *tripCounter) trips() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type countedConn struct {
	net.Conn
	c       *tripCounter
	writing bool
}

func (cc *countedConn) Write(p []byte) (int, error) {
	if !cc.writing {
		cc.writing = true
		cc.c.mu.Lock()
		cc.c.n++
		cc.c.mu.Unlock()
	}
	return cc.Conn.Write(p)
}

func (cc *countedConn) Read(p []byte) (int, error) {
	cc.writing = false
	return cc.Conn.Read(p)
}

// TestAppendIsOneRoundTrip: a message appended by a member, with a client
// message id, costs one round trip to PostgreSQL (relay_append, with
// lib/pq's binary parameters), however the transaction is made up inside.
func TestAppendIsOneRoundTrip(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	_, dsn := pgtest.NewDatabase(t)
	counter := &tripCounter{}
	db, err := postgres.NewPoolVia(dsn, postgres.PoolConfig{MaxOpenConns: 1}, func(d *postgres.Dialer) pq.Dialer {
		counter.dial = d
		return counter
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	convs, msgs := postgres.NewConversationRepository(db), postgres.NewMessageRepository(db)
	g, _, err := convs.CreateGroup(t.Context(), domain.Conversation{ID: "grp_rt", Kind: domain.KindGroup, Name: "rt",
		MemberIDs: []domain.UserID{"u_a", "u_b"}, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, id := range []string{"msg_rt1", "msg_rt2", "msg_rt3"} {
		before := counter.trips()
		m := domain.Message{ID: id, Channel: g.Channel(), SenderID: "u_a", Content: "hi", ClientMessageID: id}
		stored, _, err := msgs.Append(ctx, m, ports.AppendOptions{})
		if err != nil || stored.Seq != int64(i+1) {
			t.Fatalf("Append = %+v, %v", stored, err)
		}
		if trips := counter.trips() - before; trips != 1 {
			t.Fatalf("append %d took %d round trips, want 1", i+1, trips)
		}
	}
}

// TestAppendBatch: relay_append's outcomes, one per request.
func TestAppendBatch(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	sqlstoretest.CheckAppendBatch(t, postgres.NewConversationRepository(db), postgres.NewMessageRepository(db))
}
