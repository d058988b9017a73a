package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Defaults applied to the zero fields of Options.
const (
	// DefaultQueueSize is the default capacity of a subscription's queue.
	DefaultQueueSize = 256
	// DefaultShards is the default number of shards of the subscriber map.
	DefaultShards = 64
	// maxShards caps Options.Shards: past a few times the number of cores
	// more shards only cost memory.
	maxShards = 1 << 16
)

// errClosed is returned by every call on a closed Notifier. It wraps
// domain.ErrUnavailable so that callers treat it like any unreachable
// dependency, and ports.ErrNotifierClosed so that they can tell why.
var errClosed = fmt.Errorf("memory notifier: %w: %w", domain.ErrUnavailable, ports.ErrNotifierClosed)

// Options configures a Notifier. Zero fields select the defaults.
type Options struct {
	// QueueSize is the capacity of each subscription's event queue. A
	// subscriber with QueueSize events waiting is cut off by the next one.
	// Zero or less selects DefaultQueueSize.
	QueueSize int
	// Shards is the number of shards of the channel → subscribers map,
	// rounded up to a power of two. Zero or less selects DefaultShards.
	Shards int
	// Logger receives a debug line for each subscriber cut off. Nil selects
	// slog.Default().
	Logger *slog.Logger
	// OnWatch, when set, is told when a channel gains its first subscriber
	// (watched true) and loses its last (watched false). A cross-process
	// notifier built on this one uses it to listen upstream only to the
	// channels someone here watches. It is called with the channel's shard
	// locked, so calls for one channel arrive in order; it must return
	// quickly and must not call the Notifier.
	OnWatch func(ch domain.ChannelID, watched bool)
}

// Notifier is an in-process ports.Notifier. Its zero value is not usable:
// create one with NewNotifier. All methods are safe for concurrent use.
type Notifier struct {
	shards    []shard
	mask      uint64 // len(shards)-1; len(shards) is a power of two
	seed      maphash.Seed
	queueSize int
	logger    *slog.Logger
	onWatch   func(ch domain.ChannelID, watched bool)

	// closed is read without a lock on the publish path; it is set under mu
	// so that Subscribe, which checks it under mu, cannot register a
	// subscription that Close would miss.
	closed    atomic.Bool
	closeOnce sync.Once
	mu        sync.Mutex
	subs      map[*subscription]struct{} // live subscriptions, for Close
}

var _ ports.Notifier = (*Notifier)(nil)

// shard holds the subscribers of the channels that hash to it.
type shard struct {
	shardState
	// Padding keeps neighbouring shards' locks on different cache lines, so
	// that publishers on different cores do not slow each other down
	// through false sharing of the RWMutex reader count.
	_ [64 - unsafe.Sizeof(shardState{})%64]byte
}

type shardState struct {
	mu sync.RWMutex
	// subs lists each channel's subscribers. A slice rather than a set
	// because publishing, which iterates it, is far more frequent than
	// subscribing, which searches it. Empty lists are deleted.
	subs map[domain.ChannelID][]*subscription
}

// NewNotifier returns a Notifier configured by opts.
func NewNotifier(opts Options) *Notifier {
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	shards := opts.Shards
	if shards <= 0 {
		shards = DefaultShards
	}
	shards = 1 << bits.Len(uint(min(shards, maxShards)-1)) // a power of two
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	n := &Notifier{
		shards:    make([]shard, shards),
		mask:      uint64(shards - 1),
		seed:      maphash.MakeSeed(),
		queueSize: queueSize,
		logger:    logger,
		onWatch:   opts.OnWatch,
		subs:      make(map[*subscription]struct{}),
	}
	for i := range n.shards {
		n.shards[i].subs = make(map[domain.ChannelID][]*subscription)
	}
	return n
}

// shardOf returns the shard holding ch's subscribers. Only the id is
// hashed: ids of different kinds mostly have different prefixes, and a
// collision (a user named like a conversation, say) only shares a shard,
// never mixes up channels, which the map keys by kind and id.
func (n *Notifier) shardOf(ch domain.ChannelID) *shard {
	return &n.shards[maphash.String(n.seed, string(ch.ID))&n.mask]
}

// Publish enqueues ev on the queue of every subscriber of ev.Channel
// without blocking, and cuts off each subscriber whose queue is full. It
// never waits, so ctx serves only the log of a cut-off. After Close it does
// nothing and returns an error wrapping domain.ErrUnavailable.
func (n *Notifier) Publish(ctx context.Context, ev domain.Event) error {
	if n.closed.Load() {
		return errClosed
	}
	sh := n.shardOf(ev.Channel)
	var cut []*subscription // allocated only when someone is cut off
	// One copy of the event is shared, read-only, by every queue: a queue
	// slot is a pointer, not a 200-byte event. A channel nobody watches
	// costs no allocation.
	var shared *domain.Event
	sh.mu.RLock()
	for _, s := range sh.subs[ev.Channel] {
		if shared == nil {
			copied := ev
			shared = &copied
		}
		if !s.offer(shared) {
			cut = append(cut, s)
		}
	}
	sh.mu.RUnlock()
	// Removal needs shard write locks, which cannot be taken while this
	// read lock is held; the subscriptions are already ended, and offer
	// skips them until they are gone.
	for _, s := range cut {
		n.cutOff(ctx, s, ev.Channel)
	}
	return nil
}

// Subscribe registers a subscription to channels, which may be empty and
// may repeat a channel (it is delivered once). Every event published after
// Subscribe returns is delivered. ctx bounds only the call: the
// subscription lives until it is closed, cut off or the notifier closes.
func (n *Notifier) Subscribe(ctx context.Context, channels []domain.ChannelID) (ports.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory notifier: subscribe: %w", err)
	}
	s := &subscription{
		n:        n,
		ready:    make(chan struct{}, 1),
		crowded:  make(chan struct{}, 1),
		done:     make(chan struct{}),
		channels: domain.MakeChannelMap[struct{}](len(channels)),
	}
	for _, ch := range channels {
		s.channels.Set(ch, struct{}{})
	}
	// s is locked before Close can find it in n.subs, so that Close's
	// removal from the shards waits until s has been added to them.
	s.mu.Lock()
	defer s.mu.Unlock()
	n.mu.Lock()
	if n.closed.Load() {
		n.mu.Unlock()
		return nil, errClosed
	}
	n.subs[s] = struct{}{}
	n.mu.Unlock()
	for ch := range s.channels.All() {
		n.add(ch, s)
	}
	return s, nil
}

// add lists s among ch's subscribers, telling OnWatch if it is the first.
// Once it returns, every publisher of ch enqueues to s: publishers hold the
// shard's read lock for the whole of their sends, and add waits for the
// write lock.
func (n *Notifier) add(ch domain.ChannelID, s *subscription) {
	sh := n.shardOf(ch)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.subs[ch]) == 0 && n.onWatch != nil {
		n.onWatch(ch, true)
	}
	sh.subs[ch] = append(sh.subs[ch], s)
}

// Ping returns nil unless the notifier is closed: in one process there is
// nothing else that could fail.
func (n *Notifier) Ping(context.Context) error {
	if n.closed.Load() {
		return errClosed
	}
	return nil
}

// Close ends every subscription with ports.ErrNotifierClosed and makes
// later calls fail. It is safe to call more than once; every call returns
// after the subscriptions have ended.
func (n *Notifier) Close() {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed.Store(true)
		subs := n.subs
		n.subs = nil
		n.mu.Unlock()
		for s := range subs {
			s.end(ports.ErrNotifierClosed)
			s.detach()
		}
	})
}

// cutOff removes s, which a publisher of ch found with a full queue and
// ended, from every shard.
func (n *Notifier) cutOff(ctx context.Context, s *subscription, ch domain.ChannelID) {
	// Debug: the stream that owns s reports the cut-off when it ends; a
	// mass cut-off must not log every subscriber twice.
	if n.logger.Enabled(ctx, slog.LevelDebug) {
		n.logger.LogAttrs(ctx, slog.LevelDebug, "subscriber cut off: queue full",
			slog.String("channel", ch.String()), slog.Int("queue_size", n.queueSize))
	}
	s.detach()
}

// remove deletes s from ch's subscribers. Once it returns, no publisher of
// ch can enqueue to s: publishers hold the shard's read lock for the whole
// of their sends, and remove waits for the write lock.
func (n *Notifier) remove(ch domain.ChannelID, s *subscription) {
	sh := n.shardOf(ch)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.subs[ch]
	for i, other := range list {
		if other != s {
			continue
		}
		last := len(list) - 1
		list[i] = list[last]
		list[last] = nil // let the subscription be collected
		if last == 0 {
			delete(sh.subs, ch)
			if n.onWatch != nil {
				n.onWatch(ch, false)
			}
		} else {
			sh.subs[ch] = list[:last]
		}
		return
	}
}

// forget drops s from the live set once it has left every shard.
func (n *Notifier) forget(s *subscription) {
	n.mu.Lock()
	delete(n.subs, s) // a no-op once Close has taken the set
	n.mu.Unlock()
}
