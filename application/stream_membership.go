package application

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/relaymsg/relay/domain"
)

// resync catches channel up from the store after the notifier said that
// its events may have been lost. A lost event may have been a member
// removal, so access is checked again first: a channel the caller may no
// longer read (or that no longer exists) is dropped instead.
func (s *Stream) resync(ctx context.Context, channel domain.ChannelID, sink StreamSink) error {
	if !s.channels.Has(channel) {
		return nil
	}
	states, err := s.convs.ChannelStates(ctx, []domain.ChannelID{channel}, s.principal.UserID)
	if err != nil {
		return fmt.Errorf("recheck access: %w", err)
	}
	i := slices.IndexFunc(states, func(st domain.ChannelState) bool { return st.Channel == channel })
	if i < 0 || !s.principal.CanAccess(states[i].IsMember) {
		return s.dropChannel(channel, sink)
	}
	c, _ := s.channels.Get(channel)
	c.removals = states[i].Removals
	s.channels.Set(channel, c)
	// Access was checked at LastSeq; later messages come through the
	// queue, behind any removal that followed the check.
	return s.catchUp(ctx, channel, states[i].LastSeq, accessRead, sink)
}

// removeChannel stops the stream's channel when its caller was removed from
// the group. A service caller reads any conversation, so it keeps it.
func (s *Stream) removeChannel(ev *domain.Event, sink StreamSink) error {
	if !s.channels.Has(ev.Channel) || ev.UserID != s.principal.UserID || s.principal.Admin {
		return nil
	}
	return s.dropChannel(ev.Channel, sink)
}

// dropChannel stops delivering channel, tells the sink, and ends the stream
// (ErrNoChannelsLeft) when no channel is left.
func (s *Stream) dropChannel(channel domain.ChannelID, sink StreamSink) error {
	number, _ := s.number(channel)
	s.channels.Delete(channel)
	s.gaps.drop(channel)
	s.sub.Unsubscribe(channel)
	s.cursor = s.cursor.Without(number)
	if s.inbox != nil {
		s.inbox.dropped(number)
	}
	if err := sink.ChannelRemoved(channel, s.cursor); err != nil {
		return err
	}
	if s.channels.Len() == 0 && s.inbox == nil { // an inbox may hold no conversation
		return errors.Join(ErrNoChannelsLeft, sink.Flush())
	}
	return nil
}
