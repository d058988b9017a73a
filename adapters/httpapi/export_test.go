package httpapi

// Internals exposed to the external tests (package httpapi_test) only.

import (
	"net/http"
	"time"

	"github.com/relaymsg/relay/domain"
)

// MessageEncodes reports how many times h marshalled a message.
func (h *Handler) MessageEncodes() uint64 { return h.cache.encodes.Load() }

// MessageCache is the encode cache, for direct tests.
type MessageCache = messageCache

// NewMessageCache returns an encode cache of slots slots.
func NewMessageCache(slots int) *MessageCache { return newMessageCache(slots) }

// Encode returns m's cached JSON.
func (c *messageCache) Encode(m domain.Message) ([]byte, error) { return c.encode(m) }

// Encodes reports how many times c marshalled a message.
func (c *messageCache) Encodes() uint64 { return c.encodes.Load() }

// WriteEvent writes one SSE event to w through the stream's writer.
func WriteEvent(w http.ResponseWriter, id, name string, data []byte) error {
	ew := newEventWriter(w, time.Second)
	if err := ew.event(id, name, data); err != nil {
		return err
	}
	return ew.flush()
}

// WriteComment writes one SSE comment to w through the stream's writer.
func WriteComment(w http.ResponseWriter, text string) error {
	ew := newEventWriter(w, time.Second)
	if err := ew.comment(text); err != nil {
		return err
	}
	return ew.flush()
}

// ParseToken validates token with secret at now, as requireAuth does.
func ParseToken(secret []byte, token string, now time.Time) (domain.Principal, error) {
	return newAuthenticator(secret, func() time.Time { return now }).principal(token)
}
