package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// ListConversationsQuery asks for one page of the caller's conversations,
// newest first: the first Limit after the position After (zero: from the
// newest). A zero Limit means domain.DefaultConversationPageSize.
type ListConversationsQuery struct {
	Principal domain.Principal
	After     domain.ConversationCursor
	Limit     int
}

// ListConversations returns the caller's conversations, a page at a time.
type ListConversations struct {
	convs ports.ConversationRepository
}

// NewListConversations returns the ListConversations use case.
func NewListConversations(convs ports.ConversationRepository) *ListConversations {
	return &ListConversations{convs: convs}
}

// Execute returns the page of the conversations q.Principal belongs to
// that q asks for, newest first, each with its members and last seq; the
// page's Next says where the following one starts.
func (uc *ListConversations) Execute(ctx context.Context, q ListConversationsQuery) (domain.ConversationPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = domain.DefaultConversationPageSize
	}
	if limit < 1 || limit > domain.MaxConversationPageSize {
		return domain.ConversationPage{}, domain.Invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", domain.MaxConversationPageSize))
	}
	page, err := uc.convs.ListForMember(ctx, domain.ConversationPageQuery{
		Member: q.Principal.UserID, After: q.After, Limit: limit,
	})
	if err != nil {
		return domain.ConversationPage{}, fmt.Errorf("list conversations: %w", err)
	}
	return page, nil
}
