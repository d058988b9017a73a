package application

import (
	"context"
	"fmt"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// AddMemberCommand asks to add UserID to a group.
type AddMemberCommand struct {
	Principal domain.Principal
	GroupID   domain.ConversationID
	UserID    domain.UserID
}

// AddMember lets a group's members (or a service caller) add a member.
type AddMember struct {
	convs ports.ConversationRepository
}

// NewAddMember returns the AddMember use case.
func NewAddMember(convs ports.ConversationRepository) *AddMember {
	return &AddMember{convs: convs}
}

// Execute adds the member; adding an existing member is not an error.
func (uc *AddMember) Execute(ctx context.Context, cmd AddMemberCommand) error {
	if err := domain.ValidateUserID("userId", cmd.UserID); err != nil {
		return err
	}
	group := domain.GroupChannel(cmd.GroupID)
	if err := authorizeRead(ctx, uc.convs, cmd.Principal, group); err != nil {
		return err
	}
	if err := uc.convs.AddMember(ctx, group, cmd.UserID); err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}
