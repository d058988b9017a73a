package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/sseclient"
)

// The streams of the tests below: one group, "g", and its channel's stream.
var (
	testGroups = []group{{id: "g"}}
	groupPlan  = streamPlan{user: "u", groups: []int{0}}
)

// TestStreamHandle feeds a stream the blocks of a recorded SSE answer and
// checks what it made of them: seq checks and latencies; then it serves
// the answer to the stream's run and checks that the reconnection resumes
// from the last cursor after the server's retry.
func TestStreamHandle(t *testing.T) {
	t.Parallel()
	msg := func(id string, seq int, sentAt time.Duration) string {
		content := encodeContent("r", seq, sentAt, 0)
		return "id: " + id + "\nevent: message\ndata: {\"channel\":\"group:g\",\"seq\":" + strconv.Itoa(seq) + ",\"content\":\"" + content + "\"}\n\n"
	}
	body := "retry: 200\n\nid: c0\nevent: ready\ndata: {\"channels\":[\"group:g\"]}\n\n" +
		msg("c1", 1, 0) + ": ping\n\n" + msg("c3", 3, 0) + msg("c3b", 3, 0)
	env := &streamEnv{clock: newClock(), errs: newErrorLog()}
	s := newStream(groupPlan, "t", testGroups, env)
	readies := 0
	r := sseclient.NewReader(strings.NewReader(body))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if err := s.handle(ev, func(err error) {
			if err == nil {
				readies++
			}
		}); err != nil {
			t.Fatalf("handle(%q): %v", ev.Raw, err)
		}
	}
	if readies != 1 {
		t.Errorf("readies %d, want 1", readies)
	}
	if s.received != 3 || s.progress.Load() != 3 {
		t.Errorf("received %d, progress %d; want 3, 3", s.received, s.progress.Load())
	}
	finals, want := s.finals(map[string]int64{"g": 3})
	if gaps, dups := s.checks.totals(); gaps != 1 || dups != 1 || s.checks.missing(finals) != 1 || want != 3 {
		t.Errorf("checks = %+v, want %d; want one gap, one duplicate, one missing of 3", s.checks["group:g"], want)
	}
	if len(s.latencies) != 2 {
		t.Errorf("%d latencies, want 2 (the duplicate is not timed)", len(s.latencies))
	}
	if err := s.handle(sseclient.Event{Event: "token_expired", Data: "{}", DataLines: 1}, func(error) {}); err == nil {
		t.Error("token_expired was accepted; the run's tokens must outlive it")
	}

	var (
		calls   atomic.Int32
		first   time.Time
		cursor  string
		retry   time.Duration
		resumed = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, body)
			return
		}
		cursor, retry = r.Header.Get("Last-Event-ID"), time.Since(first)
		close(resumed)
		http.Error(w, `{"error":{}}`, http.StatusNotFound) // ends the run
	}))
	defer srv.Close()
	s = newStream(groupPlan, "t", testGroups, &streamEnv{base: srv.URL, hc: srv.Client(), clock: newClock(), errs: newErrorLog()})
	s.run(t.Context(), func(error) {})
	<-resumed
	if cursor != "c3b" || retry < 200*time.Millisecond {
		t.Errorf("reconnected with cursor %q after %v; want c3b after the retry of 200ms", cursor, retry)
	}
}

// TestStreamComesBackWhenLimited: a stream refused for a limit (more times
// in a row than a failing one may) waits its retry and comes back, and the
// run counts it apart from errors.
func TestStreamComesBackWhenLimited(t *testing.T) {
	t.Parallel()
	const refusals = maxFailures + 2
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if calls.Add(1) <= refusals {
			_, _ = io.WriteString(w, "retry: 10\n\nevent: limited\ndata: {\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}\n\n")
			return
		}
		_, _ = io.WriteString(w, "retry: 10\n\nid: c0\nevent: ready\ndata: {\"channels\":[\"group:g\"]}\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	env := &streamEnv{base: srv.URL, hc: srv.Client(), clock: newClock(), errs: newErrorLog()}
	s := newStream(groupPlan, "t", testGroups, env)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ready error = errors.New("never ready")
	s.run(ctx, func(err error) {
		ready = err
		cancel()
	})
	if ready != nil || s.limited != refusals || s.readies != 1 {
		t.Fatalf("ready %v, limited %d, readies %d; want ready after %d refusals", ready, s.limited, s.readies, refusals)
	}
	if kinds := env.errs.kinds(); len(kinds) != 0 {
		t.Fatalf("errors %+v, want none: a limit is no failure", kinds)
	}
}

// TestInboxStream: an inbox stream asks for /api/sse/inbox, checks each of
// its conversations on its own however they interleave, counts a message
// of a channel it is not in apart, and logs a ready event that does not
// count its user's groups and membership events the run never causes.
func TestInboxStream(t *testing.T) {
	t.Parallel()
	msg := func(id, channel string, seq int) string {
		content := encodeContent("r", seq, 0, 0)
		return "id: " + id + "\nevent: message\ndata: {\"channel\":\"" + channel + "\",\"seq\":" + strconv.Itoa(seq) +
			",\"content\":\"" + content + "\"}\n\n"
	}
	body := "retry: 200\n\nid: i0\nevent: ready\ndata: {\"conversations\":3}\n\n" +
		msg("i1", "group:a", 1) + msg("i2", "group:b", 1) + msg("i3", "group:a", 2) +
		msg("i4", "group:x", 1) + // not one of the user's
		msg("i5", "group:b", 2) + msg("i6", "group:a", 2) + // a duplicate
		"id: i7\nevent: conversation_added\ndata: {\"id\":\"y\"}\n\n"
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	env := &streamEnv{base: srv.URL, hc: srv.Client(), clock: newClock(), errs: newErrorLog()}
	groups := []group{{id: "a"}, {id: "b"}}
	s := newStream(streamPlan{user: "u", inbox: true, groups: []int{0, 1}}, "t", groups, env)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx, func(error) {})
	}()
	// Every block is read before the server's end makes the stream wait
	// its retry; cancel then.
	deadline := time.Now().Add(5 * time.Second)
	for s.progress.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done

	if p := path.Load(); p != "/api/sse/inbox" {
		t.Errorf("requested %v, want /api/sse/inbox", p)
	}
	finals, want := s.finals(map[string]int64{"a": 2, "b": 2, "x": 1})
	gaps, dups := s.checks.totals()
	if s.progress.Load() != want || want != 4 || s.received != 5 || gaps != 0 || dups != 1 || s.checks.missing(finals) != 0 {
		t.Errorf("progress %d of %d, received %d, gaps %d, duplicates %d, missing %d; want 4 of 4, 5, 0, 1, 0",
			s.progress.Load(), want, s.received, gaps, dups, s.checks.missing(finals))
	}
	kinds := make(map[string]int)
	for _, k := range env.errs.kinds() {
		kinds[k.Kind] = k.Count
	}
	for _, k := range []string{"inbox_ready_count", "foreign_channel", "unexpected_inbox_event"} {
		if kinds[k] < 1 {
			t.Errorf("errors %v lack %s", kinds, k)
		}
	}
}

// TestParseMessageEvent: the quick path reads what encoding/json reads,
// and whatever it cannot read plainly goes to encoding/json.
func TestParseMessageEvent(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"id":"msg_1","channel":"group:grp_a","seq":7,"senderId":"svc_x","content":"relay-load r #1 t=123","clientMessageId":"c1","createdAt":"2026-12-03T00:00:00Z"}`,
		`{"id":"msg_1","channel":"dm:dm_b","seq":12345678901,"senderId":"u","personaId":"p","content":"hi t=5","createdAt":"x"}`,
		`{"seq":3,"channel":"group:g","content":"a \"quoted\" t=9"}`,         // an escape: decoded in full
		`{"channel":"group:g","seq":3,"content":"x","note":{"content":"y"}}`, // a key twice: decoded in full
		`{"channel":"group:g","seq":3.5,"content":"x"}`,                      // not an integer: the decoder's error
		`{"channel":"group:g","seq":-1,"content":"x"}`,                       // negative: decoded in full
		`{"channel" : "group:g", "seq" : 4, "content" : "spaced t=1"}`,       // other spacing: decoded in full
		`{"channel":"group:\u0067","seq":4,"content":"unicode escape t=1"}`,  // escape in the channel
	} {
		var want messageEvent
		wantErr := json.Unmarshal([]byte(data), &want)
		got, err := parseMessageEvent(data)
		if (err != nil) != (wantErr != nil) || wantErr == nil && got != want {
			t.Errorf("parseMessageEvent(%s) = %+v, %v; encoding/json reads %+v, %v", data, got, err, want, wantErr)
		}
	}
}
