package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/relaymsg/relay/adapters/backoff"
	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/domain"
)

// Reconnect and resubscribe attempts back off between these bounds.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// newBackoff returns the pacing of reconnect and resubscribe attempts, with
// jitter so that instances do not all reconnect at once after a restart.
func newBackoff() *backoff.Backoff {
	return &backoff.Backoff{Min: minBackoff, Max: maxBackoff, Jitter: 0.5}
}

// subscribeBatch bounds the channels of one SUBSCRIBE or UNSUBSCRIBE.
const subscribeBatch = 1000

// receiveLoop reads the subscriber connection until ctx is done, handing
// messages and subscription confirmations to h.
//
// go-redis's PubSub reconnects by itself: a receive that fails drops the
// connection, and the next call dials a new one and resubscribes to every
// channel. The loop's part is to notice (the failed receive), to report the
// outage through Ping, to pace the retries, and to pass on the
// confirmations of the resubscription, which resync each channel.
func (t *Transport) receiveLoop(ctx context.Context, h cluster.Handler) {
	pause := newBackoff()
	needPing := true      // the connection must be proved (first time, after an error, after silence)
	awaitingPong := false // a PING was sent and nothing has arrived since
	for ctx.Err() == nil {
		if needPing {
			pingCtx, cancel := context.WithTimeout(ctx, t.pingTimeout)
			// Dials and resubscribes first if there is no connection.
			err := t.pubsub.Ping(pingCtx)
			cancel()
			if err != nil {
				t.markDown(ctx, h, err)
				if !pause.Wait(ctx) {
					return
				}
				continue
			}
			needPing, awaitingPong = false, true
		}
		msg, err := t.receive(ctx, awaitingPong)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !awaitingPong && isTimeout(err) {
				needPing = true // silent for HealthInterval: check it
				continue
			}
			// A PING unanswered in time (go-redis then drops the
			// connection) or a broken connection.
			t.markDown(ctx, h, err)
			needPing, awaitingPong = true, false
			if !pause.Wait(ctx) {
				return
			}
			continue
		}
		awaitingPong = false
		pause.Reset()
		t.markUp(ctx)
		t.dispatch(h, msg)
	}
}

// receive returns what the subscriber connection delivers next. While a
// PING is unanswered it waits at most PingTimeout, through the context: a
// deadline that go-redis did not set itself counts as a failure of the
// connection, which it then drops. Otherwise it waits HealthInterval and
// returns a timeout error that leaves the connection alone.
func (t *Transport) receive(ctx context.Context, awaitingPong bool) (any, error) {
	if !awaitingPong {
		// The timeout ends the wait; the context's later deadline only
		// bounds a reconnect that go-redis might start inside the call.
		ctx, cancel := context.WithTimeout(ctx, t.healthInterval+t.pingTimeout)
		defer cancel()
		return t.pubsub.ReceiveTimeout(ctx, t.healthInterval)
	}
	ctx, cancel := context.WithTimeout(ctx, t.pingTimeout)
	defer cancel()
	return t.pubsub.Receive(ctx)
}

func (t *Transport) dispatch(h cluster.Handler, msg any) {
	switch m := msg.(type) {
	case *goredis.Message:
		h.Deliver([]byte(m.Payload))
	case *goredis.Subscription:
		if m.Kind != "subscribe" {
			return
		}
		if ch, ok := t.channelOf(m.Channel); ok {
			h.Subscribed(ch)
		}
	case *goredis.Pong:
	}
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// markDown records that the subscriber connection failed, logging only the
// first failure of an outage, and tells h at the start of one: until
// go-redis has resubscribed a channel (its confirmation reaches h as
// Subscribed), nothing published to it arrives.
func (t *Transport) markDown(ctx context.Context, h cluster.Handler, err error) {
	t.errMu.Lock()
	prev := t.state.Swap(stateDown)
	t.lastErr = err
	if prev != stateDown {
		t.downSince = time.Now()
	}
	t.errMu.Unlock()
	if prev != stateDown {
		h.Lost()
	}
	switch prev {
	case stateUp:
		t.logger.LogAttrs(ctx, slog.LevelWarn, "redis subscriber connection lost: reconnecting", slog.Any("error", err))
	case stateConnecting:
		t.logger.LogAttrs(ctx, slog.LevelWarn, "redis subscriber connection failed: retrying", slog.Any("error", err))
	}
}

// markUp records that the subscriber connection works.
func (t *Transport) markUp(ctx context.Context) {
	if t.state.Load() == stateUp {
		return // the hot path: one atomic load per message
	}
	t.errMu.Lock()
	prev := t.state.Swap(stateUp)
	since := t.downSince
	t.errMu.Unlock()
	if prev == stateDown {
		t.logger.LogAttrs(ctx, slog.LevelInfo, "redis subscriber connection restored",
			slog.Duration("outage", time.Since(since).Round(time.Millisecond)))
	}
}

// syncLoop applies Watch and Unwatch to the subscriber connection until ctx
// is done. Changes that pile up while a command is in flight go out
// together, as one SUBSCRIBE and one UNSUBSCRIBE.
func (t *Transport) syncLoop(ctx context.Context) {
	// applied mirrors the channel set of go-redis's PubSub, which is what
	// it resubscribes to after a reconnect.
	applied := make(map[domain.ChannelID]bool)
	// resend holds channels whose SUBSCRIBE failed to be written: go-redis
	// may have reconnected before adding them to its set, so the new
	// connection lacks them. Sending SUBSCRIBE again is harmless.
	resend := make(map[domain.ChannelID]bool)
	pause := newBackoff()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-retry.C:
		}
		subs, unsubs := t.plan(applied, resend)
		clear(resend)
		for chunk := range slices.Chunk(subs, subscribeBatch) {
			if err := t.command(ctx, t.pubsub.Subscribe, chunk); err != nil {
				for _, ch := range chunk {
					resend[ch] = true
				}
			}
			for _, ch := range chunk {
				applied[ch] = true
			}
		}
		for chunk := range slices.Chunk(unsubs, subscribeBatch) {
			// A failed UNSUBSCRIBE needs no retry: go-redis forgot the
			// channels first, and a connection that failed is replaced
			// by one that never subscribes to them.
			_ = t.command(ctx, t.pubsub.Unsubscribe, chunk)
			for _, ch := range chunk {
				delete(applied, ch)
			}
		}
		if ctx.Err() != nil {
			return
		}
		if len(resend) > 0 {
			retry.Reset(pause.Next())
		} else {
			pause.Reset()
		}
	}
}

// plan takes the recorded changes and returns the channels to subscribe
// and unsubscribe, given what is applied and what must be resent.
func (t *Transport) plan(applied, resend map[domain.ChannelID]bool) (subs, unsubs []domain.ChannelID) {
	t.mu.Lock()
	changes := t.changes
	t.changes = make(map[domain.ChannelID]bool, len(changes))
	t.mu.Unlock()
	for ch := range resend {
		if _, changed := changes[ch]; !changed {
			changes[ch] = true
		}
	}
	for ch, watch := range changes {
		switch {
		case watch:
			// Even if applied (an Unwatch and a Watch that came together):
			// the Notifier trusts a newly watched channel only once a
			// confirmation arrives, and a repeated SUBSCRIBE brings one.
			subs = append(subs, ch)
		case !watch && applied[ch]:
			unsubs = append(unsubs, ch)
		}
	}
	return subs, unsubs
}

// command runs SUBSCRIBE or UNSUBSCRIBE for channels within PingTimeout.
func (t *Transport) command(ctx context.Context, cmd func(context.Context, ...string) error, channels []domain.ChannelID) error {
	names := make([]string, len(channels))
	for i, ch := range channels {
		names[i] = t.RedisChannel(ch)
	}
	ctx, cancel := context.WithTimeout(ctx, t.pingTimeout)
	defer cancel()
	return cmd(ctx, names...)
}
