package cluster

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/relaymsg/relay/domain"
)

// DefaultHeadInterval is how often, by default, the Notifier tells its
// local subscribers where their channels stand in the store.
const DefaultHeadInterval = 5 * time.Second

// Settings are the Options that come from the service's configuration;
// the transports' fx modules take them, with ports.ConversationRepository
// as the Store.
type Settings struct {
	// HeadInterval is Options.HeadInterval.
	HeadInterval time.Duration
}

// headBatch bounds the channels of one store read of the head loop.
const headBatch = 1000

// Store tells where channels stand in the store: their last seq and their
// count of member removals. ports.ConversationRepository satisfies it; the
// user's membership, which it reports too, is not used.
type Store interface {
	ChannelStates(ctx context.Context, channels []domain.ChannelID, user domain.UserID) ([]domain.ChannelState, error)
}

// headLoop hands every watched channel's head (domain.EventHead) to its
// local subscribers every interval, until ctx is done. It is the safety net
// under the doorbell: a notification lost for good — its publisher
// crashed between commit and publish, or stopped with events still waiting
// to be re-published, or Redis dropped it while this instance's connection
// stayed up — costs the streams of the channel at most an interval, never
// a message or a member removal. A stream already at the head does nothing
// with it; one behind reads the store.
func (n *Notifier) headLoop(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := n.announceHeads(ctx, interval)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			n.metrics.headFailures.Inc()
			if !failing {
				n.logger.LogAttrs(ctx, slog.LevelWarn, "notifier head check: store read failed: retrying every interval",
					slog.Duration("interval", interval), slog.Any("error", err))
			}
			failing = true
		case failing:
			n.logger.LogAttrs(ctx, slog.LevelInfo, "notifier head check: store read works again")
			failing = false
		}
	}
}

// announceHeads reads the heads of the watched conversation channels, a
// batch at a time and each read within interval, and hands each to the
// hub. User channels have no head in Store (a user's log is not a
// conversation), so they get none: a user-log doorbell lost for good is
// made up for by the channel's next event or resync.
func (n *Notifier) announceHeads(ctx context.Context, interval time.Duration) error {
	channels := slices.DeleteFunc(n.watchedChannels(), func(ch domain.ChannelID) bool { return !ch.IsConversation() })
	for batch := range slices.Chunk(channels, headBatch) {
		readCtx, cancel := context.WithTimeout(ctx, interval)
		states, err := n.store.ChannelStates(readCtx, batch, "")
		cancel()
		if err != nil {
			return err
		}
		for _, st := range states {
			// The hub fails only once closed, when nobody is left to tell.
			_ = n.hub.Publish(ctx, domain.HeadEvent(domain.ChannelState{
				Channel: st.Channel, LastSeq: st.LastSeq, Removals: st.Removals,
			}))
		}
		n.metrics.heads.Add(float64(len(states)))
	}
	return nil
}
