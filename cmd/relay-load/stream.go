package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/sseclient"
)

// Reconnection policy of a stream.
const (
	defaultRetry = 500 * time.Millisecond // until the server sends retry:
	maxFailures  = 5                      // sessions in a row that reach no ready event
)

// errServerEnded is a stream the server closed (cut off, shutting down).
var errServerEnded = sseclient.ErrEnded

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
}

// streamEnv is what every stream shares.
type streamEnv struct {
	base  string
	hc    *http.Client
	clock clock
	errs  *errorLog
}

// run keeps the stream open until ctx is done, reconnecting with its cursor
// whenever the server ends it, after the server's retry (constant: the
// server jitters it). onReady is called once: with nil at the first ready
// event, or with the error that made the stream give up first.
func (s *stream) run(ctx context.Context, onReady func(error)) {
	err := sseclient.Follow(ctx, sseclient.Options{
		URL:         sseclient.StreamURL(s.env.base, []string{s.channel}),
		Token:       s.token,
		Client:      s.env.hc,
		Backoff:     backoff.Backoff{Min: defaultRetry},
		MaxFailures: maxFailures,
		OnRetry:     s.retrying,
	}, func(ev sseclient.Event) error { return s.handle(ev, onReady) })
	if err == nil || ctx.Err() != nil {
		return
	}
	err = asStatusError(err)
	s.env.errs.add(kindOf(err), fmt.Errorf("%s: %w", s.channel, err))
	s.env.errs.add("stream_gave_up", fmt.Errorf("%s: %w", s.channel, err))
	onReady(err)
}

// retrying counts a session that ended and will be reconnected.
func (s *stream) retrying(r sseclient.Retry) {
	if r.Throttled {
		// Come back when told, as a browser would: opening 1000 streams
		// from one address takes a while at the server's default
		// SSE_CONNECT_RATE, and that is not an error of the run.
		s.limited++
		return
	}
	err := asStatusError(r.Err)
	s.env.errs.add(kindOf(err), fmt.Errorf("%s: %w", s.channel, err))
	if s.readies > 0 {
		s.reconnects++
	}
}

// asStatusError gives a refused stream request the run's error for an
// unexpected status, as its REST requests have.
func asStatusError(err error) error {
	if se, ok := errors.AsType[*sseclient.StatusError](err); ok {
		body := se.Body
		if len(body) > 200 {
			body = body[:200]
		}
		return &statusError{method: http.MethodGet, path: "/api/sse", status: se.Status, body: body}
	}
	return err
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

// handle processes one event of the stream; Follow resumes from the id of
// each event it accepts and keeps the server's retry.
func (s *stream) handle(ev sseclient.Event, onReady func(error)) error {
	switch ev.Event {
	case "ready":
		s.readies++
		onReady(nil)
	case "message":
		if err := s.message(ev.Data, s.env.clock.now()); err != nil {
			return err
		}
	case "limited":
		return sseclient.Throttle(fmt.Errorf("%w: %s", errLimited, ev.Data))
	case "":
		// A comment (heartbeat) or a retry-only block: Follow passes none.
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
