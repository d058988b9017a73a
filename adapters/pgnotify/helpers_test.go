package pgnotify_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Log messages the tests count.
const (
	lostLog     = "postgres listener connection lost"
	failedLog   = "postgres listener connection failed"
	restoredLog = "postgres listener connection restored"
)

// node is one Relay instance: a notifier over a PostgreSQL transport and,
// as Module wires it, a message repository that notifies with the
// notifier's instance id.
type node struct {
	*cluster.Notifier
	messages *postgres.MessageRepository
	appName  string // of its listener connection
	logs     *clustertest.LogRecorder
}

// newNode starts a node on db (whose DSN is dsn) with opts, filling in the
// DSN, the application name, the logger and short reconnect pauses, and
// StoreNotifies. It does not wait until the node is ready.
func newNode(t *testing.T, db *sqlx.DB, dsn string, opts pgnotify.Options) node {
	t.Helper()
	if opts.DSN == "" {
		opts.DSN = dsn
	}
	opts.ApplicationName = "relaytest_" + strings.ToLower(rand.Text()[:10])
	opts.StoreNotifies = true
	if opts.MaxReconnect == 0 {
		opts.MaxReconnect = 100 * time.Millisecond
	}
	logs := clustertest.NewLogRecorder(t)
	opts.Logger = slog.New(logs)
	n, err := pgnotify.NewNotifier(db, opts, cluster.Options{
		Hub: memory.Options{QueueSize: 64}, RetryInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	repo := postgres.NewMessageRepository(db, pgnotify.WithNotify(opts.NotifyConfig(n.InstanceID())))
	return node{Notifier: n, messages: repo, appName: opts.ApplicationName, logs: logs}
}

func (n node) waitReady(t *testing.T) {
	t.Helper()
	if err := clustertest.Eventually(t.Context(), n.Ping); err != nil {
		t.Fatal(err)
	}
}

// send does what SendMessage does: store the message, then publish it.
func (n node) send(t *testing.T, ch domain.ChannelID, content string) domain.Message {
	t.Helper()
	m, _, err := n.messages.Append(t.Context(), domain.Message{
		ID: "msg_" + strings.ToLower(rand.Text()[:12]), Channel: ch, SenderID: "u_alice",
		Content: content, CreatedAt: time.Now(),
	}, ports.AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := n.Publish(t.Context(), domain.MessageEvent(m)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return m
}

// newGroup stores a group and returns its channel.
func newGroup(t *testing.T, db *sqlx.DB) domain.ChannelID {
	t.Helper()
	id := domain.ConversationID("grp_" + strings.ToLower(rand.Text()[:12]))
	g, _, err := postgres.NewConversationRepository(db).CreateGroup(t.Context(), domain.Conversation{
		ID: id, Kind: domain.KindGroup, Name: "t", MemberIDs: []domain.UserID{"u_alice"},
	})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	return g.Channel()
}

// expectMessage fails unless the next event of sub is m, whole.
func expectMessage(t *testing.T, sub ports.Subscription, m domain.Message) {
	t.Helper()
	ev := clustertest.Next(t, sub)
	got := ev.Message
	if ev.Kind != domain.EventMessage || got.ID != m.ID || got.Seq != m.Seq || got.Channel != m.Channel ||
		got.Content != m.Content || !got.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("received %+v, want message %d of %s", ev, m.Seq, m.Channel)
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

// failing checks that ping fails the way readiness needs.
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

// allowConnections opens or closes db's database to new connections; the
// open ones stay. A test that closes it reopens it in its cleanup.
func allowConnections(t *testing.T, db *sqlx.DB, allow bool) {
	t.Helper()
	ctx := context.Background() // cleanups run it too
	var name string
	if err := db.GetContext(ctx, &name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	// A database cannot refuse connections from a session of its own.
	admin, err := postgres.Open(ctx, pgtest.ServerURL(), postgres.PoolConfig{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	stmt := fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", pq.QuoteIdentifier(name), allow)
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// terminate ends the server process of the connections named appName and
// returns how many there were.
func terminate(t *testing.T, db *sqlx.DB, appName string) int {
	t.Helper()
	var killed []bool
	if err := db.SelectContext(t.Context(), &killed,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, appName); err != nil {
		t.Fatalf("pg_terminate_backend: %v", err)
	}
	return len(killed)
}
