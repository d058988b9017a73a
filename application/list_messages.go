package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// ListMessagesQuery asks for a page of a conversation's history.
type ListMessagesQuery struct {
	Principal domain.Principal
	// History is the page, as domain.NewHistoryQuery validated it: its
	// rules are checked there, not here.
	History domain.HistoryQuery
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

// Execute authorizes the caller and returns the page, oldest first.
func (uc *ListMessages) Execute(ctx context.Context, q ListMessagesQuery) ([]domain.Message, error) {
	if err := authorizeRead(ctx, uc.convs, q.Principal, q.History.Channel); err != nil {
		return nil, err
	}
	page, err := uc.msgs.List(ctx, q.History)
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
