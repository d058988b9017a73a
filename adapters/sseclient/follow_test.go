package sseclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/sseclient"
)

// answer is one stream request's response: a status (0: 200) and the body.
type answer struct {
	status int
	body   string
}

// server answers the i-th request with answers[i] and records what each
// request sent and when.
type server struct {
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	lastIDs []string
	times   []time.Time
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := len(s.lastIDs)
	s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Accept") != "text/event-stream" {
		s.t.Errorf("request %d: headers %v", i+1, r.Header)
	}
	if i >= len(s.answers) {
		w.WriteHeader(http.StatusTeapot) // 4xx: Follow stops
		return
	}
	a := s.answers[i]
	if a.status != 0 {
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, a.body)
}

func follow(t *testing.T, answers []answer, opts sseclient.Options, handle sseclient.Handler) (*server, []sseclient.Retry, error) {
	t.Helper()
	s := &server{t: t, answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	opts.URL, opts.Token, opts.Client = sseclient.StreamURL(srv.URL, []string{"dm:dm_1"}), "tok", srv.Client()
	var retries []sseclient.Retry
	opts.OnRetry = func(r sseclient.Retry) { retries = append(retries, r) }
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := sseclient.Follow(ctx, opts, handle)
	if ctx.Err() != nil {
		t.Fatal("Follow did not end")
	}
	return s, retries, err
}

// TestFollowResumes: every reconnection sends the id of the last event
// handled, the server's retry: sets the wait, a session without events
// backs off, and one with events starts the backoff over.
func TestFollowResumes(t *testing.T) {
	t.Parallel()
	var got []string
	s, retries, err := follow(t, []answer{
		{body: "retry: 20\n\nid: c0\nevent: ready\ndata: {}\n\nid: c1\ndata: one\n\n: ping\n\n"},
		{body: ""}, // ends at once: a failure
		{body: "retry: 30\n\n"},
		{body: "id: c2\ndata: two\n\nid: c3\nevent: bad\ndata: x\n\n"}, // the handler refuses c3
		{status: http.StatusServiceUnavailable},
		{status: http.StatusNotFound, body: `{"error":{}}`},
	}, sseclient.Options{LastEventID: "start", Backoff: backoff.Backoff{Max: time.Second}}, func(ev sseclient.Event) error {
		if ev.Event == "bad" {
			return errors.New("bad event")
		}
		got = append(got, ev.Event+":"+ev.Data)
		return nil
	})
	if se, ok := errors.AsType[*sseclient.StatusError](err); !ok || se.Status != 404 || se.Body != `{"error":{}}` || !se.Permanent() {
		t.Fatalf("Follow = %v, want the 404", err)
	}
	if want := fmt.Sprint([]string{"ready:{}", "message:one", "message:two"}); fmt.Sprint(got) != want {
		t.Fatalf("handled %v, want %v", got, want)
	}
	if want := fmt.Sprint([]string{"start", "c1", "c1", "c1", "c2", "c2"}); fmt.Sprint(s.lastIDs) != want {
		t.Fatalf("Last-Event-IDs %v, want %v", s.lastIDs, want)
	}
	ms := time.Millisecond
	// The retry-only session is the third failure in a row, at the new
	// retry: 30ms·4; the session with an event starts over at 30ms.
	wantWaits := []time.Duration{20 * ms, 40 * ms, 120 * ms, 30 * ms, 60 * ms}
	if len(retries) != len(wantWaits) {
		t.Fatalf("retries %+v, want %d", retries, len(wantWaits))
	}
	for i, w := range wantWaits {
		if retries[i].Wait != w || retries[i].Failures == 0 || retries[i].Throttled {
			t.Errorf("retry %d = %+v, want a failure waiting %v", i, retries[i], w)
		}
		if gap := s.times[i+1].Sub(s.times[i]); gap < w {
			t.Errorf("request %d came %v after the one before, sooner than %v", i+2, gap, w)
		}
	}
	if !errors.Is(retries[0].Err, sseclient.ErrEnded) || retries[2].Failures != 3 || retries[3].Failures != 1 {
		t.Errorf("retries %+v: want ErrEnded, then the failures counted and reset", retries)
	}
}

// TestFollowStopsAndGivesUp: Stop ends Follow with the handler's error;
// MaxFailures failed sessions in a row end it with the last error; a
// throttled session counts as no failure.
func TestFollowStopsAndGivesUp(t *testing.T) {
	t.Parallel()
	errExpired := errors.New("expired")
	_, _, err := follow(t, []answer{{body: "event: token_expired\ndata: {}\n\n"}}, sseclient.Options{},
		func(ev sseclient.Event) error { return sseclient.Stop(errExpired) })
	if err != errExpired {
		t.Fatalf("Follow = %v, want the handler's error itself", err)
	}

	errLimited := errors.New("limited")
	limited := answer{body: "retry: 5\n\nevent: limited\ndata: {}\n\n"}
	s, retries, err := follow(t, []answer{limited, limited, limited, {body: "retry: 5\n\n"}, {}},
		sseclient.Options{MaxFailures: 2}, func(ev sseclient.Event) error { return sseclient.Throttle(errLimited) })
	if !errors.Is(err, sseclient.ErrEnded) || len(s.lastIDs) != 5 {
		t.Fatalf("Follow = %v after %d requests, want ErrEnded after 5", err, len(s.lastIDs))
	}
	if len(retries) != 4 || !retries[0].Throttled || retries[0].Failures != 0 || retries[0].Wait != 5*time.Millisecond ||
		!errors.Is(retries[2].Err, errLimited) || retries[3].Throttled || retries[3].Failures != 1 {
		t.Fatalf("retries %+v: want three throttled, then one failure", retries)
	}
}

func TestFollowEndsWithTheContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := sseclient.Follow(ctx, sseclient.Options{URL: srv.URL, Client: srv.Client()},
		func(sseclient.Event) error { return nil }); err != nil {
		t.Fatalf("Follow = %v, want nil when ctx ends", err)
	}
}

func TestInboxURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, user, want string }{
		{"http://h:1", "", "http://h:1/api/sse/inbox"},
		{"http://h:1/", "u_bob", "http://h:1/api/sse/inbox?user=u_bob"},
		{"http://h:1", "u_a&b", "http://h:1/api/sse/inbox?user=u_a%26b"},
	} {
		if got := sseclient.InboxURL(tc.base, tc.user); got != tc.want {
			t.Errorf("InboxURL(%q, %q) = %q, want %q", tc.base, tc.user, got, tc.want)
		}
	}
}
