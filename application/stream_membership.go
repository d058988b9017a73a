package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/relaymsg/relay/domain"
)

// resync catches channel up from the store — every channel of the stream
// when channel is zero — after the notifier said that events may have been
// lost. A lost event may have been a member removal, so access is checked
// again first: a channel the caller may no longer read is dropped instead.
func (s *Stream) resync(ctx context.Context, channel domain.ChannelID, sink StreamSink) error {
	channels := s.openChannels(channel)
	if len(channels) == 0 {
		return nil
	}
	states, err := s.convs.ChannelStates(ctx, channels, s.principal.UserID)
	if err != nil {
		return fmt.Errorf("recheck access: %w", err)
	}
	readable := make(map[domain.ChannelID]bool, len(states))
	last := make(map[domain.ChannelID]int64, len(states))
	for _, st := range states {
		readable[st.Channel] = s.principal.CanAccess(st.IsMember)
		last[st.Channel] = st.LastSeq
		s.removals[st.Channel] = st.Removals
	}
	for _, ch := range channels {
		if !readable[ch] {
			if err := s.dropChannel(ch, sink); err != nil {
				return err
			}
			continue
		}
		// Access was checked at last[ch]; later messages come through the
		// queue, behind any removal that followed the check.
		if err := s.catchUp(ctx, ch, last[ch], sink); err != nil {
			return err
		}
	}
	return nil
}

// openChannels returns channel if the stream still has it, or every open
// channel in request order when channel is zero.
func (s *Stream) openChannels(channel domain.ChannelID) []domain.ChannelID {
	if channel != (domain.ChannelID{}) {
		if _, ok := s.channels[channel]; ok {
			return []domain.ChannelID{channel}
		}
		return nil
	}
	out := make([]domain.ChannelID, 0, len(s.channels))
	for _, ch := range s.order {
		if _, ok := s.channels[ch]; ok {
			out = append(out, ch)
		}
	}
	return out
}

// removeChannel stops the stream's channel when its caller was removed from
// the group. A service caller reads any conversation, so it keeps it.
func (s *Stream) removeChannel(ev *domain.Event, sink StreamSink) error {
	if _, ok := s.channels[ev.Channel]; !ok || ev.UserID != s.principal.UserID || s.principal.Admin {
		return nil
	}
	return s.dropChannel(ev.Channel, sink)
}

// dropChannel stops delivering channel, tells the sink, and ends the stream
// (ErrNoChannelsLeft) when no channel is left.
func (s *Stream) dropChannel(channel domain.ChannelID, sink StreamSink) error {
	number := s.channels[channel]
	delete(s.channels, channel)
	delete(s.removals, channel)
	s.gaps.drop(channel)
	s.sub.Unsubscribe(channel)
	s.cursor = s.cursor.Without(number)
	if err := sink.ChannelRemoved(channel, s.cursor); err != nil {
		return err
	}
	if len(s.channels) == 0 {
		return errors.Join(ErrNoChannelsLeft, sink.Flush())
	}
	return nil
}
