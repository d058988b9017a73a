package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// SendMessageCommand asks to store a message and deliver it to the
// subscribers of its channel.
type SendMessageCommand struct {
	Principal       domain.Principal
	Channel         domain.ChannelID
	Content         string
	PersonaID       string
	ClientMessageID string
}

// SendMessageResult is the stored message; Created is false when the command
// was a retry answered with the message an earlier command created.
type SendMessageResult struct {
	Message domain.Message
	Created bool
}

// SendMessage stores a message durably, then rings the notifier.
type SendMessage struct {
	convs    ports.ConversationRepository
	msgs     ports.MessageRepository
	notifier ports.Notifier
	ids      ports.IDGenerator
	clock    ports.Clock
	logger   *slog.Logger
}

// NewSendMessage returns the SendMessage use case.
func NewSendMessage(convs ports.ConversationRepository, msgs ports.MessageRepository, notifier ports.Notifier,
	ids ports.IDGenerator, clock ports.Clock, logger *slog.Logger) *SendMessage {
	return &SendMessage{convs: convs, msgs: msgs, notifier: notifier, ids: ids, clock: clock, logger: logger}
}

// Execute validates the command and appends the message: the store checks
// that the sender is a member and assigns the channel's next seq in one
// transaction. A retry (same sender and client message id) is answered
// with the original message; otherwise the message is published. It returns only after the message is
// committed. A publish failure does not fail the command: the store is the
// truth and subscribers recover missed messages from it.
func (uc *SendMessage) Execute(ctx context.Context, cmd SendMessageCommand) (SendMessageResult, error) {
	msg, err := domain.NewMessage(cmd.Channel, cmd.Principal.UserID, cmd.Content, cmd.PersonaID, cmd.ClientMessageID)
	if err != nil {
		return SendMessageResult{}, err
	}
	msg.ID = uc.ids.NewID("msg")
	msg.CreatedAt = uc.clock.Now()
	// One step of the store: it checks the membership (not for a service)
	// and the client message id under the conversation's lock, in the
	// transaction that assigns the seq. A retry is the rare case, found
	// by the conflict it causes, so a first send costs no lookups.
	stored, head, err := uc.msgs.Append(ctx, msg, ports.AppendOptions{Service: cmd.Principal.Admin})
	if errors.Is(err, domain.ErrConflict) && msg.ClientMessageID != "" {
		// A retry, or a concurrent request with the same client message id.
		res, ok, err := uc.retried(ctx, msg)
		if err != nil || ok {
			return res, err
		}
	}
	if err != nil {
		return SendMessageResult{}, fmt.Errorf("append message: %w", err)
	}

	// The request may be cancelled now that the message is committed; the
	// doorbell must still ring.
	if err := uc.notifier.Publish(context.WithoutCancel(ctx), domain.CommittedMessageEvent(stored, head.Removals)); err != nil {
		// An unavailable notifier reports its outage itself, once; a line
		// per message would flood the log for as long as it lasts.
		level := slog.LevelWarn
		if errors.Is(err, domain.ErrUnavailable) {
			level = slog.LevelDebug
		}
		uc.logger.Log(ctx, level, "publish message", "channel", stored.Channel.String(),
			"message_id", stored.ID, "seq", stored.Seq, "error", err)
	}
	return SendMessageResult{Message: stored, Created: true}, nil
}

// retried looks up an earlier message with msg's sender and client message
// id. ok is true when one exists and it answers msg as a retry; a different
// message under the same key is a conflict.
func (uc *SendMessage) retried(ctx context.Context, msg domain.Message) (SendMessageResult, bool, error) {
	existing, err := uc.msgs.FindByClientID(ctx, msg.SenderID, msg.ClientMessageID)
	if errors.Is(err, domain.ErrNotFound) {
		return SendMessageResult{}, false, nil
	}
	if err != nil {
		return SendMessageResult{}, false, fmt.Errorf("find by client message id: %w", err)
	}
	if !existing.SameRequest(msg) {
		return SendMessageResult{}, false, fmt.Errorf("clientMessageId %q was used for a different message: %w",
			msg.ClientMessageID, domain.ErrConflict)
	}
	return SendMessageResult{Message: existing}, true, nil
}
