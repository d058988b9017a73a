package tail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/cmd/relay/tail"
)

// script is one connection's answer: the Last-Event-ID it expects and the
// blocks it writes before it ends the response.
type script struct {
	wantLastEventID string
	status          int
	blocks          []string
}

// fakeServer answers the i-th stream request with scripts[i].
type fakeServer struct {
	t       *testing.T
	mu      sync.Mutex
	scripts []script
	calls   int
	inbox   bool   // expects the inbox stream instead of dm:dm_1's
	user    string // the ?user= the inbox request carries
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.calls
	s.calls++
	s.mu.Unlock()
	if i >= len(s.scripts) {
		s.t.Errorf("request %d: no script left", i+1)
		http.Error(w, "no script", http.StatusTeapot)
		return
	}
	sc := s.scripts[i]
	if got := r.Header.Get("Last-Event-ID"); got != sc.wantLastEventID {
		s.t.Errorf("request %d: Last-Event-ID %q, want %q", i+1, got, sc.wantLastEventID)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer tok" {
		s.t.Errorf("request %d: Authorization %q", i+1, got)
	}
	if s.inbox {
		if r.URL.Path != "/api/sse/inbox" || r.URL.Query().Get("user") != s.user || r.URL.Query().Has("channel") {
			s.t.Errorf("request %d: %s, want the inbox of %q", i+1, r.URL, s.user)
		}
	} else if got := r.URL.Query()["channel"]; r.URL.Path != "/api/sse" || len(got) != 1 || got[0] != "dm:dm_1" {
		s.t.Errorf("request %d: %s, want the stream of dm:dm_1", i+1, r.URL)
	}
	if sc.status != 0 {
		w.WriteHeader(sc.status)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"conversation not found"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 10\n\n")
	for _, b := range sc.blocks {
		fmt.Fprint(w, b)
	}
}

func msg(id string, seq int, content string) string {
	return fmt.Sprintf("id: %s\nevent: message\ndata: {\"channel\":\"dm:dm_1\",\"seq\":%d,\"senderId\":\"u_alice\",\"content\":%q,\"createdAt\":\"2026-12-01T10:00:0%dZ\"}\n\n",
		id, seq, content, seq)
}

func run(t *testing.T, scripts []script, opts tail.Options) (out, status string, err error) {
	t.Helper()
	fs := &fakeServer{t: t, scripts: scripts, inbox: opts.Inbox, user: opts.User}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	opts.BaseURL, opts.Token = srv.URL, "tok"
	if !opts.Inbox {
		opts.Channels = []string{"dm:dm_1"}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var o, s bytes.Buffer
	err = tail.Run(ctx, opts, &o, &s)
	if ctx.Err() != nil {
		t.Fatalf("Run did not end; output so far:\n%s\n%s", o.String(), s.String())
	}
	return o.String(), s.String(), err
}

// TestResumesFromTheLastCursor: the stream drops twice (once before any
// message); each reconnection sends the last id seen, a message repeated
// after a reconnect is printed once, and an expired token ends the run.
func TestResumesFromTheLastCursor(t *testing.T) {
	t.Parallel()
	out, status, err := run(t, []script{
		{blocks: []string{"id: c0\nevent: ready\ndata: {}\n\n", msg("c1", 1, "one"), ": ping\n\n"}},
		{wantLastEventID: "c1"}, // ends at once
		{wantLastEventID: "c1", blocks: []string{"id: c1\nevent: ready\ndata: {}\n\n", msg("c1", 1, "one"), msg("c2", 2, "two"),
			"event: token_expired\ndata: {}\n\n"}},
	}, tail.Options{})
	if !errors.Is(err, tail.ErrTokenExpired) {
		t.Fatalf("Run = %v, want ErrTokenExpired", err)
	}
	want := "2026-12-01T10:00:01Z dm:dm_1 #1 u_alice: one\n2026-12-01T10:00:02Z dm:dm_1 #2 u_alice: two\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s\nstatus:\n%s", out, want, status)
	}
	if !strings.Contains(status, "reconnecting") || !strings.Contains(status, "cursor c1") {
		t.Fatalf("status %q does not tell of the reconnection and its cursor", status)
	}
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, []script{
		{blocks: []string{"id: c0\nevent: ready\ndata: {}\n\n", msg("c1", 1, "one"), "event: token_expired\ndata: {}\n\n"}},
	}, tail.Options{JSON: true})
	if !errors.Is(err, tail.ErrTokenExpired) {
		t.Fatalf("Run = %v, want ErrTokenExpired", err)
	}
	if want := `{"channel":"dm:dm_1","seq":1,"senderId":"u_alice","content":"one","createdAt":"2026-12-01T10:00:01Z"}` + "\n"; out != want {
		t.Fatalf("output %q, want %q", out, want)
	}
}

// TestRefusedEndsTheRun: a 4xx cannot change by retrying.
func TestRefusedEndsTheRun(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, []script{{status: http.StatusNotFound}}, tail.Options{Cursor: ""})
	if err == nil || !strings.Contains(err.Error(), "conversation not found") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Run = %v, want a refusal naming 404 and the server's message", err)
	}
}

func TestStartsFromAGivenCursor(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, []script{
		{wantLastEventID: "c9", blocks: []string{"event: token_expired\ndata: {}\n\n"}},
	}, tail.Options{Cursor: "c9"})
	if !errors.Is(err, tail.ErrTokenExpired) {
		t.Fatalf("Run = %v, want ErrTokenExpired", err)
	}
}
