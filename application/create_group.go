package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// CreateGroupCommand asks for a new group; the caller becomes a member.
type CreateGroupCommand struct {
	Principal domain.Principal
	Name      string
	MemberIDs []domain.UserID
}

// CreateGroup creates groups.
type CreateGroup struct {
	convs  ports.ConversationRepository
	ids    ports.IDGenerator
	clock  ports.Clock
	limits GroupLimits
}

// NewCreateGroup returns the CreateGroup use case, bounded by limits.
func NewCreateGroup(convs ports.ConversationRepository, ids ports.IDGenerator, clock ports.Clock, limits GroupLimits) *CreateGroup {
	return &CreateGroup{convs: convs, ids: ids, clock: clock, limits: limits.withDefaults()}
}

// Execute validates and stores the group. Both bounds apply: at most
// domain.MaxGroupCreateMembers ids named in the request, and at most
// limits.MaxMembers distinct members once the caller is added, whichever
// is the smaller.
func (uc *CreateGroup) Execute(ctx context.Context, cmd CreateGroupCommand) (domain.Conversation, error) {
	group, err := domain.NewGroup(domain.ConversationID(uc.ids.NewID(domain.KindGroup.IDPrefix())),
		cmd.Principal.UserID, cmd.Name, cmd.MemberIDs, uc.clock.Now())
	if err != nil {
		return domain.Conversation{}, err
	}
	if err := domain.ValidateGroupSize(group, uc.limits.MaxMembers); err != nil {
		return domain.Conversation{}, err
	}
	group, err = uc.convs.CreateGroup(ctx, group)
	if err != nil {
		return domain.Conversation{}, fmt.Errorf("create group: %w", err)
	}
	return group, nil
}
