package cluster

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

// republisher keeps the events the transport failed to publish and
// re-publishes them, oldest first, once it works again. Its lock is its
// own: the Notifier's other jobs never wait for it.
type republisher struct {
	transport  Transport
	id         string // the instance id the envelopes carry
	maxPayload int
	retry      time.Duration
	logger     *slog.Logger
	metrics    *metrics

	// degraded is set while the pending set is not empty: new events then
	// join the queue instead of each waiting for the failing transport's
	// timeout, and they do not overtake older ones. Written under mu.
	degraded   atomic.Bool
	mu         sync.Mutex
	pending    *pendingSet
	dropLogged bool          // a drop was logged in this degraded period
	wake       chan struct{} // capacity 1: the loop has work
}

func newRepublisher(transport Transport, id string, maxPending int, retry time.Duration, logger *slog.Logger,
	m *metrics) *republisher {
	return &republisher{
		transport:  transport,
		id:         id,
		maxPayload: transport.MaxPayload(),
		retry:      retry,
		logger:     logger,
		metrics:    m,
		pending:    newPendingSet(maxPending),
		wake:       make(chan struct{}, 1),
	}
}

// queueIfDegraded queues ev if events are still waiting to be re-published,
// and reports whether it did.
func (r *republisher) queueIfDegraded(ctx context.Context, ev domain.Event, sent time.Time) bool {
	if !r.degraded.Load() {
		return false // the usual case, without the lock
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.degraded.Load() {
		return false
	}
	r.addLocked(ctx, ev, sent)
	return true
}

// enqueue keeps ev, which the transport failed to publish, for the
// re-publish loop.
func (r *republisher) enqueue(ctx context.Context, ev domain.Event, sent time.Time) {
	r.mu.Lock()
	if !r.degraded.Load() {
		r.degraded.Store(true)
		r.dropLogged = false
		r.logger.LogAttrs(ctx, slog.LevelWarn, "notifier transport failing: queuing events for re-publishing",
			slog.String("channel", ev.Channel.String()))
	}
	r.addLocked(ctx, ev, sent)
	r.mu.Unlock()
	r.signal()
}

func (r *republisher) addLocked(ctx context.Context, ev domain.Event, sent time.Time) {
	r.metrics.publishFailures.Inc()
	evicted, dropped := r.pending.add(ev, sent)
	r.metrics.pending.Set(float64(r.pending.len()))
	if !dropped {
		return
	}
	r.metrics.pendingDropped.Inc()
	// Once per degraded period: a long outage would otherwise log a line
	// per message. The counter has the total.
	if !r.dropLogged {
		r.dropLogged = true
		r.logger.LogAttrs(ctx, slog.LevelWarn, "re-publish set full: dropping the oldest events",
			slog.Int("max_pending", r.pending.max), slog.String("channel", evicted.Channel.String()))
	}
}

// signal tells the loop that there may be work.
func (r *republisher) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run re-publishes pending events, oldest first, until ctx is done. Each
// attempt comes RetryInterval after the failure before it: an immediate
// retry would most likely fail too.
func (r *republisher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		total := 0
		for {
			if !backoff.Sleep(ctx, r.retry) {
				return
			}
			sent, finished := r.drain(ctx)
			total += sent
			if finished {
				break
			}
		}
		if total > 0 {
			r.logger.LogAttrs(ctx, slog.LevelInfo, "notifier transport recovered: pending events re-published",
				slog.Int("events", total))
		}
	}
}

// drain re-publishes pending events until none is left (finished) or the
// transport fails.
func (r *republisher) drain(ctx context.Context) (sent int, finished bool) {
	for {
		e, ok := r.next()
		if !ok {
			return sent, true
		}
		if err := r.republish(ctx, e); err != nil {
			return sent, false
		}
		sent++
		r.mu.Lock()
		r.pending.done(e)
		r.metrics.pending.Set(float64(r.pending.len()))
		r.mu.Unlock()
	}
}

// next returns the oldest pending event; when there is none it ends the
// degraded period, under the same lock that queueIfDegraded checks it
// with, so that no event is queued after the loop has stopped looking.
func (r *republisher) next() (pendingEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.pending.front()
	if !ok {
		r.degraded.Store(false)
	}
	return e, ok
}

func (r *republisher) republish(ctx context.Context, e pendingEntry) error {
	payload, err := wire.EncodeLimited(e.ev, r.id, r.maxPayload, e.sent)
	if err != nil {
		// Publish encoded it once already, so this cannot happen; dropping
		// beats retrying forever.
		r.logger.LogAttrs(ctx, slog.LevelError, "drop pending event", slog.String("channel", e.ev.Channel.String()),
			slog.Any("error", err))
		return nil
	}
	return r.transport.Publish(ctx, e.ev, payload)
}
