package application

import (
	"context"
	"fmt"
	"log/slog"

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
// to the group's size limit, and tells the added user's inbox streams.
type AddMember struct {
	convs    ports.ConversationRepository
	notifier ports.Notifier
	logger   *slog.Logger
	limits   GroupLimits
}

// NewAddMember returns the AddMember use case, bounded by limits.
func NewAddMember(convs ports.ConversationRepository, notifier ports.Notifier, logger *slog.Logger, limits GroupLimits) *AddMember {
	return &AddMember{convs: convs, notifier: notifier, logger: logger, limits: limits.withDefaults()}
}

// Execute adds the member; adding an existing member is not an error, even
// to a full group. Adding someone new to a group of limits.MaxMembers is
// domain.ErrGroupFull: the store counts and inserts in one transaction, so
// concurrent additions cannot overfill the group. An actual addition is
// published on the added user's channel (EventMemberJoined) with the useq
// the store took for it.
func (uc *AddMember) Execute(ctx context.Context, cmd AddMemberCommand) error {
	if err := domain.ValidateUserID("userId", cmd.UserID); err != nil {
		return err
	}
	group := domain.GroupChannel(cmd.GroupID)
	if err := authorizeRead(ctx, uc.convs, cmd.Principal, group); err != nil {
		return err
	}
	useq, err := uc.convs.AddMember(ctx, group, cmd.UserID, uc.limits.MaxMembers)
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	if useq == 0 { // a member already: nothing changed
		return nil
	}
	publishUserEvents(ctx, uc.notifier, uc.logger, []domain.Event{domain.MemberJoinedEvent(cmd.UserID, group, useq)})
	return nil
}
