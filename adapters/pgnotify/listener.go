package pgnotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/domain"
)

// receiveLoop hands what the listener receives to h, until the listener
// closes its channel, which it does once Close has stopped it. It is the
// only caller of h, so events reach h in the order they were committed.
//
// Losses and reconnects are signalled from lib/pq's goroutine and may be
// picked up here in either order, so each is checked against the
// connection's state first: a Reconnected only while listening, and a Lost
// only for an outage that no Reconnected has covered since.
func (t *Transport) receiveLoop(ctx context.Context, h cluster.Handler, notifications <-chan *pq.Notification) {
	covered := 0 // outages that the last Reconnected came after
	for {
		select {
		case n, ok := <-notifications:
			if !ok {
				return
			}
			// A nil notification is lib/pq's mark of a reconnect, which
			// onEvent has already turned into a resync. While closing, the
			// loop only drains, so that the listener is never blocked.
			if n != nil && n.Channel == t.channel && ctx.Err() == nil {
				t.deliver(h, n.Extra)
			}
		case <-t.resyncAll:
			t.mu.Lock()
			ready, outages := t.conn.ready(), t.conn.outages
			t.mu.Unlock()
			// Not ready: it went down again, and the next markUp signals
			// again.
			if ready && ctx.Err() == nil {
				covered = outages
				h.Reconnected()
			}
		case <-t.lost:
			t.mu.Lock()
			outages := t.conn.outages
			t.mu.Unlock()
			if outages > covered && ctx.Err() == nil {
				h.Lost()
			}
		case <-t.newWatch:
			for _, ch := range t.takeFresh() {
				if ctx.Err() == nil {
					h.Subscribed(ch)
				}
			}
		}
	}
}

// deliver passes payload on if it is about a watched channel. Every
// instance receives every event, and most concern channels it has no
// subscriber of: dropping them here spares the notifier's decoding, and
// keeps its lag and resync figures about this instance's subscribers.
func (t *Transport) deliver(h cluster.Handler, payload string) {
	var head struct {
		Channel string `json:"c"`
	}
	b := []byte(payload)
	// What does not parse goes through: the notifier reports unusable
	// envelopes.
	if err := json.Unmarshal(b, &head); err == nil && head.Channel != "" {
		t.mu.Lock()
		_, watched := t.watched[head.Channel]
		t.mu.Unlock()
		if !watched {
			return
		}
	}
	h.Deliver(b)
}

// takeFresh returns the channels watched since the last call that are
// still watched.
func (t *Transport) takeFresh() []domain.ChannelID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]domain.ChannelID, 0, len(t.fresh))
	for ch := range t.fresh {
		out = append(out, ch)
	}
	clear(t.fresh)
	return out
}

// listenLoop issues the one LISTEN. lib/pq's Listen blocks until there is a
// connection and registers the channel, which lib/pq then LISTENs on again
// after every reconnect. A LISTEN the server refuses (a hot standby does)
// is retried, since the server may change (a fail-over).
func (t *Transport) listenLoop(ctx context.Context, l *pq.Listener) {
	pause := backoff.Backoff{Min: t.minReconnect, Max: t.maxReconnect}
	for attempt := 0; ; attempt++ {
		err := l.Listen(t.channel)
		if err == nil || errors.Is(err, pq.ErrChannelAlreadyOpen) {
			t.markListening(ctx)
			return
		}
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		t.conn.listenErr = fmt.Errorf("LISTEN %s: %w", t.channel, err)
		t.mu.Unlock()
		if attempt == 0 {
			t.logger.LogAttrs(ctx, slog.LevelError, "postgres listener: LISTEN refused: retrying",
				slog.String("pg_channel", t.channel), slog.Any("error", err))
		}
		if !pause.Wait(ctx) {
			return
		}
	}
}

func (t *Transport) markListening(ctx context.Context) {
	t.mu.Lock()
	t.conn.listening, t.conn.listenErr = true, nil
	up := t.conn.phase == phaseUp
	t.mu.Unlock()
	if up {
		signal(t.resyncAll)
	}
	t.logger.LogAttrs(ctx, slog.LevelInfo, "postgres listener: listening", slog.String("pg_channel", t.channel))
}
