package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// Reconnection policy of a stream.
const (
	defaultRetry = 500 * time.Millisecond // until the server sends retry:
	maxFailures  = 5                      // sessions in a row that reach no ready event
)

// errServerEnded is a stream the server closed (cut off, shutting down).
var errServerEnded = errors.New("the server ended the stream")

// errLimited is a stream the server refused for a limit (event: limited):
// the server is fine and asked to be called back, so it is no failure.
var errLimited = errors.New("the server refused the stream for a limit")

// stream is one subscriber's SSE connection to its group's channel. Its
// fields other than progress belong to the goroutine running it until
// run returns.
type stream struct {
	channel string
	token   string
	env     *streamEnv

	// progress is the highest seq received, read by the drain wait.
	progress atomic.Int64

	checker    seqChecker
	received   int64
	latencies  []time.Duration
	reconnects int
	limited    int // sessions refused for a limit (connection rate, stream slots)
	readies    int // ready events received, one per successful session
	cursor     string
	retry      time.Duration
}

// streamEnv is what every stream shares.
type streamEnv struct {
	base  string
	hc    *http.Client
	clock clock
	errs  *errorLog
}

// run keeps the stream open until ctx is done, reconnecting with its cursor
// whenever the server ends it. onReady is called once: with nil at the
// first ready event, or with the error that made the stream give up first.
func (s *stream) run(ctx context.Context, onReady func(error)) {
	failures := 0
	for ctx.Err() == nil {
		readies := s.readies
		err := s.session(ctx, onReady)
		if ctx.Err() != nil {
			return
		}
		if s.readies > readies {
			failures = 0 // the session worked for a while
		}
		if errors.Is(err, errLimited) {
			// Come back when told, as a browser would: opening 1000 streams
			// from one address takes a while at the server's default
			// SSE_CONNECT_RATE, and that is not an error of the run.
			s.limited++
			if !sleep(ctx, s.retryDelay()) {
				return
			}
			continue
		}
		failures++
		s.env.errs.add(kindOf(err), fmt.Errorf("%s: %w", s.channel, err))
		if refused(err) || failures >= maxFailures {
			s.env.errs.add("stream_gave_up", fmt.Errorf("%s: %w", s.channel, err))
			onReady(err)
			return
		}
		if s.readies > 0 {
			s.reconnects++
		}
		if !sleep(ctx, s.retryDelay()) {
			return
		}
	}
}

// refused reports whether err is a 4xx answer, which no retry can change
// (API.md keeps 4xx on /api/sse for requests that can never succeed).
func refused(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.status >= 400 && se.status < 500
}

// kindOf names the error log kind of a session's end.
func kindOf(err error) string {
	switch {
	case errors.Is(err, errServerEnded):
		return "stream_ended_by_server"
	case errors.As(err, new(*statusError)):
		return "stream_refused"
	default:
		return "stream_failed"
	}
}

func (s *stream) retryDelay() time.Duration {
	if s.retry > 0 {
		return s.retry
	}
	return defaultRetry
}

// session opens the stream once, resuming from the cursor, and reads it
// until it ends.
func (s *stream) session(ctx context.Context, onReady func(error)) error {
	c, err := ssetest.Open(ctx, s.env.hc, s.env.base, []string{s.channel},
		ssetest.Options{Token: s.token, LastEventID: s.cursor})
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Response.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(c.Response.Body, 200))
		return &statusError{method: http.MethodGet, path: "/api/sse", status: c.Response.StatusCode, body: string(body)}
	}
	for {
		ev, err := c.Next()
		if errors.Is(err, io.EOF) {
			return errServerEnded
		}
		if err != nil {
			return err
		}
		if err := s.handle(ev, onReady); err != nil {
			return err
		}
	}
}

// handle processes one block of the stream.
func (s *stream) handle(ev ssetest.Event, onReady func(error)) error {
	if ev.HasRetry {
		s.retry = ev.Retry
	}
	switch ev.Event {
	case "ready":
		if ev.HasID {
			s.cursor = ev.ID
		}
		s.readies++
		onReady(nil)
	case "message":
		if err := s.message(ev.Data, s.env.clock.now()); err != nil {
			return err
		}
		if ev.HasID {
			s.cursor = ev.ID
		}
	case "limited":
		return fmt.Errorf("%w: %s", errLimited, ev.Data)
	case "":
		// A comment (heartbeat) or a retry-only block.
	default:
		return fmt.Errorf("unexpected event %q: %s", ev.Event, ev.Data)
	}
	return nil
}

// messageEvent is the part of a message event the run checks.
type messageEvent struct {
	Seq     int64  `json:"seq"`
	Content string `json:"content"`
}

// message records one delivered message received at now.
func (s *stream) message(data string, now time.Duration) error {
	var m messageEvent
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return fmt.Errorf("message event: %w", err)
	}
	s.received++
	if s.checker.observe(m.Seq) == duplicate {
		return nil
	}
	s.progress.Store(m.Seq)
	if sentAt, ok := decodeSentAt(m.Content); ok {
		s.latencies = append(s.latencies, now-sentAt)
	} else {
		s.env.errs.add("foreign_message", fmt.Errorf("%s seq %d: content without a send time", s.channel, m.Seq))
	}
	return nil
}

// sleep waits for d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
