package redis_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/redis"
)

// redisURL returns the test server's URL. Only a -short run may skip: an
// unreachable server fails the test, so that CI cannot pass without Redis.
func redisURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Redis")
	}
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	return u
}

// admin returns a plain client of the test server, for inspecting it.
func admin(t *testing.T) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s unreachable (set TEST_REDIS_URL, or run with -short to skip): %v", redisURL(t), err)
	}
	return c
}

// prefix returns a Redis prefix no other test uses.
func prefix() string { return "relaytest:" + strings.ToLower(rand.Text()[:10]) + ":" }

// withHost returns rawURL pointing at addr instead of its own host.
func withHost(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// node is one Relay instance's notifier over a Redis transport.
type node struct {
	*cluster.Notifier
	transport *redis.Transport
	name      string // the client name of its connections
	logs      *clustertest.LogRecorder
}

// newNode starts a notifier over a transport configured by opts, whose
// URL, logger and client name it fills in when empty, and waits until it is
// ready.
func newNode(t *testing.T, opts redis.Options) node {
	t.Helper()
	admin(t) // fails the test early if Redis is down
	if opts.URL == "" {
		opts.URL = redisURL(t)
	}
	if opts.PingTimeout == 0 {
		opts.PingTimeout = 500 * time.Millisecond
	}
	opts.ClientName = "relaytest-" + strings.ToLower(rand.Text()[:10])
	logs := clustertest.NewLogRecorder(t)
	opts.Logger = slog.New(logs)
	tr, err := redis.NewTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	n, err := cluster.NewNotifier(tr, cluster.Options{
		Hub: memory.Options{QueueSize: 64}, Logger: opts.Logger, RetryInterval: 20 * time.Millisecond,
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
	return node{Notifier: n, transport: tr, name: opts.ClientName, logs: logs}
}

func (n node) waitReady(t *testing.T) {
	t.Helper()
	if err := clustertest.Eventually(t.Context(), n.Ping); err != nil {
		t.Fatal(err)
	}
}

// pubsubClientID returns the id of the subscriber connection named name.
func pubsubClientID(t *testing.T, c *goredis.Client, name string) string {
	t.Helper()
	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name && fields["sub"] != "0" && fields["sub"] != "" {
			return fields["id"]
		}
	}
	t.Fatalf("no subscriber connection named %s in CLIENT LIST:\n%s", name, list)
	return ""
}

// redisChannels returns the channels with subscribers under prefix.
func redisChannels(ctx context.Context, c *goredis.Client, prefix string) (map[string]bool, error) {
	names, err := c.PubSubChannels(ctx, prefix+"*").Result()
	if err != nil {
		return nil, fmt.Errorf("PUBSUB CHANNELS: %w", err)
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}
