package tests

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/redis"
	"github.com/relaymsg/relay/cmd/relay/app"
)

// defaultRedisURL is the Redis the cluster tests use when TEST_REDIS_URL is
// unset.
const defaultRedisURL = "redis://127.0.0.1:6379/0"

// redisServer returns the test Redis's URL (TEST_REDIS_URL) and a client of
// it, closed when t ends. Like PostgreSQL, Redis is part of the suite: an
// unreachable server fails t; only -short skips it.
func redisServer(t *testing.T) (string, *goredis.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Redis; skipped in -short mode")
	}
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = defaultRedisURL
	}
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s unreachable (set TEST_REDIS_URL, or run with -short to skip): %v", u, err)
	}
	return u, c
}

// randomName is a short lowercase random string.
func randomName() string { return strings.ToLower(rand.Text()[:10]) }

// withHost returns rawURL with its host:port replaced by addr.
func withHost(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// instance is one Relay instance of a cluster: its own fx app and port.
type instance struct {
	*testApp
	name       string             // A, B, C: for failure messages
	clientName string             // CLIENT SETNAME of its Redis connections
	proxy      *clustertest.Proxy // between it and Redis; nil when it connects directly
}

// cluster is several instances sharing one fresh database and one Redis,
// under a Redis prefix of their own so that parallel tests do not hear
// each other.
type cluster struct {
	nodes    []*instance
	dsn      string
	redisURL string
	prefix   string
	redis    *goredis.Client // for inspecting and faulting the server
}

// clusterOptions shape startCluster.
type clusterOptions struct {
	size int // instances; 3 when zero
	// proxied lists the instances (by index) that reach Redis through a
	// proxy of their own, which the test can cut.
	proxied []int
	// postgres selects NOTIFIER=postgres (LISTEN/NOTIFY) instead of Redis.
	postgres bool
}

// startCluster starts the instances in-process with NOTIFIER=redis, each
// on its own port, and waits until every one is ready (its Redis subscriber
// connection is up). Everything stops when t ends.
func startCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	if o.postgres {
		return startPostgresCluster(t, dsn, o)
	}
	redisURL, rc := redisServer(t)
	c := &cluster{dsn: dsn, redisURL: redisURL, prefix: "relaytest:" + randomName() + ":", redis: rc}
	if o.size == 0 {
		o.size = 3
	}
	for i := range o.size {
		n := &instance{name: string(rune('A' + i)), clientName: "relaytest-" + randomName()}
		target := redisURL
		if slices.Contains(o.proxied, i) {
			n.proxy = clustertest.StartProxy(t, hostOf(t, redisURL))
			target = withHost(t, redisURL, n.proxy.Addr())
		}
		// The client name tells this test's connections apart in CLIENT
		// LIST; the service itself names them all "relay".
		named := fx.Decorate(func(opts redis.Options) redis.Options {
			opts.ClientName = n.clientName
			return opts
		})
		n.testApp = startAppOn(t, dsn, []fx.Option{named}, func(cfg *app.Config) {
			cfg.Notifier, cfg.RedisURL, cfg.RedisPrefix = app.NotifierRedis, target, c.prefix
			cfg.DBMaxOpenConns = 5 // three instances per test
		})
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		n.waitReady(t, http.StatusOK)
	}
	return c
}

// startPostgresCluster starts the instances with NOTIFIER=postgres: the
// database that stores the messages also carries the notifications.
func startPostgresCluster(t *testing.T, dsn string, o clusterOptions) *cluster {
	t.Helper()
	c := &cluster{dsn: dsn}
	if o.size == 0 {
		o.size = 3
	}
	for i := range o.size {
		n := &instance{name: string(rune('A' + i))}
		n.testApp = startAppOn(t, dsn, nil, func(cfg *app.Config) {
			cfg.Notifier = app.NotifierPostgres
			cfg.DBMaxOpenConns = 5
		})
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		n.waitReady(t, http.StatusOK)
	}
	return c
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// readyStatus returns the status of GET /readyz, or 0 if it got none.
func (c *api) readyStatus() int {
	r, err := c.request(http.MethodGet, "/readyz", "", nil)
	if err != nil {
		return 0
	}
	return r.status
}

// waitReady waits until the instance's /readyz answers status.
func (n *instance) waitReady(t *testing.T, status int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("/readyz of %s to answer %d", n.name, status), func() bool {
		return n.readyStatus() == status
	})
}

// sseStats is the body of GET /api/sse/stats.
type sseStats struct {
	DMSubscriptions    map[string]int `json:"dmSubscriptions"`
	GroupSubscriptions map[string]int `json:"groupSubscriptions"`
	Connections        int            `json:"connections"`
}

func (c *api) sseStats(t testing.TB, admin user) sseStats {
	t.Helper()
	var s sseStats
	expect(t, c.do(t, http.MethodGet, "/api/sse/stats", admin.token, nil), http.StatusOK, &s)
	return s
}

// redisClient is one connection in CLIENT LIST.
type redisClient struct {
	id, name string
	pubsub   bool
}

// clients returns the Redis connections of the cluster's instances.
func (c *cluster) clients(t *testing.T) []redisClient {
	t.Helper()
	names := map[string]bool{}
	for _, n := range c.nodes {
		names[n.clientName] = true
	}
	list, err := c.redis.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []redisClient
	for line := range strings.Lines(list) {
		fields := map[string]string{}
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if names[fields["name"]] {
			out = append(out, redisClient{id: fields["id"], name: fields["name"], pubsub: strings.Contains(fields["flags"], "P")})
		}
	}
	return out
}

// killClients kills every Redis connection of the cluster's instances
// (CLIENT KILL ID), once each of them has its subscriber connection, and
// returns how many it killed.
func (c *cluster) killClients(t *testing.T) int {
	t.Helper()
	var victims []redisClient
	waitFor(t, "every instance to have a Redis subscriber connection", func() bool {
		victims = c.clients(t)
		subscribers := map[string]bool{}
		for _, cl := range victims {
			if cl.pubsub {
				subscribers[cl.name] = true
			}
		}
		return len(subscribers) == len(c.nodes)
	})
	killed := 0
	for _, v := range victims {
		n, err := c.redis.ClientKillByFilter(t.Context(), "ID", v.id).Result()
		if err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", v.id, err)
		}
		killed += int(n)
	}
	return killed
}

// follower reads one stream in the background and keeps its message
// events, so that a test can watch many streams at once. Any other event
// (channel_removed, token_expired, a second ready) is recorded as
// unexpected; the stream ending is recorded too.
type follower struct {
	name string
	s    *stream
	done chan struct{} // closed when the reading goroutine returns

	mu         sync.Mutex
	msgs       []message
	unexpected []string
	ended      bool
	changed    chan struct{} // closed and replaced on every change
}

// follow starts reading s, which must have read its preamble. The
// follower stops when s is closed, at the latest when t ends.
func follow(t *testing.T, name string, s *stream) *follower {
	f := &follower{name: name, s: s, done: make(chan struct{}), changed: make(chan struct{})}
	go f.run()
	t.Cleanup(func() {
		s.close()
		<-f.done
	})
	return f
}

func (f *follower) run() {
	defer close(f.done)
	for {
		select {
		case ev := <-f.s.blocks:
			if !ev.IsDispatched() {
				continue // a heartbeat
			}
			var m message
			err := json.Unmarshal([]byte(ev.Data), &m)
			f.update(func() {
				if ev.Event != "message" || !ev.HasID || err != nil {
					f.unexpected = append(f.unexpected, ev.Raw)
					return
				}
				f.msgs = append(f.msgs, m)
			})
		case <-f.s.ended:
			f.update(func() { f.ended = true })
			return
		}
	}
}

func (f *follower) update(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
	close(f.changed)
	f.changed = make(chan struct{})
}

// received returns a copy of the messages received so far.
func (f *follower) received() []message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]message(nil), f.msgs...)
}

// waitUntil waits up to within for cond to hold of the messages received
// so far. The stream ending or an unexpected event fails t: the client
// would have had to reconnect.
func (f *follower) waitUntil(t testing.TB, within time.Duration, what string, cond func([]message) bool) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		f.mu.Lock()
		ok := cond(f.msgs)
		ended, unexpected, n, changed := f.ended, f.unexpected, len(f.msgs), f.changed
		f.mu.Unlock()
		switch {
		case len(unexpected) > 0:
			t.Fatalf("stream %s got unexpected events %q", f.name, unexpected)
		case ok:
			return
		case ended:
			t.Fatalf("stream %s ended (%v) after %d messages, before %s", f.name, f.s.err, n, what)
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("stream %s: no %s within %s (has %d messages, last seqs %v)", f.name, what, within, n, lastSeqs(f.received(), 5))
		}
	}
}

// waitCount waits until the stream has received at least n messages.
func (f *follower) waitCount(t testing.TB, within time.Duration, n int) {
	t.Helper()
	f.waitUntil(t, within, fmt.Sprintf("%d messages", n), func(got []message) bool { return len(got) >= n })
}

// waitMessage waits until the stream has received the message with id.
func (f *follower) waitMessage(t testing.TB, within time.Duration, id string) {
	t.Helper()
	f.waitUntil(t, within, "message "+id, func(got []message) bool {
		for _, m := range got {
			if m.ID == id {
				return true
			}
		}
		return false
	})
}

// wantExactly fails t unless the stream received exactly want, in seq
// order per channel: no message missing, duplicated, reordered or altered.
// The stream must still be open.
func (f *follower) wantExactly(t testing.TB, want []message) {
	t.Helper()
	got := f.received()
	f.mu.Lock()
	ended := f.ended
	f.mu.Unlock()
	if ended {
		t.Fatalf("stream %s ended: the client would have reconnected", f.name)
	}
	gotBy, wantBy := splitByChannel(got), splitByChannel(want)
	if len(gotBy) != len(wantBy) {
		t.Fatalf("stream %s received messages of %d channels, want %d", f.name, len(gotBy), len(wantBy))
	}
	for ch, w := range wantBy {
		wantSameMessages(t, "stream "+f.name+", "+ch, gotBy[ch], w)
	}
}

// splitByChannel groups msgs by channel, keeping their order.
func splitByChannel(msgs []message) map[string][]message {
	out := map[string][]message{}
	for _, m := range msgs {
		out[m.Channel] = append(out[m.Channel], m)
	}
	return out
}

func lastSeqs(msgs []message, n int) []int64 {
	s := seqs(msgs)
	return s[max(len(s)-n, 0):]
}

// posters post into one conversation, one goroutine per target instance,
// until stopped, and keep what was stored.
type posters struct {
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup

	mu    sync.Mutex
	sent  []message
	count []int // messages stored per poster
	errs  []error
}

// startPosters starts one poster per target, target i posting as
// senders[i] every interval (a pace, so that a fault lasts a few messages;
// nothing depends on it), into convs in turn. They stop when stopPosting
// is called, at the latest when t ends.
func startPosters(t *testing.T, convs []conversation, interval time.Duration, targets []*instance, senders []user) *posters {
	p := &posters{stop: make(chan struct{}), count: make([]int, len(targets))}
	for i, target := range targets {
		p.wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-p.stop:
					return
				case <-tick.C:
				}
				conv := convs[n%len(convs)]
				_, m, err := target.postMessage(senders[i], conv, fmt.Sprintf("%s %s %d", target.name, senders[i].id, n))
				p.mu.Lock()
				if err != nil {
					p.errs = append(p.errs, fmt.Errorf("POST on %s: %w", target.name, err))
				} else {
					p.sent = append(p.sent, m)
					p.count[i]++
				}
				p.mu.Unlock()
			}
		})
	}
	t.Cleanup(p.stopPosting)
	return p
}

// stopPosting stops the posters and waits for them. It is safe to call
// more than once (from the test goroutine).
func (p *posters) stopPosting() {
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	p.wg.Wait()
}

// waitEach waits until every poster has stored at least n more messages
// than in from (a snapshot of counts), failing t on any POST that did not
// answer 201.
func (p *posters) waitEach(t *testing.T, from []int, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("every poster to store %d more messages", n), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.errs) > 0 {
			t.Fatalf("a POST failed: %v", p.errs[0])
		}
		for i, c := range p.count {
			if c < from[i]+n {
				return false
			}
		}
		return true
	})
}

// counts returns a snapshot of the messages stored per poster.
func (p *posters) counts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.count...)
}

// result returns every message stored, failing t if any POST did not
// answer 201. Call it after stopPosting.
func (p *posters) result(t *testing.T) []message {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) > 0 {
		t.Fatalf("%d POSTs failed; the first: %v", len(p.errs), p.errs[0])
	}
	return append([]message(nil), p.sent...)
}

// inSeqOrder returns msgs sorted by channel and seq, after checking that
// each channel's seqs are 1…n, each exactly once.
func inSeqOrder(t *testing.T, msgs []message) []message {
	t.Helper()
	var out []message
	by := splitByChannel(msgs)
	for _, ch := range slices.Sorted(maps.Keys(by)) {
		list := by[ch]
		sorted := make([]message, len(list))
		for _, m := range list {
			if m.Seq < 1 || m.Seq > int64(len(list)) || sorted[m.Seq-1].ID != "" {
				t.Fatalf("POST answers in %s have seqs %v: want 1…%d, each once", ch, seqs(list), len(list))
			}
			sorted[m.Seq-1] = m
		}
		out = append(out, sorted...)
	}
	return out
}

// wantSameMessages fails t unless got is exactly want, in order and field
// by field (a stream's message is the POST's answer).
func wantSameMessages(t testing.TB, what string, got, want []message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d messages, seqs %v; want %d, seqs %v", what, len(got), seqs(got), len(want), seqs(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: message %d is %s, want %s", what, i, dump(got[i]), dump(want[i]))
		}
	}
}

func dump(m message) string {
	raw, _ := json.Marshal(m)
	return string(raw)
}

// sortedLike returns got reordered as want, by message id, leaving any
// message want does not name at the end (so that the comparison fails).
func sortedLike(got, want []message) []message {
	byID := map[string]message{}
	for _, m := range got {
		byID[m.ID] = m
	}
	out := make([]message, 0, len(got))
	for _, m := range want {
		if g, ok := byID[m.ID]; ok {
			out = append(out, g)
			delete(byID, m.ID)
		}
	}
	for _, m := range got {
		if _, ok := byID[m.ID]; ok {
			out = append(out, m)
		}
	}
	return out
}
