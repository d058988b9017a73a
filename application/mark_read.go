package application

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// MarkReadCommand asks to move the caller's read position in a
// conversation to Seq.
type MarkReadCommand struct {
	Principal      domain.Principal
	ConversationID domain.ConversationID
	Seq            int64
}

// MarkReadResult is the caller's read position after a MarkRead, and
// whether that call moved it: the inbox stream announces a position only
// when it moved.
type MarkReadResult struct {
	Channel domain.ChannelID
	ReadSeq int64
	Moved   bool
}

// MarkRead records how far a member has read a conversation.
type MarkRead struct {
	convs    ports.ConversationRepository
	notifier ports.Notifier
	logger   *slog.Logger
}

// NewMarkRead returns the MarkRead use case.
func NewMarkRead(convs ports.ConversationRepository, notifier ports.Notifier, logger *slog.Logger) *MarkRead {
	return &MarkRead{convs: convs, notifier: notifier, logger: logger}
}

// Execute raises the caller's read position to cmd.Seq, clamped to the
// conversation's last seq; a lower seq is accepted and changes nothing. A
// read position is a member's: a service token has one only where it is a
// member, like any user, so a conversation the caller is not a member of
// is domain.ErrNotFound, as is an id that names no conversation. A move is
// published on the caller's channel (EventReadMoved), with the new
// position and the useq the store took for it.
func (uc *MarkRead) Execute(ctx context.Context, cmd MarkReadCommand) (MarkReadResult, error) {
	if cmd.Seq < 0 {
		return MarkReadResult{}, domain.Invalid("seq", "must be an integer ≥ 0")
	}
	channel, ok := domain.ChannelOf(cmd.ConversationID)
	if !ok {
		return MarkReadResult{}, fmt.Errorf("mark read: conversation %q: %w", cmd.ConversationID, domain.ErrNotFound)
	}
	readSeq, moved, useq, err := uc.convs.MarkRead(ctx, channel, cmd.Principal.UserID, cmd.Seq)
	if err != nil {
		return MarkReadResult{}, fmt.Errorf("mark read: %w", err)
	}
	if moved && useq > 0 {
		publishUserEvents(ctx, uc.notifier, uc.logger,
			[]domain.Event{domain.ReadMovedEvent(cmd.Principal.UserID, channel, readSeq, useq)})
	}
	return MarkReadResult{Channel: channel, ReadSeq: readSeq, Moved: moved}, nil
}
