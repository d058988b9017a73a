package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// ListMessagesQuery asks for a page of a conversation's history, anchored
// as domain.HistoryQuery describes. Limit 0 means domain.DefaultPageSize.
type ListMessagesQuery struct {
	Principal domain.Principal
	Channel   domain.ChannelID
	Anchor    domain.PageAnchor
	Seq       int64
	Limit     int
}

// ListMessages returns a page of history to a member (or a service caller).
type ListMessages struct {
	convs ports.ConversationRepository
	msgs  ports.MessageRepository
}

// NewListMessages returns the ListMessages use case.
func NewListMessages(convs ports.ConversationRepository, msgs ports.MessageRepository) *ListMessages {
	return &ListMessages{convs: convs, msgs: msgs}
}

// Execute validates the page, authorizes the caller and returns the page,
// oldest first.
func (uc *ListMessages) Execute(ctx context.Context, q ListMessagesQuery) ([]domain.Message, error) {
	if q.Limit == 0 {
		q.Limit = domain.DefaultPageSize
	}
	switch {
	case q.Limit < 1 || q.Limit > domain.MaxPageSize:
		return nil, domain.Invalid("limit", "must be an integer from 1 to 200")
	case q.Seq < 0:
		return nil, domain.Invalid("seq", "must not be negative")
	case q.Anchor != domain.PageLatest && q.Anchor != domain.PageAfter && q.Anchor != domain.PageBefore:
		return nil, domain.Invalid("anchor", "must be latest, after or before")
	}
	if err := authorizeRead(ctx, uc.convs, q.Principal, q.Channel); err != nil {
		return nil, err
	}
	page, err := uc.msgs.List(ctx, domain.HistoryQuery{Channel: q.Channel, Anchor: q.Anchor, Seq: q.Seq, Limit: q.Limit})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return page, nil
}

// authorizeRead lets members, and service callers for a conversation that
// exists, read channel. Everyone else gets domain.ErrNotFound, whether or not
// the conversation exists.
func authorizeRead(ctx context.Context, convs ports.ConversationRepository, p domain.Principal, channel domain.ChannelID) error {
	if p.Admin {
		if _, err := convs.Get(ctx, channel); err != nil {
			return fmt.Errorf("conversation %s: %w", channel, err)
		}
		return nil
	}
	member, err := convs.IsMember(ctx, channel, p.UserID)
	if err != nil {
		return fmt.Errorf("check membership: %w", err)
	}
	if !member {
		return fmt.Errorf("conversation %s: %w", channel, domain.ErrNotFound)
	}
	return nil
}
