package pgnotify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// moduleOptions is what the application gives postgres.Module and, with
// withNotifier, pgnotify.Module in place of memory.Module.
func moduleOptions(dsn string, withNotifier bool) fx.Option {
	notifier := memory.Module
	if withNotifier {
		notifier = fx.Options(fx.Supply(pgnotify.Options{}), pgnotify.Module)
	}
	return fx.Options(
		fx.NopLogger,
		fx.Supply(
			postgres.Config{DSN: dsn},
			memory.Options{QueueSize: 16},
			slog.New(slog.NewTextHandler(io.Discard, nil)),
			fx.Annotate(prometheus.NewRegistry(), fx.As(new(prometheus.Registerer))),
		),
		postgres.Module,
		notifier,
	)
}

// TestModuleValidates checks both wirings: postgres.Module works without
// the notifier's NotifyConfig, and with it.
func TestModuleValidates(t *testing.T) {
	t.Parallel()
	const dsn = "postgres://postgres@127.0.0.1:5432/relay?sslmode=disable"
	use := fx.Invoke(func(ports.Notifier, ports.MessageRepository) {})
	for _, withNotifier := range []bool{false, true} {
		if err := fx.ValidateApp(moduleOptions(dsn, withNotifier), use); err != nil {
			t.Fatalf("with pgnotify.Module %v: %v", withNotifier, err)
		}
	}
}

// TestModuleLifecycle runs an application with both modules beside an
// instance of its own: the application's repository NOTIFYs what it
// stores, with the application's instance id, so the other instance gets
// the message and the application does not get it twice.
func TestModuleLifecycle(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	var (
		n    ports.Notifier
		msgs ports.MessageRepository
	)
	app := fx.New(moduleOptions(dsn, true), fx.Populate(&n, &msgs))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = app.Stop(context.Background())
		}
	})
	other := newNode(t, db, dsn, pgnotify.Options{})
	clustertest.Await(t, "application ready", n.Ping)
	other.waitReady(t)
	ch := newGroup(t, db)
	local := clustertest.SubscribeConfirmed(t, n, ch)
	remote := clustertest.SubscribeConfirmed(t, other, ch)

	var sent []domain.Message
	for _, content := range []string{"one", "two"} {
		m, _, err := msgs.Append(t.Context(), domain.Message{ID: "msg_" + content, Channel: ch, SenderID: "u_alice", Content: content, CreatedAt: time.Now()}, ports.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Publish(t.Context(), domain.MessageEvent(m)); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	for _, m := range sent {
		expectMessage(t, remote, m)
	}
	// The hub delivered them; their NOTIFYs' echoes, had they not been
	// dropped, would come before "three", which crosses the same listener.
	for _, m := range sent {
		expectMessage(t, local, m)
	}
	expectMessage(t, local, other.send(t, ch, "three"))

	if err := app.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	select {
	case <-local.Done():
	default:
		t.Fatal("subscription still running after Stop")
	}
	if err := n.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Stop = %v, want ErrUnavailable", err)
	}
}
