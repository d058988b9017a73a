package tests

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/cmd/relay/app"
)

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	expect(t, a.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK, nil)
	expect(t, a.do(t, http.MethodGet, "/readyz", "", nil), http.StatusOK, nil)

	alice := newUser(t, "u_alice")
	sent := a.metric(t, "relay_messages_sent_total")
	a.send(t, alice, a.createDM(t, alice, "u_bob"), "counted")
	if got := a.metric(t, "relay_messages_sent_total"); got != sent+1 {
		t.Fatalf("relay_messages_sent_total went from %v to %v after one message", sent, got)
	}
	r := a.do(t, http.MethodGet, "/metrics", "", nil)
	expect(t, r, http.StatusOK, nil)
	for _, series := range []string{
		`relay_http_request_duration_seconds_count{code="201",method="POST",route="/api/messages"}`,
		"relay_sse_connections ",
		"relay_sse_cutoffs_total ",
	} {
		if !strings.Contains(string(r.body), "\n"+series) {
			t.Fatalf("/metrics lacks %s", series)
		}
	}
}

func TestStreamStats(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob, ops := newUser(t, "u_alice"), newUser(t, "u_bob"), newAdmin(t, "svc_ops")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")

	wantError(t, a.do(t, http.MethodGet, "/api/sse/stats", alice.token, nil), http.StatusForbidden, "")

	type stats struct {
		DMSubscriptions    map[string]int `json:"dmSubscriptions"`
		GroupSubscriptions map[string]int `json:"groupSubscriptions"`
		Connections        int            `json:"connections"`
	}
	get := func() stats {
		var s stats
		expect(t, a.do(t, http.MethodGet, "/api/sse/stats", ops.token, nil), http.StatusOK, &s)
		return s
	}
	if got, want := get(), (stats{map[string]int{}, map[string]int{}, 0}); !reflect.DeepEqual(got, want) {
		t.Fatalf("stats with no stream: %+v, want %+v", got, want)
	}

	s1 := a.openStream(t, alice, []string{dm.channel(), g.channel()}, streamOpts{})
	a.openStream(t, bob, []string{g.channel()}, streamOpts{})
	want := stats{map[string]int{dm.ID: 1}, map[string]int{g.ID: 2}, 2}
	if got := get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("stats: %+v, want %+v", got, want)
	}

	// Closing a stream is seen once the server noticed; the stats are
	// read until then, within the deadline.
	s1.close()
	want = stats{map[string]int{}, map[string]int{g.ID: 1}, 1}
	waitFor(t, "the closed stream to leave the stats", func() bool { return reflect.DeepEqual(get(), want) })
}

func TestUnreachableStore(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	expect(t, a.do(t, http.MethodGet, "/readyz", "", nil), http.StatusOK, nil)

	dropDatabase(t, a.dsn)

	wantError(t, a.do(t, http.MethodGet, "/readyz", "", nil), http.StatusServiceUnavailable, "")
	expect(t, a.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK, nil)
	// A stream that cannot start is told to come back: 200, a retry, the end.
	s := a.openStream(t, alice, []string{dm.channel()}, streamOpts{paused: true})
	s.start()
	blocks, err := s.waitEnd(t)
	if !errors.Is(err, io.EOF) || len(blocks) != 1 || !blocks[0].HasRetry || blocks[0].IsDispatched() {
		t.Fatalf("a stream on an unreachable store got %+v then %v, want only a retry and a clean end", blocks, err)
	}
}

// TestPostWithStoreGoneIs503: API.md, "Storage unavailable: 503 — and the
// message was not accepted". With the database gone the post must not be
// accepted, and clients must be told to retry (503), as /readyz already
// says the store is unavailable.
func TestPostWithStoreGoneIs503(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	dropDatabase(t, a.dsn)

	r := a.do(t, http.MethodPost, "/api/messages", alice.token, messageBody(dm, "lost?"))
	if r.status < 400 {
		t.Fatalf("a post with the store gone answered %s", r)
	}
	wantError(t, r, http.StatusServiceUnavailable, "")
}

// dropDatabase drops the database dsn names, ending its connections.
func dropDatabase(t *testing.T, dsn string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Path == "" {
		t.Skipf("cannot tell the database of %q", dsn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	admin, err := postgres.Open(ctx, pgtest.ServerURL(), postgres.PoolConfig{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := admin.ExecContext(ctx, "DROP DATABASE "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}

// TestDebugListener: DEBUG_ADDR serves the pprof profiles on a listener of
// its own; the API's address never does.
func TestDebugListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := ln.Addr().String()
	_ = ln.Close() // a free port for the service to take
	a := startApp(t, func(c *app.Config) { c.DebugAddr = debugAddr })

	resp, err := a.client.Get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("GET /debug/pprof/goroutine on DEBUG_ADDR: %d %.200s", resp.StatusCode, body)
	}
	r := a.do(t, http.MethodGet, "/debug/pprof/", "", nil)
	if r.status == http.StatusOK {
		t.Fatalf("the API's address serves /debug/pprof/: %d", r.status)
	}
}
