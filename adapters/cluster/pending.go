package cluster

import (
	"container/list"
	"time"

	"github.com/relaymsg/relay/domain"
)

// pendingKey says which pending events replace each other: a channel's
// newer message replaces its older one (receivers fill the gap from the
// store by seq), but a member removal is never replaced by a message, since
// it is what stops a removed member's streams on other instances. On a user
// channel every event is a doorbell to re-read the user's log past what a
// stream has: the one of the highest UserSeq stands for them all.
type pendingKey struct {
	channel domain.ChannelID
	kind    domain.EventKind
	user    domain.UserID
}

func keyOf(ev domain.Event) pendingKey {
	if ev.Kind.UserLogEvent() {
		return pendingKey{channel: ev.Channel}
	}
	k := pendingKey{channel: ev.Channel, kind: ev.Kind}
	if ev.Kind == domain.EventMemberRemoved {
		k.user = ev.UserID
	}
	return k
}

type pendingEntry struct {
	key  pendingKey
	ev   domain.Event
	sent time.Time // when ev was first published: receivers' lag counts the outage
	gen  uint64    // changes when ev is replaced, so a re-publish of the old one does not remove the new one
}

// pendingSet is the bounded set of events to re-publish, oldest first. Not
// safe for concurrent use: the republisher guards it with its mutex.
type pendingSet struct {
	max   int
	order list.List // of *pendingEntry
	index map[pendingKey]*list.Element
	gen   uint64
}

func newPendingSet(maxEntries int) *pendingSet {
	return &pendingSet{max: maxEntries, index: make(map[pendingKey]*list.Element)}
}

func (p *pendingSet) len() int { return p.order.Len() }

// add records ev, replacing an older event of the same key and moving it
// to the back. It returns the event it evicted to stay within max, if any.
func (p *pendingSet) add(ev domain.Event, sent time.Time) (evicted domain.Event, ok bool) {
	p.gen++
	key := keyOf(ev)
	if el, found := p.index[key]; found {
		e := el.Value.(*pendingEntry)
		// Concurrent publishers of one channel may fail out of order: keep
		// the highest seq, the one that makes receivers fetch the most.
		if replaces(ev, e.ev) {
			e.ev, e.sent, e.gen = ev, sent, p.gen
		}
		p.order.MoveToBack(el)
		return domain.Event{}, false
	}
	p.index[key] = p.order.PushBack(&pendingEntry{key: key, ev: ev, sent: sent, gen: p.gen})
	if p.order.Len() <= p.max {
		return domain.Event{}, false
	}
	oldest := p.order.Front()
	e := p.order.Remove(oldest).(*pendingEntry)
	delete(p.index, e.key)
	return e.ev, true
}

// replaces reports whether ev, of the same key as old, should be kept
// instead of it.
func replaces(ev, old domain.Event) bool {
	switch {
	case ev.Kind == domain.EventMessage:
		return ev.Message.Seq > old.Message.Seq
	case ev.Kind.UserLogEvent():
		return ev.UserSeq > old.UserSeq
	}
	return true
}

// front returns the oldest entry, if any.
func (p *pendingSet) front() (pendingEntry, bool) {
	el := p.order.Front()
	if el == nil {
		return pendingEntry{}, false
	}
	return *el.Value.(*pendingEntry), true
}

// done removes the entry e was taken from, unless it has been replaced by
// a newer event since.
func (p *pendingSet) done(e pendingEntry) {
	el, ok := p.index[e.key]
	if !ok || el.Value.(*pendingEntry).gen != e.gen {
		return
	}
	p.order.Remove(el)
	delete(p.index, e.key)
}
