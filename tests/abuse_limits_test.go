package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/relaymsg/relay/cmd/relay/app"
)

// limitsFromEnv sets the service's limits from vars as LoadConfig reads
// them, every other limit back at its default (not the harness's raised
// testLimits): the limits' own tests see what a deployment would.
func limitsFromEnv(t *testing.T, vars map[string]string) func(*app.Config) {
	t.Helper()
	vars["AUTH_SECRET"] = string(testSecret)
	cfg, err := app.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return func(c *app.Config) { c.Limits = cfg.Limits }
}

// wantLimited reads s, a stream just opened with paused set, to its end
// and fails t unless it is a refusal by a limit: Content-Type
// text/event-stream, a retry of at least minRetry, the same as a
// Retry-After in whole seconds, and event: limited with code.
func wantLimited(t *testing.T, s *stream, code string, minRetry time.Duration) {
	t.Helper()
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	s.start()
	blocks, err := s.waitEnd(t)
	if !errors.Is(err, io.EOF) || len(blocks) != 2 {
		t.Fatalf("refused stream: %d blocks %+v, end %v; want a retry and a limited event, then EOF", len(blocks), blocks, err)
	}
	retry, limited := blocks[0], blocks[1]
	if !retry.HasRetry || retry.Retry < minRetry {
		t.Fatalf("first block %q, want a retry of at least %s", retry.Raw, minRetry)
	}
	after, err := strconv.Atoi(s.resp.Header.Get("Retry-After"))
	if err != nil || after < 1 || time.Duration(after)*time.Second < retry.Retry {
		t.Fatalf("Retry-After %q, want whole seconds covering the retry %s", s.resp.Header.Get("Retry-After"), retry.Retry)
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if limited.Event != "limited" || json.Unmarshal([]byte(limited.Data), &body) != nil ||
		body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("second block %q, want event: limited with code %s", limited.Raw, code)
	}
}

// TestStreamsPerUserDefaultLimit opens the default 50 streams of one user:
// the 51st is told to come back (200, never a 4xx, which would end an
// EventSource for good), a service token with the same sub still
// connects, and closing a stream frees its slot.
func TestStreamsPerUserDefaultLimit(t *testing.T) {
	t.Parallel()
	a := startApp(t, limitsFromEnv(t, map[string]string{"SSE_CONNECT_RATE": "0"}))
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	channels := []string{dm.channel()}
	streams := make([]*stream, 50)
	for i := range streams {
		streams[i] = a.openStream(t, alice, channels, streamOpts{})
	}
	wantLimited(t, a.openStream(t, alice, channels, streamOpts{paused: true}), "too_many_streams", 2*time.Second)
	a.openStream(t, newAdmin(t, "u_alice"), channels, streamOpts{})
	if n := a.metric(t, `relay_limited_total{limit="streams_per_user"}`); n != 1 {
		t.Fatalf(`relay_limited_total{limit="streams_per_user"} = %v, want 1`, n)
	}
	// A message still reaches the open streams: the refusal touched none.
	a.send(t, alice, dm, "still here")
	if m, _ := streams[49].nextMessage(t); m.Content != "still here" {
		t.Fatalf("stream 50 got %+v", m)
	}

	streams[0].close()
	// The slot is free once the server has seen the stream go, which is
	// soon but not at once.
	deadline := time.Now().Add(waitTimeout)
	for {
		s := a.openStream(t, alice, channels, streamOpts{paused: true})
		s.start()
		first := s.next(t)
		second := s.next(t)
		if second.Event == "ready" {
			break
		}
		if !first.HasRetry || second.Event != "limited" {
			t.Fatalf("after closing a stream: %q then %q", first.Raw, second.Raw)
		}
		s.close()
		if time.Now().After(deadline) {
			t.Fatal("closing a stream never freed its slot")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSSEConnectRateLimit: past the burst of one address, streams are told
// to come back after the bucket's delay, whoever connects.
func TestSSEConnectRateLimit(t *testing.T) {
	t.Parallel()
	a := startApp(t, limitsFromEnv(t, map[string]string{"SSE_CONNECT_RATE": "0.2", "SSE_CONNECT_BURST": "3"}))
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	channels := []string{dm.channel()}
	for range 3 {
		a.openStream(t, alice, channels, streamOpts{}).close()
	}
	// At 0.2/s the next connection is ~5 s away: the retry says so.
	wantLimited(t, a.openStream(t, newAdmin(t, "svc"), channels, streamOpts{paused: true}), "rate_limited", 4*time.Second)
	if n := a.metric(t, `relay_limited_total{limit="sse_connect_rate"}`); n != 1 {
		t.Fatalf(`relay_limited_total{limit="sse_connect_rate"} = %v, want 1`, n)
	}
}

// TestPublishBurstLimit posts past PUBLISH_BURST as one user: the rest are
// 429 rate_limited with a Retry-After, and nothing of them is stored;
// another user, and a service token of the same sub, still post.
func TestPublishBurstLimit(t *testing.T) {
	t.Parallel()
	a := startApp(t, limitsFromEnv(t, map[string]string{"PUBLISH_RATE": "0.01", "PUBLISH_BURST": "5"}))
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, bob.id)
	for i := range 8 {
		r := a.do(t, http.MethodPost, "/api/messages", alice.token, messageBody(dm, fmt.Sprint("m", i)))
		if i < 5 {
			expect(t, r, http.StatusCreated, nil)
			continue
		}
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		// 0.01/s: the next token is ~100 s away, and refusals took none.
		if after, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || after < 90 || after > 100 {
			t.Fatalf("Retry-After %q, want about 100 s", r.header.Get("Retry-After"))
		}
	}
	if got := a.history(t, alice, dm, ""); len(got) != 5 {
		t.Fatalf("%d messages stored, want the burst's 5", len(got))
	}
	a.send(t, bob, dm, "bob's own bucket")
	a.send(t, newAdmin(t, alice.id), dm, "a service token's own bucket")
	if n := a.metric(t, `relay_limited_total{limit="publish_rate"}`); n != 3 {
		t.Fatalf(`relay_limited_total{limit="publish_rate"} = %v, want 3`, n)
	}
}
