package application

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// RemoveMemberCommand asks to remove UserID from a group (UserID may be the
// caller: that is leaving the group).
type RemoveMemberCommand struct {
	Principal domain.Principal
	GroupID   domain.ConversationID
	UserID    domain.UserID
}

// RemoveMember lets a group's members (or a service caller) remove a member,
// tells the removed member's open streams to stop, and tells the removed
// user's inbox streams.
type RemoveMember struct {
	convs    ports.ConversationRepository
	notifier ports.Notifier
	logger   *slog.Logger
}

// NewRemoveMember returns the RemoveMember use case.
func NewRemoveMember(convs ports.ConversationRepository, notifier ports.Notifier, logger *slog.Logger) *RemoveMember {
	return &RemoveMember{convs: convs, notifier: notifier, logger: logger}
}

// Execute removes the member; removing a user who is not a member is not an
// error. When a member was removed, its streams are told through the
// notifier so that they stop receiving the group (EventMemberRemoved on
// the group's channel), and so is the user's channel (EventMemberLeft,
// with the useq the store took for the removal).
func (uc *RemoveMember) Execute(ctx context.Context, cmd RemoveMemberCommand) error {
	if err := domain.ValidateUserID("userId", cmd.UserID); err != nil {
		return err
	}
	group := domain.GroupChannel(cmd.GroupID)
	if err := authorizeRead(ctx, uc.convs, cmd.Principal, group); err != nil {
		return err
	}
	removed, useq, err := uc.convs.RemoveMember(ctx, group, cmd.UserID)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if !removed {
		return nil
	}
	if err := uc.notifier.Publish(context.WithoutCancel(ctx), domain.MemberRemovedEvent(group, cmd.UserID)); err != nil {
		uc.logger.WarnContext(ctx, "publish member removal", "channel", group.String(), "user_id", string(cmd.UserID), "error", err)
	}
	if useq > 0 {
		publishUserEvents(ctx, uc.notifier, uc.logger, []domain.Event{domain.MemberLeftEvent(cmd.UserID, group, useq)})
	}
	return nil
}
