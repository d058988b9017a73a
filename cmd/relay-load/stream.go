package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// stream is one subscriber's SSE connection: to its group's channel
// (/api/sse), or to its user's inbox (/api/sse/inbox), which carries every
// group the user is in. Its fields other than progress belong to the
// goroutine running it until run returns.
type stream struct {
	name     string            // in error messages: the channel, or the inbox's user
	url      string            // the stream's address
	token    string            // the user's
	channels map[string]string // the channels it must deliver, each in order: their group ids
	// conversations, when positive, is the count an inbox's ready event
	// must announce: the user's groups.
	conversations int
	env           *streamEnv

	// progress is the sum over its channels of the highest seq received,
	// read by the drain wait.
	progress atomic.Int64

	checks     channelChecks
	received   int64
	latencies  []time.Duration
	reconnects int
	limited    int           // sessions refused for a limit (connection rate, stream slots)
	readies    int           // ready events received, one per successful session
	setup      time.Duration // from its first request to its first ready event
}

// newStream returns the stream of plan as the user of token; groups holds
// the created groups' ids.
func newStream(plan streamPlan, token string, groups []group, env *streamEnv) *stream {
	s := &stream{token: token, channels: make(map[string]string, len(plan.groups)), env: env}
	var channels []string
	for _, g := range plan.groups {
		ch := "group:" + groups[g].id
		s.channels[ch] = groups[g].id
		channels = append(channels, ch)
	}
	if plan.inbox {
		s.name, s.url, s.conversations = "inbox of "+plan.user, sseclient.InboxURL(env.base, ""), len(plan.groups)
	} else {
		s.name, s.url = strings.Join(channels, ","), sseclient.StreamURL(env.base, channels)
	}
	return s
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
		URL:         s.url,
		Token:       s.token,
		Client:      s.env.hc,
		Backoff:     backoff.Backoff{Min: defaultRetry},
		MaxFailures: maxFailures,
		OnRetry:     s.retrying,
	}, func(ev sseclient.Event) error { return s.handle(ev, onReady) })
	if err == nil || ctx.Err() != nil {
		return
	}
	err = asStatusError(err, s.url)
	s.env.errs.add(kindOf(err), fmt.Errorf("%s: %w", s.name, err))
	s.env.errs.add("stream_gave_up", fmt.Errorf("%s: %w", s.name, err))
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
	err := asStatusError(r.Err, s.url)
	s.env.errs.add(kindOf(err), fmt.Errorf("%s: %w", s.name, err))
	if s.readies > 0 {
		s.reconnects++
	}
}

// asStatusError gives a refused request to the stream at rawURL the run's
// error for an unexpected status, as its REST requests have.
func asStatusError(err error, rawURL string) error {
	if se, ok := errors.AsType[*sseclient.StatusError](err); ok {
		body := se.Body
		if len(body) > 200 {
			body = body[:200]
		}
		path := rawURL
		if u, err := url.Parse(rawURL); err == nil {
			path = u.Path
		}
		return &statusError{method: http.MethodGet, path: path, status: se.Status, body: body}
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
		s.checkReady(ev.Data)
		onReady(nil)
	case "message":
		if err := s.message(ev.Data, s.env.clock.now()); err != nil {
			return err
		}
	case "conversation_added", "channel_removed", "read":
		// Inbox events of membership and reads: the run changes neither
		// once the streams are open, so any is a fault of the server's.
		s.env.errs.add("unexpected_inbox_event", fmt.Errorf("%s: %s %s", s.name, ev.Event, ev.Data))
	case "limited":
		return sseclient.Throttle(fmt.Errorf("%w: %s", errLimited, ev.Data))
	case "":
		// A comment (heartbeat) or a retry-only block: Follow passes none.
	default:
		return fmt.Errorf("unexpected event %q: %s", ev.Event, ev.Data)
	}
	return nil
}

// checkReady checks an inbox's ready event: it must count every group of
// the user (a mismatch is logged; the run goes on).
func (s *stream) checkReady(data string) {
	if s.conversations <= 0 {
		return
	}
	var r struct {
		Conversations int `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(data), &r); err != nil || r.Conversations != s.conversations {
		s.env.errs.add("inbox_ready_count", fmt.Errorf("%s: ready %s, want %d conversations", s.name, data, s.conversations))
	}
}

// messageEvent is the part of a message event the run checks.
type messageEvent struct {
	Channel string `json:"channel"`
	Seq     int64  `json:"seq"`
	Content string `json:"content"`
}

// message records one delivered message received at now.
func (s *stream) message(data string, now time.Duration) error {
	m, err := parseMessageEvent(data)
	if err != nil {
		return err
	}
	if _, ok := s.channels[m.Channel]; !ok {
		s.env.errs.add("foreign_channel", fmt.Errorf("%s: a message of %s seq %d", s.name, m.Channel, m.Seq))
		return nil
	}
	s.received++
	if s.checks == nil {
		s.checks = make(channelChecks, len(s.channels))
	}
	v, advance := s.checks.observe(m.Channel, m.Seq)
	if v == duplicate {
		return nil
	}
	s.progress.Add(advance)
	if sentAt, ok := decodeSentAt(m.Content); ok {
		s.latencies = append(s.latencies, now-sentAt)
	} else {
		s.env.errs.add("foreign_message", fmt.Errorf("%s seq %d: content without a send time", m.Channel, m.Seq))
	}
	return nil
}

// parseMessageEvent reads the fields the run checks from a message
// event's data. Decoding a hundred thousand of them a second with
// encoding/json took a fifth of the load tool's CPU, which shares the
// machine with the server it measures; so the three fields are picked out
// of the text when they are plain (no escapes, as the run's own content
// and Relay's channel ids are), and anything else is decoded in full.
func parseMessageEvent(data string) (messageEvent, error) {
	channel, ok1 := plainStringField(data, `"channel":"`)
	content, ok2 := plainStringField(data, `"content":"`)
	seq, ok3 := intField(data, `"seq":`)
	if ok1 && ok2 && ok3 {
		return messageEvent{Channel: channel, Seq: seq, Content: content}, nil
	}
	var m messageEvent
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return messageEvent{}, fmt.Errorf("message event: %w", err)
	}
	return m, nil
}

// plainStringField returns the string value after key (which ends with the
// opening quote), if key occurs once and the value holds no escape.
func plainStringField(data, key string) (string, bool) {
	i := strings.Index(data, key)
	if i < 0 || strings.Contains(data[i+len(key):], key) {
		return "", false
	}
	rest := data[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 || strings.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return rest[:j], true
}

// intField returns the non-negative integer after key, if key occurs once.
func intField(data, key string) (int64, bool) {
	i := strings.Index(data, key)
	if i < 0 || strings.Contains(data[i+len(key):], key) {
		return 0, false
	}
	rest := data[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j == 0 || j > 18 || (j < len(rest) && rest[j] != ',' && rest[j] != '}') {
		return 0, false
	}
	n, err := strconv.ParseInt(rest[:j], 10, 64)
	return n, err == nil
}

// finals returns the last seq of each of the stream's channels, from the
// groups' last seqs by id, and their sum: what progress reaches once the
// stream delivered everything.
func (s *stream) finals(groupFinals map[string]int64) (map[string]int64, int64) {
	out := make(map[string]int64, len(s.channels))
	var sum int64
	for ch, id := range s.channels {
		out[ch] = groupFinals[id]
		sum += groupFinals[id]
	}
	return out, sum
}
