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

// AddMember lets a group's members (or a service caller) add a member, up
// to the group's size limit.
type AddMember struct {
	convs  ports.ConversationRepository
	limits GroupLimits
}

// NewAddMember returns the AddMember use case, bounded by limits.
func NewAddMember(convs ports.ConversationRepository, limits GroupLimits) *AddMember {
	return &AddMember{convs: convs, limits: limits.withDefaults()}
}

// Execute adds the member; adding an existing member is not an error, even
// to a full group. Adding someone new to a group of limits.MaxMembers is
// domain.ErrGroupFull: the store counts and inserts in one transaction, so
// concurrent additions cannot overfill the group.
func (uc *AddMember) Execute(ctx context.Context, cmd AddMemberCommand) error {
	if err := domain.ValidateUserID("userId", cmd.UserID); err != nil {
		return err
	}
	group := domain.GroupChannel(cmd.GroupID)
	if err := authorizeRead(ctx, uc.convs, cmd.Principal, group); err != nil {
		return err
	}
	if err := uc.convs.AddMember(ctx, group, cmd.UserID, uc.limits.MaxMembers); err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}
