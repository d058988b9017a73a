package application

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// MaxStreamChannels bounds the channels of one stream.
const MaxStreamChannels = 100

// DefaultHeartbeat is the heartbeat interval of a stream when none is set.
const DefaultHeartbeat = 15 * time.Second

// SubscribeQuery asks for a live stream of the messages of Channels, resuming
// after Cursor when it is set.
type SubscribeQuery struct {
	Principal domain.Principal
	Channels  []domain.ChannelID
	// Cursor is where a reconnecting client stopped; nil starts every
	// channel at its current end. Channels the cursor does not name start at
	// their current end too; positions of other channels are ignored.
	Cursor *domain.Cursor
}

// SubscribeChannel opens live, resumable streams of one or more channels.
type SubscribeChannel struct {
	convs    ports.ConversationRepository
	reads    *sharedReads
	notifier ports.Notifier
	settings streamSettings
}

// NewSubscribeChannel returns the SubscribeChannel use case; streams send a
// heartbeat every heartbeat (DefaultHeartbeat when zero).
func NewSubscribeChannel(convs ports.ConversationRepository, msgs ports.MessageRepository, notifier ports.Notifier,
	heartbeat time.Duration, logger *slog.Logger, opts ...SubscribeOption) *SubscribeChannel {
	return &SubscribeChannel{convs: convs, reads: newSharedReads(msgs), notifier: notifier,
		settings: newStreamSettings(heartbeat, logger, opts)}
}

// Execute authorizes every channel and registers the live subscription
// BEFORE reading where each channel ends, so that a message committed in
// between is either in the replay or on the subscription (or both: the
// stream drops duplicates by seq). The returned stream holds the
// subscription: its owner must Close it.
func (uc *SubscribeChannel) Execute(ctx context.Context, q SubscribeQuery) (*Stream, error) {
	channels, err := uniqueChannels(q.Channels)
	if err != nil {
		return nil, err
	}
	sub, err := uc.notifier.Subscribe(ctx, channels)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// Membership is read after subscribing too, so that a removal that
	// races with this call is either seen here or delivered as an event.
	states, err := uc.convs.ChannelStates(ctx, channels, q.Principal.UserID)
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("read channel states: %w", err)
	}
	stream, err := uc.newStream(q, channels, states, sub)
	if err != nil {
		sub.Close()
		return nil, err
	}
	return stream, nil
}

func (uc *SubscribeChannel) newStream(q SubscribeQuery, channels []domain.ChannelID, states []domain.ChannelState,
	sub ports.Subscription) (*Stream, error) {
	byChannel := make(map[domain.ChannelID]domain.ChannelState, len(states))
	for _, st := range states {
		byChannel[st.Channel] = st
	}
	s := &Stream{
		convs:          uc.convs,
		reads:          uc.reads,
		sub:            sub,
		principal:      q.Principal,
		streamSettings: uc.settings,
		order:          channels,
		channels:       domain.MakeChannelMap[openChannel](len(channels)),

		authorised: make(map[domain.ChannelID]int64, len(channels)),
	}
	for _, ch := range channels {
		st, ok := byChannel[ch]
		if !ok || !q.Principal.CanAccess(st.IsMember) {
			return nil, fmt.Errorf("conversation %s: %w", ch, domain.ErrNotFound)
		}
		seq := st.LastSeq
		if q.Cursor != nil {
			// A cursor ahead of the channel's end cannot come from this
			// store; clamping keeps later messages from being taken for
			// duplicates.
			if at, ok := q.Cursor.Seq(st.Number); ok && at < seq {
				seq = at
			}
		}
		s.channels.Set(ch, openChannel{number: st.Number, removals: st.Removals})
		s.authorised[ch] = st.LastSeq
		s.cursor = s.cursor.With(st.Number, seq)
	}
	s.start = s.cursor
	return s, nil
}

func uniqueChannels(channels []domain.ChannelID) ([]domain.ChannelID, error) {
	if len(channels) == 0 {
		return nil, domain.Invalid("channel", "at least one channel is required")
	}
	seen := make(map[domain.ChannelID]bool, len(channels))
	out := make([]domain.ChannelID, 0, len(channels))
	for _, ch := range channels {
		if !seen[ch] {
			seen[ch] = true
			out = append(out, ch)
		}
	}
	if len(out) > MaxStreamChannels {
		return nil, domain.Invalid("channel", fmt.Sprintf("at most %d channels per stream", MaxStreamChannels))
	}
	return out, nil
}
