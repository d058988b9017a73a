package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
	"github.com/relaymsg/relay/domain"
)

// slow is a rate that refills nothing within a test.
func slow(burst int) httpapi.Rate { return httpapi.Rate{PerSecond: 0.001, Burst: burst} }

func withLimits(l httpapi.Limits) func(*envOptions) {
	return func(o *envOptions) { o.cfg.Limits = l }
}

// limitedCount is relay_limited_total{limit=limit} in e's registry.
func limitedCount(t *testing.T, e *env, limit string) float64 {
	t.Helper()
	families, err := e.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "relay_limited_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limit" && l.GetValue() == limit {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("relay_limited_total{limit=%q} not exported", limit)
	return 0
}

// expectRetryAfter fails t unless r has a Retry-After of whole seconds
// from lo to hi.
func expectRetryAfter(t *testing.T, h http.Header, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After = %q, want whole seconds from %d to %d", h.Get("Retry-After"), lo, hi)
	}
}

func TestPublishRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{Publish: slow(3), ServicePublish: slow(5)}))
	dm := e.seedDM("u_alice", "u_bob")
	alice := e.token("u_alice")
	body := map[string]any{"directMessageId": string(dm.ID), "content": "hi"}
	for range 3 {
		e.do(http.MethodPost, "/api/messages", alice, body).expect(t, http.StatusCreated, "")
	}
	for range 2 {
		r := e.do(http.MethodPost, "/api/messages", alice, body)
		r.expect(t, http.StatusTooManyRequests, "rate_limited")
		// 0.001/s: the next token is 1000 s away, and refusals spent none.
		expectRetryAfter(t, r.header, 1000, 1000)
	}
	var stored []map[string]any
	e.do(http.MethodGet, "/api/messages?directMessageId="+string(dm.ID), alice, nil).decode(t, &stored)
	if len(stored) != 3 {
		t.Fatalf("%d messages stored, want the 3 of the burst", len(stored))
	}
	if got := limitedCount(t, e, "publish_rate"); got != 2 {
		t.Fatalf("relay_limited_total{limit=publish_rate} = %v, want 2", got)
	}
	// Bob has a bucket of his own; a service token with alice's sub too.
	e.do(http.MethodPost, "/api/messages", e.token("u_bob"), body).expect(t, http.StatusCreated, "")
	for range 5 {
		e.do(http.MethodPost, "/api/messages", e.admin("u_alice"), body).expect(t, http.StatusCreated, "")
	}
	e.do(http.MethodPost, "/api/messages", e.admin("u_alice"), body).expect(t, http.StatusTooManyRequests, "rate_limited")
}

func TestGroupRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{DMCreate: slow(2), GroupCreate: slow(2), MemberAdd: slow(2)}))
	alice := e.token("u_alice")
	// Opening DMs with strangers grows their conversation lists too.
	for _, u := range []string{"u_bob", "u_carol"} {
		e.do(http.MethodPost, "/api/dms", alice, map[string]any{"memberIds": []string{"u_alice", u}}).expect(t, http.StatusCreated, "")
	}
	r := e.do(http.MethodPost, "/api/dms", alice, map[string]any{"memberIds": []string{"u_alice", "u_dave"}})
	r.expect(t, http.StatusTooManyRequests, "rate_limited")
	expectRetryAfter(t, r.header, 1, 1000)
	for range 2 {
		e.do(http.MethodPost, "/api/groups", alice, map[string]any{"name": "g", "memberIds": []string{}}).expect(t, http.StatusCreated, "")
	}
	r = e.do(http.MethodPost, "/api/groups", alice, map[string]any{"name": "g", "memberIds": []string{}})
	r.expect(t, http.StatusTooManyRequests, "rate_limited")
	expectRetryAfter(t, r.header, 1, 1000)
	var convs []map[string]any
	e.do(http.MethodGet, "/api/conversations", alice, nil).decode(t, &convs)
	if len(convs) != 4 {
		t.Fatalf("%d conversations stored, want 4 (2 DMs, 2 groups)", len(convs))
	}

	g := e.seedGroup("grp_team", "u_alice")
	path := "/api/groups/" + string(g.ID) + "/members"
	for _, u := range []string{"u_bob", "u_carol"} {
		e.do(http.MethodPost, path, alice, map[string]any{"userId": u}).expect(t, http.StatusNoContent, "")
	}
	e.do(http.MethodPost, path, alice, map[string]any{"userId": "u_dave"}).expect(t, http.StatusTooManyRequests, "rate_limited")
	// Rate limits of one operation leave the others alone.
	e.do(http.MethodPost, "/api/messages", alice, map[string]any{"groupId": string(g.ID), "content": "hi"}).
		expect(t, http.StatusCreated, "")
	if d, a, m := limitedCount(t, e, "dm_create_rate"), limitedCount(t, e, "group_create_rate"), limitedCount(t, e, "member_add_rate"); d != 1 || a != 1 || m != 1 {
		t.Fatalf("relay_limited_total dm_create_rate %v, group_create_rate %v, member_add_rate %v; want 1 each", d, a, m)
	}
}

// retryLo and retryHi bound the backoff of a refused stream with the
// default retry: at least the retry, jittered by up to half of it.
const retryLo, retryHi = 2 * time.Second, 3 * time.Second

// expectLimited reads c to its end and fails t unless it is the answer to
// a stream refused by a limit: 200, a retry from lo to hi (the same in
// Retry-After, in seconds), and a limited event with code.
func expectLimited(t *testing.T, c *ssetest.Client, code string, lo, hi time.Duration) {
	t.Helper()
	if c.Response.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type = %q", c.Response.Header.Get("Content-Type"))
	}
	ev := next(t, c)
	if !ev.HasRetry || ev.Retry < lo || ev.Retry > hi {
		t.Fatalf("first block = %q, want a retry from %s to %s", ev.Raw, lo, hi)
	}
	expectRetryAfter(t, c.Response.Header, int(lo/time.Second), int(hi/time.Second)+1)
	ev = next(t, c)
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if ev.Event != "limited" || json.Unmarshal([]byte(ev.Data), &body) != nil || body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("second block = %q, want event limited with code %s", ev.Raw, code)
	}
	if rest, err := io.ReadAll(c.Response.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the limited event: %q, %v; want the end of the stream", rest, err)
	}
}

func TestStreamsPerUserLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{MaxStreamsPerUser: 2}))
	dm := e.seedDM("u_alice", "u_bob")
	channels := []string{dm.String()}
	alice := e.token("u_alice")
	first := e.open(alice, channels, ssetest.Options{})
	preamble(t, first, dm.String())
	second := e.open(alice, channels, ssetest.Options{})
	preamble(t, second, dm.String())

	expectLimited(t, e.open(alice, channels, ssetest.Options{}), "too_many_streams", retryLo, retryHi)
	// The limit is the user's: bob, and a service token with alice's sub,
	// still connect.
	preamble(t, e.open(e.token("u_bob"), channels, ssetest.Options{}), dm.String())
	for range 3 {
		preamble(t, e.open(e.admin("u_alice"), channels, ssetest.Options{}), dm.String())
	}
	if got := limitedCount(t, e, "streams_per_user"); got != 1 {
		t.Fatalf("relay_limited_total{limit=streams_per_user} = %v, want 1", got)
	}

	// Closing a stream frees its slot, once its handler has returned.
	_ = first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := e.open(alice, channels, ssetest.Options{})
		ev := next(t, c)
		if ev2 := next(t, c); ev2.Event == "ready" {
			break
		} else if ev2.Event != "limited" || !ev.HasRetry {
			t.Fatalf("stream after closing one: %q %q", ev.Raw, ev2.Raw)
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("closing a stream never freed its slot")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamsTotalLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{MaxStreams: 2}))
	dm := e.seedDM("u_alice", "u_bob")
	channels := []string{dm.String()}
	// Service tokens are exempt from the per-user limit, not the total.
	for range 2 {
		preamble(t, e.open(e.admin("svc"), channels, ssetest.Options{}), dm.String())
	}
	expectLimited(t, e.open(e.admin("svc"), channels, ssetest.Options{}), "too_many_streams", retryLo, retryHi)
	expectLimited(t, e.open(e.token("u_alice"), channels, ssetest.Options{}), "too_many_streams", retryLo, retryHi)
	if got := limitedCount(t, e, "streams"); got != 2 {
		t.Fatalf("relay_limited_total{limit=streams} = %v, want 2", got)
	}
}

// A stream that never starts (the store down) gives its slot back.
func TestStreamSlotReleasedWhenTheStreamCannotStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{MaxStreamsPerUser: 1}))
	dm := e.seedDM("u_alice", "u_bob")
	e.store.setFail(fmt.Errorf("pq: %w", domain.ErrUnavailable))
	for range 3 {
		c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
		if rest, _ := io.ReadAll(c.Response.Body); string(rest) != "retry: 2000\n\n" {
			t.Fatalf("body = %q, want the bare retry of a transient failure, not a limit", rest)
		}
	}
	e.store.setFail(nil)
	preamble(t, e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{}), dm.String())
}

func TestSSEConnectRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{SSEConnect: httpapi.Rate{PerSecond: 0.5, Burst: 2}}),
		func(o *envOptions) { o.cfg.RetryInterval = 100 * time.Millisecond })
	dm := e.seedDM("u_alice", "u_bob")
	channels := []string{dm.String()}
	for _, u := range []string{"u_alice", "u_bob"} {
		c := e.open(e.token(u), channels, ssetest.Options{})
		if ev := next(t, c); !ev.HasRetry {
			t.Fatalf("first block %q", ev.Raw)
		}
		_ = c.Close()
	}
	// The bucket is the address's, whoever connects; the retry is the
	// bucket's delay (2 s for a token at 0.5/s), over the configured 100ms.
	c := e.open(e.admin("svc"), channels, ssetest.Options{})
	expectLimited(t, c, "rate_limited", 1900*time.Millisecond, 3*time.Second)
	if got := limitedCount(t, e, "sse_connect_rate"); got != 1 {
		t.Fatalf("relay_limited_total{limit=sse_connect_rate} = %v, want 1", got)
	}
	// A request that can never succeed is still its 4xx, not a retry.
	e.do(http.MethodGet, "/api/sse?channel=nonsense", e.token("u_alice"), nil).expect(t, http.StatusBadRequest, "")
}

func TestStreamSlotsReleaseOnce(t *testing.T) {
	t.Parallel()
	s := httpapi.NewStreamSlots(2, 3)
	alice := domain.Principal{UserID: "u_alice"}
	r1, limit := s.Acquire(alice)
	if limit != "" {
		t.Fatal(limit)
	}
	r2, _ := s.Acquire(alice)
	if _, limit := s.Acquire(alice); limit != "streams_per_user" {
		t.Fatalf("third stream of a user: limit %q, want streams_per_user", limit)
	}
	svc, _ := s.Acquire(domain.Principal{UserID: "u_alice", Admin: true})
	if _, limit := s.Acquire(domain.Principal{UserID: "svc", Admin: true}); limit != "streams" {
		t.Fatalf("fourth stream in all: limit %q, want streams", limit)
	}
	// Released twice (a deferred release and an explicit one, say), a slot
	// is given back once: the user's count must not go below the truth.
	r1()
	r1()
	if total, users := s.Open("u_alice"); total != 2 || users != 1 {
		t.Fatalf("after releasing one slot twice: %d open, %d of alice's; want 2 and 1", total, users)
	}
	r2()
	svc()
	if total, users := s.Open("u_alice"); total != 0 || users != 0 {
		t.Fatalf("after releasing everything: %d open, %d of alice's", total, users)
	}
}
