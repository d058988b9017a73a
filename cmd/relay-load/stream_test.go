package main

import (
	"context"
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
