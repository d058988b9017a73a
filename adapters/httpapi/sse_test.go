package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
	"github.com/relaymsg/relay/domain"
)

func TestStreamDeliversMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	c := e.open(e.token("u_alice"), []string{dm.String(), g.String(), dm.String()}, ssetest.Options{})

	hdr := c.Response.Header
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := hdr.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	ready := preamble(t, c, dm.String(), g.String())

	// The event's data is byte for byte what POST answered, on one line.
	r := e.do(http.MethodPost, "/api/messages", e.token("u_bob"), `{"groupId":"grp_team","content":"hello"}`)
	r.expect(t, http.StatusCreated, "")
	ev := next(t, c)
	if ev.Event != "message" || ev.DataLines != 1 || ev.Data+"\n" != string(r.body) {
		t.Fatalf("event = %q, want the message %s", ev.Raw, r.body)
	}
	cursor, err := domain.ParseCursor(ev.ID)
	if err != nil {
		t.Fatalf("event id %q is not a cursor: %v", ev.ID, err)
	}
	if cursor.String() == ready.ID {
		t.Fatal("the message event's cursor did not move")
	}
	e.send(e.token("u_bob"), dm, "second")
	if ev := nextEvent(t, c); !strings.Contains(ev.Data, `"content":"second"`) {
		t.Fatalf("event = %q", ev.Raw)
	}
	if got := metricValue(t, e, "relay_messages_delivered_total"); got != 2 {
		t.Errorf("relay_messages_delivered_total = %v, want 2", got)
	}
}

// A client reconnecting with its cursor gets what it missed, in order,
// and nothing twice, whether the cursor comes in the header or the query.
func TestStreamResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	alice, bob := e.token("u_alice"), e.token("u_bob")
	c := e.open(alice, []string{dm.String()}, ssetest.Options{})
	ready := preamble(t, c, dm.String())
	e.send(bob, dm, "one")
	first := nextEvent(t, c)
	_ = c.Close()
	e.send(bob, dm, "two")
	e.send(bob, dm, "three")

	header := e.open(alice, []string{dm.String()}, ssetest.Options{LastEventID: first.ID})
	query, err := ssetest.OpenURL(t.Context(), e.client,
		e.server.URL+"/api/sse?channel="+url.QueryEscape(dm.String())+"&lastEventId="+first.ID, ssetest.Options{Token: alice})
	if err != nil {
		t.Fatal(err)
	}
	defer query.Close()
	for _, c := range []*ssetest.Client{header, query} {
		preamble(t, c, dm.String())
		for _, want := range []string{"two", "three"} {
			if ev := nextEvent(t, c); !strings.Contains(ev.Data, `"content":"`+want+`"`) {
				t.Fatalf("replayed %q, want %q", ev.Data, want)
			}
		}
		_ = c.Close()
	}

	// From the ready cursor, everything since is replayed.
	c = e.open(alice, []string{dm.String()}, ssetest.Options{LastEventID: ready.ID})
	preamble(t, c, dm.String())
	for _, want := range []string{"one", "two", "three"} {
		if ev := nextEvent(t, c); !strings.Contains(ev.Data, `"content":"`+want+`"`) {
			t.Fatalf("replayed %q, want %q", ev.Data, want)
		}
	}
}

// Whatever a message holds, it is one data line that decodes back to the
// exact content: no line break, "id:" or "data:" in content can forge an
// event or a field.
func TestStreamFramingSurvivesHostileContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
	preamble(t, c, dm.String())
	contents := []string{
		"a\n\ndata: x\r\nid: y",
		"x\r\rid: forged\revent: message\rdata: {}\r\r",
		"tail\n\n",
		"x: ping\n\n: comment",
		// NUL and the other C0 controls but tab, LF and CR are refused
		// (domain.NewMessage); DEL and C1 controls are content.
		"del\x7fbyte, C1 \u0085 next line and unicode \u2028 line \u2029 separators",
	}
	for _, content := range contents {
		e.send(e.token("u_bob"), dm, content)
		ev := next(t, c)
		if ev.Event != "message" || ev.DataLines != 1 || strings.Count(ev.Raw, "\n") != 4 || ev.Comments != nil {
			t.Fatalf("content %q broke the framing: %q", content, ev.Raw)
		}
		var m struct{ Content string }
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(content); m.Content != want {
			t.Fatalf("content = %q, want %q", m.Content, want)
		}
	}
}

// The writer itself never lets a payload break the framing, even one that
// is not JSON: data lines are split as the client joins them, and a field
// that cannot be split is refused.
func TestEventWriterFraming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, event, data string
		wantRaw, wantData     string
		wantErr               bool
	}{
		{"one line", "c1", "message", `{"a":1}`, "id: c1\nevent: message\ndata: {\"a\":1}\n\n", `{"a":1}`, false},
		{"no id", "", "token_expired", `{}`, "event: token_expired\ndata: {}\n\n", `{}`, false},
		{"line breaks of every kind", "c2", "message", "a\nb\r\nc\rd", "id: c2\nevent: message\ndata: a\ndata: b\ndata: c\ndata: d\n\n", "a\nb\nc\nd", false},
		{"field lookalikes", "c3", "message", "x\nid: forged\n\nevent: evil", "id: c3\nevent: message\ndata: x\ndata: id: forged\ndata: \ndata: event: evil\n\n", "x\nid: forged\n\nevent: evil", false},
		{"id with LF", "c\nid: x", "message", "{}", "", "", true},
		{"id with NUL", "c\x00", "message", "{}", "", "", true},
		{"event with CR", "c4", "message\r", "{}", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			err := httpapi.WriteEvent(rec, tt.id, tt.event, []byte(tt.data))
			if tt.wantErr {
				if err == nil || rec.body.Len() != 0 {
					t.Fatalf("err = %v, wrote %q; want a refusal that writes nothing", err, rec.body.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.body.String() != tt.wantRaw {
				t.Fatalf("raw = %q, want %q", rec.body.String(), tt.wantRaw)
			}
			ev, err := ssetest.NewReader(strings.NewReader(rec.body.String())).Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Data != tt.wantData || ev.ID != tt.id {
				t.Fatalf("parsed %+v, want data %q id %q", ev, tt.wantData, tt.id)
			}
		})
	}
	if err := httpapi.WriteComment(newRecorder(), "ping\n\ndata: x"); err == nil {
		t.Error("a comment with a line break was written")
	}
}

func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.heartbeat = 5 * time.Millisecond })
	dm := e.seedDM("u_alice", "u_bob")
	c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
	preamble(t, c, dm.String())
	for range 2 {
		if ev := next(t, c); ev.Raw != ": ping\n\n" || ev.IsDispatched() {
			t.Fatalf("block = %q, want the heartbeat", ev.Raw)
		}
	}
}

// A failure that a retry can fix is 200 with only `retry:`, so that the
// browser comes back instead of giving up.
func TestStreamTransientFailureAsksForRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(e *env)
	}{
		{"notifier unavailable", func(e *env) { e.notifier.subscribeErr = fmt.Errorf("redis: %w", domain.ErrUnavailable) }},
		{"store unavailable", func(e *env) { e.store.setFail(fmt.Errorf("pq: %w", domain.ErrUnavailable)) }},
		{"unexpected error", func(e *env) { e.store.setFail(errors.New("bug")) }},
		{"shutting down", func(e *env) { e.handler.CloseStreams() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dm := e.seedDM("u_alice", "u_bob")
			tt.setup(e)
			c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
			if ct := c.Response.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			rest, err := io.ReadAll(c.Response.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != "retry: 2000\n\n" {
				t.Fatalf("body = %q, want only the retry", rest)
			}
		})
	}
}

// A 4xx is only for a request that can never succeed.
func TestStreamRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	valid := domain.NewCursor(domain.Position{Number: 1, Seq: 0}).String()
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("group:grp_%d", i)
	}
	same := make([]string, 100)
	for i := range same {
		same[i] = dm.String()
	}
	tests := []struct {
		name     string
		channels []string
		opts     ssetest.Options
		query    string
		status   int
		code     string
	}{
		{"no channel", nil, ssetest.Options{}, "", 400, "validation_failed"},
		{"101 channels", many, ssetest.Options{}, "", 400, "validation_failed"},
		{"malformed channel", []string{"dm_u_alice_u_bob"}, ssetest.Options{}, "", 400, "validation_failed"},
		{"unknown kind", []string{"chan:x"}, ssetest.Options{}, "", 400, "validation_failed"},
		{"a user channel", []string{"user:u_alice"}, ssetest.Options{}, "", 400, "validation_failed"},
		{"not a member", []string{"dm:dm_u_bob_u_carol"}, ssetest.Options{}, "", 404, "not_found"},
		{"one unknown among known", []string{dm.String(), "group:grp_nope"}, ssetest.Options{}, "", 404, "not_found"},
		{"bad cursor in the header", []string{dm.String()}, ssetest.Options{LastEventID: "!!"}, "", 400, "invalid_cursor"},
		{"bad cursor in the query", []string{dm.String()}, ssetest.Options{}, "&lastEventId=AAAA", 400, "invalid_cursor"},
		{"the header wins over a bad query", []string{dm.String()}, ssetest.Options{LastEventID: valid}, "&lastEventId=!!", 200, ""},
		{"a bad header loses to nothing", []string{dm.String()}, ssetest.Options{LastEventID: "!!"}, "&lastEventId=" + valid, 400, "invalid_cursor"},
		{"100 channels, the same one", same, ssetest.Options{}, "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"channel": tt.channels}.Encode()
			opts := tt.opts
			opts.Token = e.token("u_alice")
			c, err := ssetest.OpenURL(t.Context(), e.client, e.server.URL+"/api/sse?"+q+tt.query, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Response.StatusCode != tt.status {
				body, _ := io.ReadAll(c.Response.Body)
				t.Fatalf("status = %d, want %d; body %s", c.Response.StatusCode, tt.status, body)
			}
			if tt.code == "" {
				preamble(t, c, dm.String())
				return
			}
			body, _ := io.ReadAll(c.Response.Body)
			response{status: c.Response.StatusCode, body: body}.expect(t, tt.status, tt.code)
		})
	}
}
