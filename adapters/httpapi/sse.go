package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// subscribe: GET /api/sse?channel=…&channel=… — the live, resumable
// stream of one or more channels.
//
// Browsers' EventSource gives up for good on any answer but 200, so only a
// request that can never succeed (bad channel list, bad cursor, a channel
// the caller may not read) gets a 4xx. Anything else that stops the stream
// from starting — the store or notifier briefly unavailable, the instance
// shutting down — is answered 200 with a bare `retry:`, so that the
// browser comes back (to this instance or another) with its cursor. So is
// a stream refused by a limit (connection rate, stream slots), which also
// gets an event saying which (retryLater).
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) error {
	q, err := parseSubscribeQuery(r)
	if err != nil {
		return err
	}
	q.Principal = principalOf(r)
	return serveSSE(h, w, r, q.Principal,
		func(ctx context.Context) (*application.Stream, error) { return h.uc.SubscribeChannel.Execute(ctx, q) },
		h.runStream)
}

// serveSSE is what every stream route does once its request is parsed:
// admit it, start the stream (within RequestTimeout), run it until the
// client leaves or the handler closes its streams, and answer whatever
// stops it as API.md says (4xx only for what can never succeed).
//
// Started, a stream on HTTP/1.x takes its connection over from net/http
// (takeOver) and runs in a goroutine of its own while the handler returns
// (see hijackedOut for why); the close watcher ends it when the client
// leaves. On HTTP/2, and on writers that cannot be taken over, it runs in
// the handler, through the response.
func serveSSE[S interface{ Close() }](h *Handler, w http.ResponseWriter, r *http.Request, p domain.Principal,
	start func(context.Context) (S, error), run func(context.Context, *eventWriter, S, []any)) error {
	// A stream reads nothing more from its client: the server's read
	// timeout is not for it (see server.go). Writers without deadlines
	// (tests' recorders) have nothing to lift.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	if h.closing.Err() != nil {
		h.retryLater(w, r, nil)
		return nil
	}
	// Admitted after the checks that make a request permanently bad (they
	// are answered 4xx whatever the load) and before anything costs: the
	// slot is held until the stream ends, however it ends.
	release, refusal := h.admitStream(r, p)
	if refusal != nil {
		h.retryLater(w, r, refusal)
		return nil
	}
	releasing := true
	defer func() {
		if releasing {
			release()
		}
	}()

	// Starting ends when the client goes away or the handler closes its
	// streams, whichever comes first.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.closing, cancel)
	defer stop()

	stream, err := startBounded(ctx, h.cfg.RequestTimeout, start)
	if err != nil {
		if permanent(err) {
			return err
		}
		if ctx.Err() == nil {
			h.logger.WarnContext(ctx, "stream could not start; client told to retry", requestAttrs(r, "error", err)...)
		}
		h.retryLater(w, r, nil)
		return nil
	}
	attrs := slices.Clip(requestAttrs(r))
	own, err := takeOver(w, r)
	if err != nil {
		stream.Close()
		h.logger.DebugContext(ctx, "stream ended: its connection could not be taken over", requestAttrs(r, "error", err)...)
		return nil
	}
	if own == nil {
		defer stream.Close()
		setStreamHeaders(w, r)
		w.WriteHeader(http.StatusOK)
		run(ctx, newEventWriter(w, h.cfg.WriteTimeout), stream, attrs)
		return nil
	}
	// Nothing of the request is needed any more: the stream's context is
	// its own, cancelled by the close watcher or CloseStreams.
	streamCtx, endStream := context.WithCancel(context.Background())
	ended, ok := h.detach(own.conn, endStream)
	if !ok { // closing meanwhile: the client comes back with its cursor
		endStream()
		stream.Close()
		h.retryOn(own)
		own.conn.Close()
		return nil
	}
	releasing = false
	l := handOff(r)
	go func() {
		defer ended()
		defer release()
		defer endStream()
		defer func() { h.logRequest(streamCtx, l, http.StatusOK, own.written) }()
		defer own.conn.Close()
		// Unwatched before the close: the watcher must not see its fd
		// reused by another connection.
		defer streamCloses.watch(own.conn, endStream)()
		defer stream.Close()
		defer h.recoverStream(streamCtx, attrs)
		run(streamCtx, newStreamWriter(own, h.cfg.WriteTimeout), stream, attrs)
	}()
	return nil
}

// recoverStream logs a panic of a stream that runs on its own goroutine,
// which ends that stream only, as net/http does for a handler.
func (h *Handler) recoverStream(ctx context.Context, attrs []any) {
	if p := recover(); p != nil {
		h.logger.ErrorContext(ctx, "stream panicked", append(attrs, "panic", p, "stack", string(debug.Stack()))...)
	}
}

// permanent reports the failures a retry cannot fix.
func permanent(err error) bool {
	return errors.Is(err, domain.ErrInvalid) || errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrForbidden)
}

// parseSubscribeQuery reads the channels and the resume cursor. The cursor
// comes from the Last-Event-ID header, as browsers send it on reconnect, or
// else from the lastEventId query parameter; the header wins.
func parseSubscribeQuery(r *http.Request) (application.SubscribeQuery, error) {
	vals := r.URL.Query()
	raw := vals["channel"]
	switch {
	case len(raw) == 0:
		return application.SubscribeQuery{}, badRequest(codeValidation, "channel: at least one channel is required")
	case len(raw) > application.MaxStreamChannels:
		return application.SubscribeQuery{}, badRequest(codeValidation,
			fmt.Sprintf("channel: at most %d channels per stream", application.MaxStreamChannels))
	}
	q := application.SubscribeQuery{Channels: make([]domain.ChannelID, 0, len(raw))}
	for _, s := range raw {
		ch, err := domain.ParseConversationChannel(s)
		if err != nil {
			return application.SubscribeQuery{}, err
		}
		q.Channels = append(q.Channels, ch)
	}
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = vals.Get("lastEventId")
	}
	if id != "" {
		cursor, err := domain.ParseCursor(id)
		if err != nil {
			return application.SubscribeQuery{}, badRequest(codeInvalidCursor, "lastEventId: is not a cursor issued by this service")
		}
		q.Cursor = &cursor
	}
	return q, nil
}

// retryLater answers 200 with a `retry:`, ending the stream at once. A
// refusal by a limit (non-nil) sets the retry to its backoff, adds the
// same as Retry-After and an `event: limited` whose data is the API's
// error body, so that clients other than browsers can tell why.
func (h *Handler) retryLater(w http.ResponseWriter, r *http.Request, refusal *apiError) {
	ew := newEventWriter(w, h.cfg.WriteTimeout)
	setStreamHeaders(w, r)
	retry := h.cfg.RetryInterval
	if refusal != nil {
		retry = refusal.retryAfter
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(retry)))
	}
	w.WriteHeader(http.StatusOK)
	err := ew.retry(retry)
	if err == nil && refusal != nil {
		var data []byte
		data, err = json.Marshal(errorBody{Error: errorDetail{Code: refusal.code, Message: refusal.message}})
		if err == nil {
			err = ew.event("", "limited", data)
		}
	}
	if err == nil {
		_ = ew.flush()
	}
}

// retryOn answers a taken-over connection with a bare `retry:`.
func (h *Handler) retryOn(own *hijackedOut) {
	ew := newStreamWriter(own, h.cfg.WriteTimeout)
	if ew.retry(h.cfg.RetryInterval) == nil {
		_ = ew.flush()
	}
}

type readyJSON struct {
	Channels []string `json:"channels"`
}

// runStream writes the stream's preamble — retry, then the ready event
// whose id is the starting cursor — flushes it at once so that the client
// knows it is subscribed, and then hands the connection to the stream.
// attrs name the request in log lines.
func (h *Handler) runStream(ctx context.Context, ew *eventWriter, stream *application.Stream, attrs []any) {
	conn := h.streams.open(stream.Channels())
	defer conn.close()

	ready := readyJSON{Channels: make([]string, len(stream.Channels()))}
	for i, ch := range stream.Channels() {
		ready.Channels[i] = ch.String()
	}
	data, err := json.Marshal(ready)
	if err != nil {
		h.logger.ErrorContext(ctx, "encode ready event", append(attrs, "error", err)...)
		return
	}
	err = ew.retry(h.cfg.RetryInterval)
	if err == nil {
		err = ew.event(stream.Start().String(), "ready", data)
	}
	if err == nil {
		err = ew.flush()
	}
	if err == nil {
		err = stream.Run(ctx, &sseSink{w: ew, cache: h.cache, metrics: h.metrics, conn: conn})
	}
	h.streamEnded(ctx, attrs, err)
}

// streamEnded logs why a stream ended, at the level the reason deserves,
// and counts cut-offs of subscribers that fell behind.
func (h *Handler) streamEnded(ctx context.Context, attrs []any, err error) {
	switch {
	case err == nil:
		return
	case errors.Is(err, ports.ErrSlowSubscriber):
		h.metrics.sseCutoffs.Inc()
		h.logger.InfoContext(ctx, "stream cut off: subscriber fell behind", attrs...)
	case errors.Is(err, application.ErrCredentialsExpired), errors.Is(err, application.ErrNoChannelsLeft),
		errors.Is(err, ports.ErrNotifierClosed), ctx.Err() != nil:
		h.logger.DebugContext(ctx, "stream ended", append(attrs, "reason", err)...)
	default:
		if _, ok := errors.AsType[*clientWriteError](err); ok {
			h.logger.DebugContext(ctx, "stream ended: client gone", append(attrs, "error", err)...)
			return
		}
		h.logger.WarnContext(ctx, "stream ended by an error; the client resumes from its cursor", append(attrs, "error", err)...)
	}
}

// sseSink renders a stream's calls as SSE events. It implements
// application.StreamSink; the stream calls it from its own goroutine
// only.
type sseSink struct {
	w       *eventWriter
	cache   *messageCache
	metrics *Metrics
	conn    *streamConn
}

var _ application.StreamSink = (*sseSink)(nil)

// Message writes a message event whose id is the cursor including m.
func (s *sseSink) Message(m domain.Message, cursor domain.Cursor) error {
	return s.message(cursor.String(), m)
}

// message writes m as a message event with the given id, for channel and
// inbox streams alike.
func (s *sseSink) message(id string, m domain.Message) error {
	body, err := s.cache.frame(m)
	if err != nil {
		return fmt.Errorf("encode message %s: %w", m.ID, err)
	}
	if err := s.w.framed(id, body); err != nil {
		return err
	}
	s.metrics.messagesDelivered.Inc()
	return nil
}

type channelRemovedJSON struct {
	Channel string `json:"channel"`
}

// ChannelRemoved writes a channel_removed event.
func (s *sseSink) ChannelRemoved(channel domain.ChannelID, cursor domain.Cursor) error {
	return s.channelRemoved(cursor.String(), channel)
}

func (s *sseSink) channelRemoved(id string, channel domain.ChannelID) error {
	s.conn.remove(channel)
	return s.jsonEvent(id, "channel_removed", channelRemovedJSON{Channel: channel.String()})
}

// jsonEvent writes an event whose data is v in JSON.
func (s *sseSink) jsonEvent(id, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	return s.w.event(id, name, data)
}

// TokenExpired writes a token_expired event. It has no id: the client's
// cursor stays that of the last message it received.
func (s *sseSink) TokenExpired() error {
	return s.w.event("", "token_expired", []byte("{}"))
}

// Heartbeat writes a comment, which keeps proxies from closing an idle
// connection and lets the client notice a dead one.
func (s *sseSink) Heartbeat() error { return s.w.comment("ping") }

// Flush pushes the burst written so far to the client.
func (s *sseSink) Flush() error { return s.w.flush() }
