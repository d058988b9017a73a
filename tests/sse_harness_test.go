package tests

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// streamOpts tell openStream how to connect.
type streamOpts struct {
	lastEventID string // sent as the Last-Event-ID header
	cursorParam string // sent as ?lastEventId=
	queryToken  bool   // the token goes in ?access_token= instead of the header
	// paused leaves the body unread: the preamble is not checked and
	// nothing is read until start is called.
	paused bool
}

// stream is one open SSE stream, read by a goroutine of its own into
// blocks, so that every wait has a deadline.
type stream struct {
	resp   *http.Response
	reader *ssetest.Reader
	cancel context.CancelFunc

	blocks  chan ssetest.Event
	quit    chan struct{}
	ended   chan struct{} // closed when the reading goroutine returns
	err     error         // why reading stopped; read only after ended
	started bool
	closed  bool

	retry   ssetest.Event // the first block
	readyID string        // the id of the ready event: the starting cursor
	ready   []string      // the channels the ready event lists
}

var errStreamClosed = errors.New("stream closed by the test")

// sseURL is the URL of the stream of channels with o's query parameters.
func (c *api) sseURL(token string, channels []string, o streamOpts) string {
	q := url.Values{"channel": channels}
	if o.cursorParam != "" {
		q.Set("lastEventId", o.cursorParam)
	}
	if o.queryToken {
		q.Set("access_token", token)
	}
	return c.url + "/api/sse?" + q.Encode()
}

// openStream opens u's stream of channels, which must answer 200, and
// unless o.paused reads and checks its preamble: a retry-only block, then
// the ready event with a cursor id listing the channels. The stream is
// closed when t ends.
func (c *api) openStream(t testing.TB, u user, channels []string, o streamOpts) *stream {
	t.Helper()
	s := c.dial(t, "/api/sse", c.sseURL(u.token, channels, o),
		ssetest.Options{Token: u.token, QueryToken: o.queryToken, LastEventID: o.lastEventID})
	if o.paused {
		return s
	}
	s.start()
	s.readPreamble(t)
	return s
}

// dial opens the stream at url (path names it in failures), which must
// answer 200, without reading it; it is closed when t ends.
func (c *api) dial(t testing.TB, path, url string, opts ssetest.Options) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := ssetest.OpenURL(ctx, c.client, url, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if cl.Response.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(cl.Response.Body)
		_ = cl.Close()
		cancel()
		t.Fatalf("GET %s: status %d %s, want 200", path, cl.Response.StatusCode, body)
	}
	s := &stream{resp: cl.Response, reader: cl.Reader, cancel: cancel,
		blocks: make(chan ssetest.Event), quit: make(chan struct{}), ended: make(chan struct{})}
	t.Cleanup(s.close)
	return s
}

// start begins reading the stream.
func (s *stream) start() {
	s.started = true
	go func() {
		defer close(s.ended)
		for {
			ev, err := s.reader.Next()
			if err != nil {
				s.err = err
				return
			}
			select {
			case s.blocks <- ev:
			case <-s.quit:
				s.err = errStreamClosed
				return
			}
		}
	}()
}

// readPreamble reads the retry block and the ready event.
func (s *stream) readPreamble(t testing.TB) {
	t.Helper()
	s.retry = s.next(t)
	if !s.retry.HasRetry || s.retry.IsDispatched() || s.retry.HasID {
		t.Fatalf("the stream starts with %q, want a retry-only block", s.retry.Raw)
	}
	ready := s.next(t)
	if ready.Event != "ready" || !ready.HasID || ready.ID == "" {
		t.Fatalf("the block after retry is %q, want event: ready with an id", ready.Raw)
	}
	var data struct {
		Channels []string `json:"channels"`
	}
	if err := json.Unmarshal([]byte(ready.Data), &data); err != nil {
		t.Fatalf("ready data %q: %v", ready.Data, err)
	}
	s.readyID, s.ready = ready.ID, data.Channels
}

// close ends the stream and waits for its reader. It is safe to call more
// than once.
func (s *stream) close() {
	if s.closed {
		return
	}
	s.closed = true
	close(s.quit)
	s.cancel()
	_ = s.resp.Body.Close()
	if s.started {
		<-s.ended
	}
}

// next returns the next block, comments and retries included. The stream
// ending or nothing arriving within waitTimeout fails t.
func (s *stream) next(t testing.TB) ssetest.Event {
	t.Helper()
	return s.nextBefore(t, time.Now().Add(waitTimeout))
}

func (s *stream) nextBefore(t testing.TB, deadline time.Time) ssetest.Event {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case ev := <-s.blocks:
		return ev
	case <-s.ended:
		t.Fatalf("the stream ended while a block was expected: %v", s.err)
	case <-timer.C:
		t.Fatalf("no block within %s", waitTimeout)
	}
	return ssetest.Event{}
}

// nextEvent returns the next dispatched event, skipping heartbeats; one
// deadline covers them all, so that heartbeats cannot stretch the wait.
func (s *stream) nextEvent(t testing.TB) ssetest.Event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if ev := s.nextBefore(t, deadline); ev.IsDispatched() {
			return ev
		}
	}
}

// nextMessage returns the next event, which must be a message event with
// an id, and its message.
func (s *stream) nextMessage(t testing.TB) (message, ssetest.Event) {
	t.Helper()
	ev := s.nextEvent(t)
	if ev.Event != "message" || !ev.HasID || ev.ID == "" {
		t.Fatalf("got %q, want a message event with an id", ev.Raw)
	}
	var m message
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("message data %q: %v", ev.Data, err)
	}
	return m, ev
}

// messages reads the next n message events.
func (s *stream) messages(t testing.TB, n int) ([]message, []ssetest.Event) {
	t.Helper()
	var msgs []message
	var evs []ssetest.Event
	for range n {
		m, ev := s.nextMessage(t)
		msgs = append(msgs, m)
		evs = append(evs, ev)
	}
	return msgs, evs
}

// waitEnd waits for the server to end the stream and returns the blocks
// that came before the end and why reading stopped (io.EOF for a clean
// end).
func (s *stream) waitEnd(t testing.TB) ([]ssetest.Event, error) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var rest []ssetest.Event
	for {
		select {
		case ev := <-s.blocks:
			rest = append(rest, ev)
		case <-s.ended:
			return rest, s.err
		case <-timer.C:
			t.Fatalf("the stream did not end within %s", waitTimeout)
			return nil, nil
		}
	}
}

// byChannel groups the seqs of msgs by channel, in arrival order.
func byChannel(msgs []message) map[string][]int64 {
	out := map[string][]int64{}
	for _, m := range msgs {
		out[m.Channel] = append(out[m.Channel], m.Seq)
	}
	return out
}

// wantSeqs fails t unless got is exactly want.
func wantSeqs(t testing.TB, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: seqs %v, want %v", what, got, want)
	}
}
