package application

import (
	"context"
	"log/slog"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// publishUserEvents rings the doorbells of a change the store has
// committed: it publishes evs, events of user channels, one after the
// other. They outlive the request, since the change is committed whether
// or not its caller still waits. A failure is logged, once for the whole
// batch, not returned: the change stands, and a stream that misses a
// doorbell still finds the change in the user's log when it next reads
// it (the notifier is best effort by contract).
func publishUserEvents(ctx context.Context, notifier ports.Notifier, logger *slog.Logger, evs []domain.Event) {
	ctx = context.WithoutCancel(ctx)
	var (
		failed   int
		firstErr error
		first    domain.Event
	)
	for _, ev := range evs {
		if err := notifier.Publish(ctx, ev); err != nil {
			if failed == 0 {
				firstErr, first = err, ev
			}
			failed++
		}
	}
	if failed > 0 {
		logger.WarnContext(ctx, "publish user events", "channel", first.Channel.String(),
			"conversation", first.Conversation.String(), "useq", first.UserSeq,
			"failed", failed, "events", len(evs), "error", firstErr)
	}
}

// joinEvents returns the EventMemberJoined of each member of conv, with
// the useq its join took (useqs, as the store returned them), in the
// order of conv.MemberIDs. A member without a useq gets none: the wire
// requires one, and the store's contract is to return it, so none is
// only ever the symptom of a broken store, which the streams' reads of
// the log then cover.
func joinEvents(conv domain.Conversation, useqs map[domain.UserID]int64) []domain.Event {
	evs := make([]domain.Event, 0, len(conv.MemberIDs))
	for _, u := range conv.MemberIDs {
		if useq := useqs[u]; useq > 0 {
			evs = append(evs, domain.MemberJoinedEvent(u, conv.Channel(), useq))
		}
	}
	return evs
}
