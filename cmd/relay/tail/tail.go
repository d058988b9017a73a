// Package tail is `relay tail`: a terminal subscriber of Relay's public SSE
// streams, for operators and for backend services that want a
// conversation's messages, or a user's whole inbox, as they arrive. It
// resumes from its last cursor whenever the connection drops, so it prints
// every message once, in seq order per channel, however often the server
// restarts.
package tail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/sseclient"
)

// Backoff bounds: the first retry waits what the server asked for
// (`retry:`), or DefaultRetry; each failure in a row doubles it up to
// MaxRetry.
const (
	DefaultRetry = 2 * time.Second
	MaxRetry     = 30 * time.Second
)

// ErrTokenExpired ends a tail whose token expired: reconnecting with it
// cannot succeed.
var ErrTokenExpired = errors.New("the token expired: get a new one and run again")

// Options configure Run.
type Options struct {
	// BaseURL is the service's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Channels are the channels to follow ("dm:dm_…", "group:grp_…").
	// They exclude Inbox.
	Channels []string
	// Inbox follows the inbox stream instead (/api/sse/inbox): every
	// conversation of the token's user, or of User, now and later.
	Inbox bool
	// User, with Inbox and a service token, names whose inbox to follow;
	// empty follows the token's own user.
	User string
	// Token is the bearer token sent with every request.
	Token string
	// JSON prints each message event's data as it arrived, one JSON object
	// per line, instead of a line for people.
	JSON bool
	// Cursor resumes from an earlier run's last cursor (printed on
	// standard error); empty starts at each channel's end.
	Cursor string
	// Client sends the requests; nil selects a client without timeout (a
	// stream is open for as long as it lasts).
	Client *http.Client
}

// message is the part of a message event that tail reads.
type message struct {
	Channel   string `json:"channel"`
	Seq       int64  `json:"seq"`
	SenderID  string `json:"senderId"`
	PersonaID string `json:"personaId"`
	Content   string `json:"content"`
	CreatedAt string `json:"createdAt"`
}

// follower is one Run's state.
type follower struct {
	opts   Options
	out    io.Writer        // messages
	status io.Writer        // connection news
	seen   map[string]int64 // channel → last seq printed
}

// Run follows the channels, or the inbox, until ctx is done (nil), the
// server refuses the request for good (a 4xx: a bad token, a channel that
// does not exist or is not the caller's, a user a non-service token may not
// follow), or the token expires (ErrTokenExpired). Messages go to out;
// connection and membership news, with the cursor to resume from, to
// status.
func Run(ctx context.Context, opts Options, out, status io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	f := &follower{opts: opts, out: out, status: status, seen: make(map[string]int64)}
	url := sseclient.StreamURL(opts.BaseURL, opts.Channels)
	if opts.Inbox {
		url = sseclient.InboxURL(opts.BaseURL, opts.User)
	}
	err := sseclient.Follow(ctx, sseclient.Options{
		URL:         url,
		Token:       opts.Token,
		LastEventID: opts.Cursor,
		Client:      opts.Client,
		Backoff:     backoff.Backoff{Min: DefaultRetry, Max: MaxRetry},
		OnRetry: func(r sseclient.Retry) {
			fmt.Fprintf(status, "tail: %v; reconnecting in %v\n", r.Err, r.Wait)
		},
	}, f.handle)
	if se, ok := errors.AsType[*sseclient.StatusError](err); ok {
		return &refusedError{status: se.Status, body: se.Body}
	}
	return err
}

// validate rejects options no stream can answer.
func (o Options) validate() error {
	switch {
	case o.BaseURL == "" || o.Token == "":
		return errors.New("tail: a URL and a token are required")
	case o.Inbox && len(o.Channels) > 0:
		return errors.New("tail: follow either channels or the inbox, not both")
	case !o.Inbox && len(o.Channels) == 0:
		return errors.New("tail: at least one channel, or the inbox, is required")
	case !o.Inbox && o.User != "":
		return errors.New("tail: a user names whose inbox to follow: it requires the inbox")
	}
	return nil
}

// refusedError is a 4xx answer, which no retry can change (API.md keeps 4xx
// on /api/sse for requests that can never succeed).
type refusedError struct {
	status int
	body   string
}

func (e *refusedError) Error() string {
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	if json.Unmarshal([]byte(e.body), &body) == nil && body.Error.Message != "" {
		return fmt.Sprintf("tail: refused (%d): %s", e.status, body.Error.Message)
	}
	return fmt.Sprintf("tail: refused (%d)", e.status)
}

// handle prints one event of the stream. Follow resumes from the id of
// each event it accepts.
func (f *follower) handle(ev sseclient.Event) error {
	switch ev.Event {
	case "ready":
		if f.opts.Inbox {
			return f.inboxReady(ev)
		}
		fmt.Fprintf(f.status, "tail: following %s (cursor %s)\n", strings.Join(f.opts.Channels, ", "), ev.ID)
	case "message":
		return f.message(ev.Data)
	case "channel_removed":
		fmt.Fprintf(f.status, "tail: no longer a member: %s\n", ev.Data)
	case "conversation_added":
		return f.conversationAdded(ev.Data)
	case "read":
		return f.read(ev.Data)
	case "token_expired":
		return sseclient.Stop(ErrTokenExpired)
	}
	return nil
}

// message prints a message event's data, unless it was printed already.
func (f *follower) message(data string) error {
	var m message
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return fmt.Errorf("a message event that is not JSON: %w", err)
	}
	if m.Seq <= f.seen[m.Channel] {
		return nil // the server does not repeat itself, but a proxy may
	}
	f.seen[m.Channel] = m.Seq
	if f.opts.JSON {
		_, err := fmt.Fprintln(f.out, data)
		return err
	}
	sender := m.SenderID
	if m.PersonaID != "" {
		sender += " as " + m.PersonaID
	}
	_, err := fmt.Fprintf(f.out, "%s %s #%d %s: %s\n", m.CreatedAt, m.Channel, m.Seq, sender, m.Content)
	return err
}
