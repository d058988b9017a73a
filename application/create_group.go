package application

import (
	"context"
	"fmt"
	"log/slog"

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
	convs    ports.ConversationRepository
	ids      ports.IDGenerator
	clock    ports.Clock
	notifier ports.Notifier
	logger   *slog.Logger
	limits   GroupLimits
}

// NewCreateGroup returns the CreateGroup use case, bounded by limits.
func NewCreateGroup(convs ports.ConversationRepository, ids ports.IDGenerator, clock ports.Clock, notifier ports.Notifier, logger *slog.Logger, limits GroupLimits) *CreateGroup {
	return &CreateGroup{convs: convs, ids: ids, clock: clock, notifier: notifier, logger: logger, limits: limits.withDefaults()}
}

// Execute validates and stores the group. Both bounds apply: at most
// domain.MaxGroupCreateMembers ids named in the request, and at most
// limits.MaxMembers distinct members once the caller is added, whichever
// is the smaller. The new group is published on every member's channel
// (EventMemberJoined), with the useqs the store took for the joins: one
// Publish per member, which creation's rate limit keeps affordable, and no
// store work beyond the write.
func (uc *CreateGroup) Execute(ctx context.Context, cmd CreateGroupCommand) (domain.Conversation, error) {
	group, err := domain.NewGroup(domain.ConversationID(uc.ids.NewID(domain.KindGroup.IDPrefix())),
		cmd.Principal.UserID, cmd.Name, cmd.MemberIDs, uc.clock.Now())
	if err != nil {
		return domain.Conversation{}, err
	}
	if err := domain.ValidateGroupSize(group, uc.limits.MaxMembers); err != nil {
		return domain.Conversation{}, err
	}
	group, useqs, err := uc.convs.CreateGroup(ctx, group)
	if err != nil {
		return domain.Conversation{}, fmt.Errorf("create group: %w", err)
	}
	publishUserEvents(ctx, uc.notifier, uc.logger, joinEvents(group, useqs))
	return group, nil
}
