package httpapi

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/relaymsg/relay/domain"
)

// messageCacheSlots is the size of the handler's encode cache. A message is
// looked up by every stream of its channel within moments of being sent,
// so a few thousand recent messages cover the fan-out of a busy instance.
const messageCacheSlots = 4096

// messageCache encodes each message's JSON once per instance rather than
// once per subscriber: a message fanned out to a thousand streams is
// marshalled once and its bytes shared, read-only.
//
// It is direct-mapped: (channel, seq) hashes to one slot, and a newer
// message that lands on the slot simply replaces the older one, so memory
// stays bounded without any eviction bookkeeping. Each slot has its own
// mutex, so concurrent streams contend only when they want the same slot —
// which is exactly when one should wait for the other's encoding.
type messageCache struct {
	seed    maphash.Seed
	slots   []cacheSlot
	encodes atomic.Uint64 // how many times a message was marshalled, for tests
}

type cacheKey struct {
	channel domain.ChannelID
	seq     int64
}

type cacheSlot struct {
	mu    sync.Mutex
	key   cacheKey
	id    string // the message id, in case a test store reuses (channel, seq)
	bytes []byte
	frame []byte // the SSE event's body (appendEventBody), made on first use
}

func newMessageCache(slots int) *messageCache {
	return &messageCache{seed: maphash.MakeSeed(), slots: make([]cacheSlot, slots)}
}

// encode returns m's JSON (see encodeMessage). The bytes are shared and
// must not be modified.
func (c *messageCache) encode(m domain.Message) ([]byte, error) {
	slot, err := c.slot(m)
	if err != nil {
		return nil, err
	}
	defer slot.mu.Unlock()
	return slot.bytes, nil
}

// frame returns the body of m's SSE message event (event and data
// fields, and the blank line): built once per message, like its JSON, so
// that each stream only puts its id in front. Shared; do not modify.
func (c *messageCache) frame(m domain.Message) ([]byte, error) {
	slot, err := c.slot(m)
	if err != nil {
		return nil, err
	}
	defer slot.mu.Unlock()
	if slot.frame == nil {
		slot.frame = appendEventBody(make([]byte, 0, len(slot.bytes)+32), "message", slot.bytes)
	}
	return slot.frame, nil
}

// slot returns m's slot, locked, holding m's JSON.
func (c *messageCache) slot(m domain.Message) (*cacheSlot, error) {
	key := cacheKey{channel: m.Channel, seq: m.Seq}
	slot := &c.slots[maphash.Comparable(c.seed, key)%uint64(len(c.slots))]
	slot.mu.Lock()
	if slot.bytes != nil && slot.key == key && slot.id == m.ID {
		return slot, nil
	}
	b, err := encodeMessage(m)
	if err != nil {
		slot.mu.Unlock()
		return nil, err
	}
	c.encodes.Add(1)
	slot.key, slot.id, slot.bytes, slot.frame = key, m.ID, b, nil
	return slot, nil
}
