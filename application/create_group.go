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
	convs ports.ConversationRepository
	ids   ports.IDGenerator
	clock ports.Clock
}

// NewCreateGroup returns the CreateGroup use case.
func NewCreateGroup(convs ports.ConversationRepository, ids ports.IDGenerator, clock ports.Clock) *CreateGroup {
	return &CreateGroup{convs: convs, ids: ids, clock: clock}
}

// Execute validates and stores the group.
func (uc *CreateGroup) Execute(ctx context.Context, cmd CreateGroupCommand) (domain.Conversation, error) {
	group, err := domain.NewGroup(domain.ConversationID(uc.ids.NewID(domain.KindGroup.IDPrefix())),
		cmd.Principal.UserID, cmd.Name, cmd.MemberIDs, uc.clock.Now())
	if err != nil {
		return domain.Conversation{}, err
	}
	group, err = uc.convs.CreateGroup(ctx, group)
	if err != nil {
		return domain.Conversation{}, fmt.Errorf("create group: %w", err)
	}
	return group, nil
}
