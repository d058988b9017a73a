package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
)

// subscribeInbox: GET /api/sse/inbox — one stream of every conversation of
// the caller, now and later (API.md, "Inbox stream"). A service token may
// follow any user's inbox with ?user=<id>. Its failures are answered as
// /api/sse's.
func (h *Handler) subscribeInbox(w http.ResponseWriter, r *http.Request) error {
	q, err := parseInboxQuery(r)
	if err != nil {
		return err
	}
	q.Principal = principalOf(r)
	return serveSSE(h, w, r, q.Principal,
		func(ctx context.Context) (*application.Inbox, error) {
			in, err := h.uc.SubscribeInbox.Execute(ctx, q)
			if isInboxBehind(err) {
				h.metrics.inboxHeldBack.Inc() // answered as any transient failure: retry
			}
			return in, err
		},
		h.runInbox)
}

// parseInboxQuery reads the resume cursor (the Last-Event-ID header wins
// over the lastEventId parameter) and the user a service token follows.
func parseInboxQuery(r *http.Request) (application.InboxQuery, error) {
	vals := r.URL.Query()
	var q application.InboxQuery
	if u := vals.Get("user"); u != "" {
		if err := domain.ValidateUserID("user", domain.UserID(u)); err != nil {
			return q, err
		}
		q.User = domain.UserID(u)
	}
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = vals.Get("lastEventId")
	}
	if id != "" {
		cursor, err := domain.ParseInboxCursor(id)
		if err != nil {
			return q, badRequest(codeInvalidCursor, "lastEventId: is not an inbox cursor issued by this service")
		}
		q.Cursor = &cursor
	}
	return q, nil
}

type inboxReadyJSON struct {
	Conversations int `json:"conversations"`
}

// runInbox writes the preamble (retry, then ready with the starting
// cursor), flushes it, and hands the connection to the inbox stream.
func (h *Handler) runInbox(ctx context.Context, ew *eventWriter, in *application.Inbox, attrs []any) {
	conn := h.streams.open(nil)
	defer conn.close()

	data, err := json.Marshal(inboxReadyJSON{Conversations: in.Conversations()})
	if err == nil {
		err = ew.retry(h.cfg.RetryInterval)
	}
	if err == nil {
		err = ew.event(in.Start().String(), "ready", data)
	}
	if err == nil {
		err = ew.flush()
	}
	if err == nil {
		err = in.Run(ctx, &inboxSSESink{sseSink: sseSink{w: ew, cache: h.cache, metrics: h.metrics, conn: conn}})
	}
	if err != nil && isInboxBehind(err) {
		// The cursor cannot grow further until the store's watermark moves
		// on: the client comes back after its retry and resumes from its
		// last id.
		h.metrics.inboxHeldBack.Inc()
		h.logger.WarnContext(ctx, "inbox stream ended: the commit watermark is held back", attrs...)
		return
	}
	h.streamEnded(ctx, attrs, err)
}

func isInboxBehind(err error) bool { return errors.Is(err, application.ErrInboxBehind) }

// inboxSSESink renders an inbox stream's calls as SSE events, the ones it
// shares with channel streams as sseSink does.
type inboxSSESink struct {
	sseSink
}

var _ application.InboxSink = (*inboxSSESink)(nil)

func (s *inboxSSESink) Message(m domain.Message, cursor domain.InboxCursor) error {
	return s.message(cursor.String(), m)
}

func (s *inboxSSESink) ConversationAdded(c domain.Conversation, cursor domain.InboxCursor) error {
	return s.jsonEvent(cursor.String(), "conversation_added", toMemberConversationJSON(c))
}

func (s *inboxSSESink) ChannelRemoved(channel domain.ChannelID, cursor domain.InboxCursor) error {
	return s.channelRemoved(cursor.String(), channel)
}

type readJSON struct {
	Channel string `json:"channel"`
	ReadSeq int64  `json:"readSeq"`
}

func (s *inboxSSESink) Read(channel domain.ChannelID, readSeq int64, cursor domain.InboxCursor) error {
	return s.jsonEvent(cursor.String(), "read", readJSON{Channel: channel.String(), ReadSeq: readSeq})
}
