package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// A member removed from a group is told, and gets nothing more from it;
// its other channels go on.
func TestStreamChannelRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	bob := e.token("u_bob")
	c := e.open(e.token("u_alice"), []string{g.String(), dm.String()}, ssetest.Options{})
	preamble(t, c, g.String(), dm.String())
	stats := func() string {
		return string(e.do(http.MethodGet, "/api/sse/stats", e.admin("ops"), nil).body)
	}
	if got, want := stats(), `{"dmSubscriptions":{"dm_u_alice_u_bob":1},"groupSubscriptions":{"grp_team":1},"connections":1}`+"\n"; got != want {
		t.Fatalf("stats = %s, want %s", got, want)
	}

	e.do(http.MethodDelete, "/api/groups/grp_team/members/u_alice", bob, nil).expect(t, http.StatusNoContent, "")
	ev := next(t, c)
	if ev.Event != "channel_removed" || ev.Data != `{"channel":"group:grp_team"}` || !ev.HasID {
		t.Fatalf("event = %q, want channel_removed", ev.Raw)
	}
	cursor, err := domain.ParseCursor(ev.ID)
	if err != nil || cursor.Len() != 1 {
		t.Fatalf("channel_removed id %q: cursor of %d channels, err %v; want the DM only", ev.ID, cursor.Len(), err)
	}
	if got, want := stats(), `{"dmSubscriptions":{"dm_u_alice_u_bob":1},"groupSubscriptions":{},"connections":1}`+"\n"; got != want {
		t.Fatalf("stats after removal = %s, want %s", got, want)
	}

	e.send(bob, g, "not for alice")
	e.send(bob, dm, "for alice")
	if ev := nextEvent(t, c); !strings.Contains(ev.Data, `"content":"for alice"`) {
		t.Fatalf("next event = %q, want the DM message", ev.Raw)
	}
}

// When the caller is removed from the only channel of its stream, the
// stream ends after telling it.
func TestStreamEndsWithoutChannels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	c := e.open(e.token("u_alice"), []string{g.String()}, ssetest.Options{})
	preamble(t, c, g.String())
	e.do(http.MethodDelete, "/api/groups/grp_team/members/u_alice", e.token("u_bob"), nil).expect(t, http.StatusNoContent, "")
	if ev := next(t, c); ev.Event != "channel_removed" {
		t.Fatalf("event = %q", ev.Raw)
	}
	if _, err := c.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last channel: %v, want the end of the stream", err)
	}
}

func TestStreamTokenExpired(t *testing.T) {
	t.Parallel()
	// The handler's clock runs an hour late, so it accepts a token whose
	// exp passed a minute ago by the real clock, which the stream follows:
	// the stream's expiry fires at once, without a test waiting for it.
	past := time.Now().Add(-time.Hour)
	e := newEnv(t, func(o *envOptions) { o.now = func() time.Time { return past } })
	dm := e.seedDM("u_alice", "u_bob")
	tok, err := authtoken.Sign(testSecret, "u_alice", false, time.Hour-time.Minute, past)
	if err != nil {
		t.Fatal(err)
	}
	c := e.open(tok, []string{dm.String()}, ssetest.Options{})
	preamble(t, c, dm.String())
	ev := next(t, c)
	if ev.Raw != "event: token_expired\ndata: {}\n\n" {
		t.Fatalf("event = %q, want token_expired without an id", ev.Raw)
	}
	if _, err := c.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after token_expired: %v, want the end of the stream", err)
	}
}

// A subscriber the notifier cut off for falling behind loses its stream,
// and the cut-off is counted.
func TestStreamCutOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
	preamble(t, c, dm.String())
	e.notifier.mu.Lock()
	for s := range e.notifier.subs {
		s.end(ports.ErrSlowSubscriber)
	}
	e.notifier.mu.Unlock()
	if _, err := c.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the cut-off: %v, want the end of the stream", err)
	}
	if got := metricValue(t, e, "relay_sse_cutoffs_total"); got != 1 {
		t.Errorf("relay_sse_cutoffs_total = %v, want 1", got)
	}
}

func TestStreamStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	e.do(http.MethodGet, "/api/sse/stats", e.token("u_alice"), nil).expect(t, http.StatusForbidden, "forbidden")

	r := e.do(http.MethodGet, "/api/sse/stats", e.admin("ops"), nil)
	r.expect(t, http.StatusOK, "")
	if string(r.body) != `{"dmSubscriptions":{},"groupSubscriptions":{},"connections":0}`+"\n" {
		t.Fatalf("idle stats = %s", r.body)
	}
	a := e.open(e.token("u_alice"), []string{dm.String(), g.String()}, ssetest.Options{})
	preamble(t, a, dm.String(), g.String())
	b := e.open(e.token("u_bob"), []string{dm.String()}, ssetest.Options{QueryToken: true})
	preamble(t, b, dm.String())

	r = e.do(http.MethodGet, "/api/sse/stats", e.admin("ops"), nil)
	want := `{"dmSubscriptions":{"dm_u_alice_u_bob":2},"groupSubscriptions":{"grp_team":1},"connections":2}` + "\n"
	if string(r.body) != want {
		t.Fatalf("stats = %s, want %s", r.body, want)
	}
	if got := metricValue(t, e, "relay_sse_connections"); got != 2 {
		t.Errorf("relay_sse_connections = %v", got)
	}
	if got := metricValue(t, e, "relay_sse_subscriptions"); got != 3 {
		t.Errorf("relay_sse_subscriptions = %v", got)
	}

	// Once every stream is gone (shutting down waits for them), the
	// gauges are back to zero.
	e.shutdown()
	for _, name := range []string{"relay_sse_connections", "relay_sse_subscriptions"} {
		if got := metricValue(t, e, name); got != 0 {
			t.Errorf("%s = %v after every stream closed", name, got)
		}
	}
	if n := e.notifier.count(); n != 0 {
		t.Errorf("%d notifier subscriptions left open after every stream closed", n)
	}
}

// A message fanned out to many streams is marshalled once.
func TestStreamEncodesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	var streams []*ssetest.Client
	for _, user := range []string{"u_alice", "u_alice", "u_bob"} {
		c := e.open(e.token(user), []string{dm.String()}, ssetest.Options{})
		preamble(t, c, dm.String())
		streams = append(streams, c)
	}
	before := e.handler.MessageEncodes()
	r := e.do(http.MethodPost, "/api/messages", e.token("u_bob"), `{"directMessageId":"dm_u_alice_u_bob","content":"fan out"}`)
	r.expect(t, http.StatusCreated, "")
	for _, c := range streams {
		if ev := nextEvent(t, c); ev.Data+"\n" != string(r.body) {
			t.Fatalf("event data %q differs from %s", ev.Data, r.body)
		}
	}
	if got := e.handler.MessageEncodes() - before; got != 1 {
		t.Fatalf("the message was marshalled %d times for 3 streams and 1 POST, want 1", got)
	}
}
