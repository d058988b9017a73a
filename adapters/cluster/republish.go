package cluster

import (
	"context"
	"log/slog"
	"time"

	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

// queueIfDegraded queues ev if events are still waiting to be re-published,
// and reports whether it did.
func (n *Notifier) queueIfDegraded(ctx context.Context, ev domain.Event, sent time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.degraded.Load() {
		return false
	}
	n.addLocked(ctx, ev, sent)
	return true
}

// enqueue keeps ev, which the transport failed to publish, for the
// re-publish loop.
func (n *Notifier) enqueue(ctx context.Context, ev domain.Event, sent time.Time) {
	n.mu.Lock()
	if !n.degraded.Load() {
		n.degraded.Store(true)
		n.dropLogged = false
		n.logger.LogAttrs(ctx, slog.LevelWarn, "notifier transport failing: queuing events for re-publishing",
			slog.String("channel", ev.Channel.String()))
	}
	n.addLocked(ctx, ev, sent)
	n.mu.Unlock()
	n.signal()
}

func (n *Notifier) addLocked(ctx context.Context, ev domain.Event, sent time.Time) {
	n.metrics.publishFailures.Inc()
	evicted, dropped := n.pending.add(ev, sent)
	n.metrics.pending.Set(float64(n.pending.len()))
	if !dropped {
		return
	}
	n.metrics.pendingDropped.Inc()
	// Once per degraded period: a long outage would otherwise log a line
	// per message. The counter has the total.
	if !n.dropLogged {
		n.dropLogged = true
		n.logger.LogAttrs(ctx, slog.LevelWarn, "re-publish set full: dropping the oldest events",
			slog.Int("max_pending", n.pending.max), slog.String("channel", evicted.Channel.String()))
	}
}

func (n *Notifier) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// republishLoop re-publishes pending events, oldest first, until ctx is
// done. Each attempt comes RetryInterval after the failure before it: an
// immediate retry would most likely fail too.
func (n *Notifier) republishLoop(ctx context.Context) {
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	defer pause.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		total := 0
		for {
			pause.Reset(n.retry)
			select {
			case <-ctx.Done():
				return
			case <-pause.C:
			}
			sent, finished := n.drain(ctx)
			total += sent
			if finished {
				break
			}
		}
		if total > 0 {
			n.logger.LogAttrs(ctx, slog.LevelInfo, "notifier transport recovered: pending events re-published",
				slog.Int("events", total))
		}
	}
}

// drain re-publishes pending events until none is left (finished) or the
// transport fails.
func (n *Notifier) drain(ctx context.Context) (sent int, finished bool) {
	for {
		e, ok := n.next()
		if !ok {
			return sent, true
		}
		if err := n.republish(ctx, e); err != nil {
			return sent, false
		}
		sent++
		n.mu.Lock()
		n.pending.done(e)
		n.metrics.pending.Set(float64(n.pending.len()))
		n.mu.Unlock()
	}
}

// next returns the oldest pending event; when there is none it ends the
// degraded period, under the same lock that Publish checks it with, so
// that no event is queued after the loop has stopped looking.
func (n *Notifier) next() (pendingEntry, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.pending.front()
	if !ok {
		n.degraded.Store(false)
	}
	return e, ok
}

func (n *Notifier) republish(ctx context.Context, e pendingEntry) error {
	payload, err := wire.EncodeLimited(e.ev, n.id, n.maxPayload, e.sent)
	if err != nil {
		// Publish encoded it once already, so this cannot happen; dropping
		// beats retrying forever.
		n.logger.LogAttrs(ctx, slog.LevelError, "drop pending event", slog.String("channel", e.ev.Channel.String()),
			slog.Any("error", err))
		return nil
	}
	return n.transport.Publish(ctx, e.ev, payload)
}
