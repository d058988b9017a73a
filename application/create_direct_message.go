package application

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// CreateDirectMessageCommand asks for the direct message between two users,
// one of whom is the caller.
type CreateDirectMessageCommand struct {
	Principal domain.Principal
	MemberIDs []domain.UserID
}

// CreateDirectMessage creates a direct message, or finds the existing one
// for the same pair.
type CreateDirectMessage struct {
	convs    ports.ConversationRepository
	ids      ports.IDGenerator
	clock    ports.Clock
	notifier ports.Notifier
	logger   *slog.Logger
}

// NewCreateDirectMessage returns the CreateDirectMessage use case.
func NewCreateDirectMessage(convs ports.ConversationRepository, ids ports.IDGenerator, clock ports.Clock, notifier ports.Notifier, logger *slog.Logger) *CreateDirectMessage {
	return &CreateDirectMessage{convs: convs, ids: ids, clock: clock, notifier: notifier, logger: logger}
}

// Execute returns the pair's direct message; created is false when it
// existed already (in either member order). A created one is published on
// both members' channels (EventMemberJoined), with the useqs the store
// took for the joins.
func (uc *CreateDirectMessage) Execute(ctx context.Context, cmd CreateDirectMessageCommand) (dm domain.Conversation, created bool, err error) {
	dm, err = domain.NewDirectMessage(domain.ConversationID(uc.ids.NewID(domain.KindDM.IDPrefix())),
		cmd.Principal.UserID, cmd.MemberIDs, uc.clock.Now())
	if err != nil {
		return domain.Conversation{}, false, err
	}
	dm, created, useqs, err := uc.convs.CreateDirectMessage(ctx, dm)
	if err != nil {
		return domain.Conversation{}, false, fmt.Errorf("create direct message: %w", err)
	}
	if created {
		publishUserEvents(ctx, uc.notifier, uc.logger, joinEvents(dm, useqs))
	}
	return dm, created, nil
}
