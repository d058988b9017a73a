package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// ListConversations returns the caller's conversations.
type ListConversations struct {
	convs ports.ConversationRepository
}

// NewListConversations returns the ListConversations use case.
func NewListConversations(convs ports.ConversationRepository) *ListConversations {
	return &ListConversations{convs: convs}
}

// Execute returns the conversations p belongs to, newest first, each with
// its members and last seq.
func (uc *ListConversations) Execute(ctx context.Context, p domain.Principal) ([]domain.Conversation, error) {
	convs, err := uc.convs.ListForMember(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return convs, nil
}
