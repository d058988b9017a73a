package redis_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/golang/mock/gomock"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/redis"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/mocks"
)

// moduleOptions is what the application gives redis.Module; the store
// knows no channel.
func moduleOptions(t *testing.T, url string, reg *prometheus.Registry) fx.Option {
	store := mocks.NewMockConversationRepository(gomock.NewController(t))
	store.EXPECT().ChannelStates(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
	return fx.Options(
		fx.NopLogger,
		fx.Supply(
			fx.Annotate(store, fx.As(new(ports.ConversationRepository))),
			cluster.Settings{HeadInterval: 10 * time.Millisecond},
			redis.Options{URL: url, Prefix: prefix()},
			memory.Options{QueueSize: 16},
			slog.New(slog.NewTextHandler(io.Discard, nil)),
			fx.Annotate(reg, fx.As(new(prometheus.Registerer))),
		),
		redis.Module,
	)
}

func TestModuleValidates(t *testing.T) {
	t.Parallel()
	if err := fx.ValidateApp(moduleOptions(t, "redis://127.0.0.1:6379/0", prometheus.NewRegistry()), fx.Invoke(func(ports.Notifier) {})); err != nil {
		t.Fatal(err)
	}
}

// TestModuleLifecycle starts and stops an application holding the module:
// the notifier becomes ready, delivers across Redis, registers its metrics,
// and stopping ends its subscriptions.
func TestModuleLifecycle(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	admin(t)
	reg := prometheus.NewRegistry()
	var n ports.Notifier
	app := fx.New(moduleOptions(t, url, reg), fx.Populate(&n))
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
	if err := clustertest.Eventually(t.Context(), n.Ping); err != nil {
		t.Fatal(err)
	}
	ch := clustertest.NewChannel()
	sub := clustertest.SubscribeConfirmed(t, n, ch)
	publish(t, n, clustertest.Message(ch, 1))
	expectMessage(t, sub, ch, 1)
	if got := counterValue(t, reg, "relay_notifier_resyncs_total"); got != 1 {
		t.Fatalf("relay_notifier_resyncs_total = %v, want 1", got)
	}

	if err := app.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	select {
	case <-sub.Done():
	default:
		t.Fatal("subscription still running after Stop")
	}
	if err := n.Publish(t.Context(), clustertest.Message(ch, 2)); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Publish after Stop = %v, want ErrUnavailable", err)
	}
	if err := n.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Stop = %v, want ErrUnavailable", err)
	}
}

// counterValue returns the value of the registered counter named name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
