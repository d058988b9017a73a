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

// KeyedLimiter is the per-key token bucket set, for direct tests.
type KeyedLimiter = keyedLimiter

// NewKeyedLimiter returns the limiter of r.
func NewKeyedLimiter(r Rate) *KeyedLimiter { return newKeyedLimiter(r) }

// Take takes a token of key's bucket at now.
func (k *keyedLimiter) Take(key string, now time.Time) (bool, time.Duration) { return k.take(key, now) }

// Size reports how many buckets k holds.
func (k *keyedLimiter) Size() int { return k.size() }

// SweepInterval is how often a keyed limiter drops its full buckets.
const SweepInterval = sweepInterval

// StreamSlots counts open streams against the stream limits.
type StreamSlots = streamSlots

// NewStreamSlots returns slots of perUser streams a user, total in all.
func NewStreamSlots(perUser, total int) *StreamSlots { return newStreamSlots(perUser, total) }

// Acquire takes a slot for p, or names the limit that refuses it.
func (s *streamSlots) Acquire(p domain.Principal) (func(), string) { return s.acquire(p) }

// Open returns the streams open in all and user's.
func (s *streamSlots) Open(user domain.UserID) (int, int) { return s.open(user) }
