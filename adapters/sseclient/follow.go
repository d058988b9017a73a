package sseclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
)

// DefaultRetry is the reconnection time until the server sends `retry:`.
const DefaultRetry = 2 * time.Second

// ErrEnded is a stream that the server closed (cut off, shutting down).
var ErrEnded = errors.New("the server ended the stream")

// StatusError is an answer other than 200 to the stream request. A 4xx is
// permanent: API.md keeps 4xx on /api/sse for requests that can never
// succeed.
type StatusError struct {
	Status int
	// Body is the start of the answer's body (the API's error JSON).
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("server answered %d", e.Status) }

// Permanent reports whether no retry can change the answer.
func (e *StatusError) Permanent() bool { return e.Status >= 400 && e.Status < 500 }

// Stop wraps a handler's error so that Follow returns err instead of
// reconnecting (a token that expired, for instance).
func Stop(err error) error { return &stopError{err} }

// Throttle wraps a handler's error for a stream that the server refused
// for a limit and asked to be called back: Follow reconnects after the
// server's reconnection time, without counting a failure or growing the
// backoff.
func Throttle(err error) error { return &throttleError{err} }

type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

type throttleError struct{ err error }

func (e *throttleError) Error() string { return e.err.Error() }
func (e *throttleError) Unwrap() error { return e.err }

// Retry describes a reconnection Follow is about to wait for.
type Retry struct {
	// Err is why the session ended.
	Err error
	// Wait is how long Follow waits before it reconnects.
	Wait time.Duration
	// Failures counts the failed sessions in a row, this one included;
	// it is 0 for a throttled one.
	Failures int
	// Throttled tells a session the handler ended with Throttle.
	Throttled bool
}

// Options configure Follow.
type Options struct {
	// URL is the stream's address, query included (see StreamURL).
	URL string
	// Token is sent as "Authorization: Bearer".
	Token string
	// LastEventID is where the first request resumes; empty starts at the
	// end of each channel.
	LastEventID string
	// Client sends the requests; nil selects http.DefaultClient. Its
	// Timeout, if any, bounds a whole stream.
	Client *http.Client
	// Backoff paces the reconnections after failed sessions. Its Min is
	// the reconnection time until the server sends `retry:`, which then
	// replaces it (zero selects DefaultRetry); a session that delivered an
	// event resets it.
	Backoff backoff.Backoff
	// MaxFailures, when positive, makes Follow give up (returning the last
	// error) after that many failed sessions in a row.
	MaxFailures int
	// OnRetry, when set, is called before each wait.
	OnRetry func(Retry)
}

// Handler receives each dispatched event of the stream. An error ends the
// session: Follow then reconnects, unless the error is wrapped with Stop
// (or Throttle, which reconnects without backing off).
type Handler func(Event) error

// StreamURL is the address of the stream of channels at baseURL.
func StreamURL(baseURL string, channels []string) string {
	return strings.TrimSuffix(baseURL, "/") + "/api/sse?" + url.Values{"channel": channels}.Encode()
}

// InboxURL is the address of the inbox stream at baseURL: the token's
// user's, or user's when it is not empty (a service token may follow any
// user's inbox).
func InboxURL(baseURL, user string) string {
	u := strings.TrimSuffix(baseURL, "/") + "/api/sse/inbox"
	if user != "" {
		u += "?" + url.Values{"user": {user}}.Encode()
	}
	return u
}

// Follow reads the stream until ctx is done (nil), the server refuses it
// for good (a *StatusError with a 4xx), the handler stops it (its error,
// unwrapped from Stop), or MaxFailures sessions failed in a row (the last
// one's error). Each request after the first resumes from the id of the
// last event the handler accepted (or of a block without data).
func Follow(ctx context.Context, opts Options, handle Handler) error {
	f := &follower{opts: opts, lastID: opts.LastEventID, b: opts.Backoff}
	if f.b.Min <= 0 {
		f.b.Min = DefaultRetry
	}
	for {
		progressed, err := f.session(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		if stop, ok := errors.AsType[*stopError](err); ok {
			return stop.err
		}
		if se, ok := errors.AsType[*StatusError](err); ok && se.Permanent() {
			return err
		}
		if progressed {
			f.b.Reset()
		}
		r := Retry{Err: err}
		if _, ok := errors.AsType[*throttleError](err); ok {
			r.Throttled, r.Wait = true, f.b.Min
		} else {
			r.Wait = f.b.Next()
			r.Failures = f.b.Failures()
			if opts.MaxFailures > 0 && r.Failures >= opts.MaxFailures {
				return err
			}
		}
		if opts.OnRetry != nil {
			opts.OnRetry(r)
		}
		if !backoff.Sleep(ctx, r.Wait) {
			return nil
		}
	}
}

// follower is one Follow's state.
type follower struct {
	opts   Options
	lastID string
	b      backoff.Backoff
}

// session opens the stream once, from the last id, and reads it until it
// ends, which it always does with an error. progressed tells whether the
// handler accepted an event.
func (f *follower) session(ctx context.Context, handle Handler) (progressed bool, err error) {
	resp, err := f.open(ctx)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, &StatusError{Status: resp.StatusCode, Body: string(body)}
	}
	r := NewReader(resp.Body)
	for {
		ev, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrEnded
			}
			return progressed, err
		}
		if ev.HasRetry && ev.Retry > 0 {
			f.b.Min = ev.Retry
		}
		if ev.IsDispatched() {
			if err := handle(ev); err != nil {
				return progressed, err
			}
			progressed = true
		}
		if ev.HasID {
			f.lastID = ev.ID
		}
	}
}

// open sends the stream request and returns once the headers arrived.
func (f *follower) open(ctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.opts.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if f.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.opts.Token)
	}
	if f.lastID != "" {
		req.Header.Set("Last-Event-ID", f.lastID)
	}
	hc := f.opts.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	return resp, nil
}
