package application

import (
	"context"
	"fmt"

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
	convs ports.ConversationRepository
	ids   ports.IDGenerator
	clock ports.Clock
}

// NewCreateDirectMessage returns the CreateDirectMessage use case.
func NewCreateDirectMessage(convs ports.ConversationRepository, ids ports.IDGenerator, clock ports.Clock) *CreateDirectMessage {
	return &CreateDirectMessage{convs: convs, ids: ids, clock: clock}
}

// Execute returns the pair's direct message; created is false when it
// existed already (in either member order).
func (uc *CreateDirectMessage) Execute(ctx context.Context, cmd CreateDirectMessageCommand) (dm domain.Conversation, created bool, err error) {
	dm, err = domain.NewDirectMessage(domain.ConversationID(uc.ids.NewID(domain.KindDM.IDPrefix())),
		cmd.Principal.UserID, cmd.MemberIDs, uc.clock.Now())
	if err != nil {
		return domain.Conversation{}, false, err
	}
	dm, created, err = uc.convs.CreateDirectMessage(ctx, dm)
	if err != nil {
		return domain.Conversation{}, false, fmt.Errorf("create direct message: %w", err)
	}
	return dm, created, nil
}
