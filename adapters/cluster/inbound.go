package cluster

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

// rejectLogEvery bounds the logging of unusable envelopes: during a rolling
// upgrade every envelope of the newer instances may be one.
const rejectLogEvery = 10 * time.Second

// inbound is the Handler the Notifier gives its transport. A separate type
// keeps Deliver and friends out of the Notifier's own API.
type inbound struct{ n *Notifier }

var _ Handler = inbound{}

// Deliver hands a received event to the local subscribers of its channel.
func (in inbound) Deliver(payload []byte) {
	n := in.n
	env, err := wire.Decode(payload)
	switch {
	case err != nil:
		n.reject(env, err)
		if env.Event.Channel != (domain.ChannelID{}) {
			n.resync(env.Event.Channel)
		}
		return
	case env.Origin == n.id:
		return // the hub delivered it when it was published
	case env.Partial:
		n.resync(env.Event.Channel)
		return
	case env.Event.Kind == domain.EventResync:
		n.metrics.resyncs.Inc()
	case env.Event.Kind == domain.EventMessage:
		// From the commit (the publisher's stamp; an older publisher's
		// envelope has only the creation time, before the INSERT). Clocks
		// of different instances disagree a little; a negative lag is a
		// skew, not a time travel.
		from := env.Sent
		if from.IsZero() {
			from = env.Event.Message.CreatedAt
		}
		n.metrics.lag.Observe(max(time.Since(from).Seconds(), 0))
	}
	_ = n.hub.Publish(context.Background(), env.Event) // fails only once closed
}

// Subscribed resyncs ch's subscribers: the transport receives ch from now
// on, and anything published before may have been missed.
func (in inbound) Subscribed(ch domain.ChannelID) { in.n.confirm(ch) }

// Reconnected resyncs every watched channel.
func (in inbound) Reconnected() { in.n.confirmAll() }

// Lost marks every watched channel unconfirmed until the transport
// receives it again.
func (in inbound) Lost() { in.n.lose() }

func (n *Notifier) reject(env wire.Envelope, err error) {
	n.metrics.rejected.Inc()
	now := time.Now().UnixNano()
	last := n.lastRejectLog.Load()
	if now-last < int64(rejectLogEvery) || !n.lastRejectLog.CompareAndSwap(last, now) {
		return
	}
	ctx := context.Background()
	level := slog.LevelWarn
	if errors.Is(err, wire.ErrUnsupportedVersion) {
		level = slog.LevelInfo // expected while a newer build rolls out
	}
	if n.logger.Enabled(ctx, level) {
		n.logger.LogAttrs(ctx, level, "unusable envelope: resyncing its channel from the store",
			slog.String("channel", env.Event.Channel.String()), slog.String("origin", env.Origin),
			slog.Int("version", env.Version), slog.Any("error", err))
	}
}
