package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Reasons a stream ends, returned by Stream.Run.
var (
	// ErrCredentialsExpired: the caller's token expired; the sink was told.
	ErrCredentialsExpired = errors.New("credentials expired")
	// ErrNoChannelsLeft: the caller was removed from every channel of the
	// stream; the sink was told of each.
	ErrNoChannelsLeft = errors.New("no channels left")
)

// replayPage is how many messages one store read returns while replaying or
// filling a gap.
const replayPage = 200

// maxBatch is how many queued events are written before one flush.
const maxBatch = 64

// StreamSink is what a stream writes to: the transport renders each call as
// an event of its protocol. Calls come from the one goroutine running
// Stream.Run. An error ends the stream.
type StreamSink interface {
	// Message delivers m; cursor is the stream's position including m,
	// valid during the call only (the stream moves it in place after):
	// render it, do not keep it.
	Message(m domain.Message, cursor domain.Cursor) error
	// ChannelRemoved tells that the caller left channel; cursor no longer
	// names it.
	ChannelRemoved(channel domain.ChannelID, cursor domain.Cursor) error
	// TokenExpired tells that the caller's credentials expired.
	TokenExpired() error
	// Heartbeat keeps an idle connection open.
	Heartbeat() error
	// Flush pushes what was written so far to the client.
	Flush() error
}

// Stream is one subscriber's live, resumable view of its channels: it
// replays what the subscriber missed, then forwards live events in seq order
// per channel, dropping duplicates and filling gaps from the store.
type Stream struct {
	streamSettings
	convs     ports.ConversationRepository
	reads     *sharedReads // shared with the other streams of the use case
	sub       ports.Subscription
	principal domain.Principal

	order    []domain.ChannelID             // the channels in request order
	channels domain.ChannelMap[openChannel] // the channels still open
	// authorised is each channel's last seq when access was checked: the
	// replay reads up to there, and what came later arrives in order
	// through the subscription, behind any removal queued meanwhile.
	authorised map[domain.ChannelID]int64
	start      domain.Cursor
	cursor     domain.Cursor // every message at or before it was delivered
	// ownsCursor says no copy of cursor outlives a sink call, so send may
	// move it in place; false until send's first clone (start shares it).
	ownsCursor bool
	gaps       gapHold         // messages that arrived ahead of a gap
	batch      []*domain.Event // handleBatch's buffer, kept between batches
	// inbox is the inbox stream's own state (SubscribeInbox); nil for a
	// stream of channels named by the client.
	inbox *inboxState
}

// streamSettings are what a subscribe use case gives each of its streams.
type streamSettings struct {
	heartbeat  time.Duration
	logger     *slog.Logger
	observer   ports.StreamObserver // may be nil
	writeDelay time.Duration        // see WithWriteDelay; 0 flushes every batch at once
}

func newStreamSettings(heartbeat time.Duration, logger *slog.Logger, opts []SubscribeOption) streamSettings {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	s := streamSettings{heartbeat: heartbeat, logger: logger}
	for _, opt := range opts {
		opt(&s)
	}
	return s
}

// SubscribeOption configures the streams of SubscribeChannel and
// SubscribeInbox.
type SubscribeOption func(*streamSettings)

// WithStreamObserver makes streams report their gap fills to o.
func WithStreamObserver(o ports.StreamObserver) SubscribeOption {
	return func(s *streamSettings) { s.observer = o }
}

// DefaultWriteDelay is the write delay of the service (SSE_WRITE_DELAY)
// unless configured; see WithWriteDelay.
const DefaultWriteDelay = 25 * time.Millisecond

// WithWriteDelay coalesces a busy stream's writes: after a flush, a
// stream leaves its queue alone for d, then writes what came meanwhile in
// one flush. An event after a quiet spell (no flush for d) is written at
// once, so only a stream receiving more than one event per d waits, by at
// most d; its events then cost one wakeup and one write per d instead of
// one each. A queue filling past half (Subscription.Crowded) ends the rest
// at once, and a full batch (maxBatch) starts none, so a burst never
// overflows the queue. 0 (the option's default) flushes every batch at
// once.
func WithWriteDelay(d time.Duration) SubscribeOption {
	return func(s *streamSettings) { s.writeDelay = max(d, 0) }
}

// Start returns the stream's starting cursor: where replay begins.
func (s *Stream) Start() domain.Cursor { return s.start }

// openChannel is what a stream knows of one of its open channels.
type openChannel struct {
	number   int64 // the conversation's number, its key in the cursor
	removals int64 // member removals known when its access was last checked
}

// number returns channel's conversation number, if channel is open.
func (s *Stream) number(channel domain.ChannelID) (int64, bool) {
	c, ok := s.channels.Get(channel)
	return c.number, ok
}

// Channels returns the stream's channels in request order.
func (s *Stream) Channels() []domain.ChannelID { return s.order }

// Close releases the stream's subscription. It is safe to call more than
// once.
func (s *Stream) Close() { s.sub.Close() }

// Run replays every message after the starting cursor, then forwards live
// events until ctx is done (nil), the sink fails, the subscription ends
// (ports.ErrSlowSubscriber, ports.ErrNotifierClosed), the credentials
// expire (ErrCredentialsExpired) or no channel is left (ErrNoChannelsLeft).
// Every way out leaves the client able to resume from its last cursor.
func (s *Stream) Run(ctx context.Context, sink StreamSink) error {
	err := s.run(ctx, sink)
	if err != nil {
		// A client that stops reading makes a write time out (which also
		// cancels the request's context) while its queue overflows; the
		// cut-off is the cause worth reporting.
		select {
		case <-s.sub.Done():
			if subErr := s.sub.Err(); errors.Is(subErr, ports.ErrSlowSubscriber) && !errors.Is(err, subErr) {
				return fmt.Errorf("subscription ended: %w", errors.Join(subErr, err))
			}
		default:
		}
	}
	if ctx.Err() != nil {
		// The client left or the server is stopping: a store read or a write
		// that failed because of it is the normal end of the stream.
		return nil
	}
	return err
}

// run is the algorithm: subscribed already (SubscribeChannel.Execute),
// replay from the store, then forward live events.
func (s *Stream) run(ctx context.Context, sink StreamSink) error {
	replay := s.replay
	if s.inbox != nil {
		replay = s.inbox.replay(s)
	}
	if err := replay(ctx, sink); err != nil {
		return err
	}
	return s.live(ctx, sink)
}

// replay delivers each channel's stored messages after the starting
// cursor, up to the last seq read when access was checked.
func (s *Stream) replay(ctx context.Context, sink StreamSink) error {
	for _, ch := range s.order {
		if err := s.catchUp(ctx, ch, s.authorised[ch], accessRead, sink); err != nil {
			return err
		}
	}
	s.authorised = nil
	return sink.Flush()
}

// live forwards queued events in batches, keeps the connection alive, and
// fills the gaps that did not close by themselves, until the stream ends.
func (s *Stream) live(ctx context.Context, sink StreamSink) error {
	defer s.gaps.stop()
	// One timer is due at the next heartbeat or at the token's expiry,
	// whichever comes first: a stream held by the thousand keeps one.
	expires := s.principal.ExpiresAt
	nextBeat := time.Now().Add(s.heartbeat)
	clock := time.NewTimer(s.untilClock(nextBeat))
	defer clock.Stop()
	// While resting (for writeDelay after a flush) the queue is left
	// unread, unless it fills past half (Crowded); then what it holds is
	// written in one flush. The rest timer is made by the first rest.
	var rest *time.Timer
	var resting <-chan time.Time
	defer func() {
		if rest != nil {
			rest.Stop()
		}
	}()
	ready := s.sub.Ready()
	// write handles what is queued, up to a batch, flushes, and starts a
	// rest unless the batch was full (more are waiting: no reason to).
	write := func() error {
		n, err := s.handleBatch(ctx, sink)
		if err != nil || n == 0 {
			return err
		}
		if s.inbox != nil {
			if err := s.inbox.compactIfDue(ctx, s); err != nil {
				return err
			}
		}
		if s.writeDelay > 0 && n < maxBatch {
			if rest == nil {
				rest = time.NewTimer(s.writeDelay)
			} else {
				rest.Reset(s.writeDelay)
			}
			resting = rest.C
		}
		return nil
	}
	// wake ends a rest: what came meanwhile is written now (and the
	// stream rests again, since more are likely); if nothing came, the
	// next event is written at once. The signal of what came is dropped
	// first, so that it does not wake the stream again for nothing.
	wake := func() error {
		resting = nil
		select {
		case <-ready:
		default:
		}
		return write()
	}
	for {
		events, crowded := ready, (<-chan struct{})(nil)
		if resting != nil {
			events, crowded = nil, s.sub.Crowded()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.sub.Done():
			if err := s.sub.Err(); err != nil {
				return fmt.Errorf("subscription ended: %w", err)
			}
			return nil
		case <-clock.C:
			now := time.Now()
			if !expires.IsZero() && !now.Before(expires) {
				if err := sink.TokenExpired(); err != nil {
					return err
				}
				return errors.Join(ErrCredentialsExpired, sink.Flush())
			}
			if !now.Before(nextBeat) {
				if err := sink.Heartbeat(); err != nil {
					return err
				}
				if err := sink.Flush(); err != nil {
					return err
				}
				nextBeat = now.Add(s.heartbeat)
			}
			clock.Reset(s.untilClock(nextBeat))
		case <-events:
			if err := write(); err != nil {
				return err
			}
		case <-crowded:
			rest.Stop() // since Go 1.23 a stopped timer delivers no stale tick after Reset
			if err := wake(); err != nil {
				return err
			}
		case <-resting:
			if err := wake(); err != nil {
				return err
			}
		case <-s.gaps.expired():
			if err := s.fillExpiredGaps(ctx, sink); err != nil {
				return err
			}
		}
	}
}

// untilClock is how long until the stream's clock is due: at nextBeat, or
// at the token's expiry if that comes first.
func (s *Stream) untilClock(nextBeat time.Time) time.Duration {
	due := nextBeat
	if exp := s.principal.ExpiresAt; !exp.IsZero() && exp.Before(due) {
		due = exp
	}
	return time.Until(due)
}

// handleBatch handles what is queued, up to maxBatch events, then flushes
// once; it returns the batch's size (0, and no flush, when nothing was
// queued). Events are shared with other subscribers and only read.
//
// A resync of a channel followed in the batch by another resync of it,
// with no event of the channel in between, is skipped: the later one
// checks access and reads the store after everything the earlier one
// stood for. While an instance cannot trust its notifier every local
// message it cannot guard is a resync, and this keeps a burst of them to
// one access check and one read instead of two queries per message.
func (s *Stream) handleBatch(ctx context.Context, sink StreamSink) (int, error) {
	batch := s.sub.Take(s.batch[:0], maxBatch)
	if len(batch) == 0 {
		return 0, nil
	}
	defer func() {
		clear(batch) // drop the references until the next batch
		s.batch = batch[:0]
	}()
	for i, ev := range batch {
		if ev.Kind == domain.EventResync && resyncedLater(batch[i+1:], ev.Channel) {
			continue
		}
		if err := s.handle(ctx, ev, sink); err != nil {
			return 0, err
		}
	}
	return len(batch), sink.Flush()
}

// resyncedLater reports whether the next event of ch in rest is a resync.
func resyncedLater(rest []*domain.Event, ch domain.ChannelID) bool {
	for _, ev := range rest {
		if ev.Channel == ch {
			return ev.Kind == domain.EventResync
		}
	}
	return false
}

func (s *Stream) handle(ctx context.Context, ev *domain.Event, sink StreamSink) error {
	if s.inbox != nil && ev.Channel.Kind == domain.ChannelUser {
		// A doorbell of the user's log, or a resync of it: read the log.
		return s.inbox.sync(ctx, s, sink)
	}
	switch ev.Kind {
	case domain.EventMessage:
		return s.deliverLive(ctx, ev.Message, sink)
	case domain.EventGuardedMessage:
		return s.deliverGuarded(ctx, ev, sink)
	case domain.EventMemberRemoved:
		return s.removeChannel(ev, sink)
	case domain.EventResync:
		return s.resync(ctx, ev.Channel, sink)
	case domain.EventHead:
		return s.head(ctx, ev, sink)
	}
	return nil
}

// head compares where a channel stands in the store with what the stream
// knows. A member removal the stream has not checked for makes it check
// access again; messages past the cursor are waited for like any gap, for
// gapWait, since their notifications may be just behind, and then read
// from the store.
func (s *Stream) head(ctx context.Context, ev *domain.Event, sink StreamSink) error {
	c, ok := s.channels.Get(ev.Channel)
	if !ok {
		return nil
	}
	if ev.Head.Removals > c.removals {
		return s.resync(ctx, ev.Channel, sink)
	}
	if at, _ := s.cursor.Seq(c.number); ev.Head.LastSeq > at {
		s.gaps.awaitSeq(ev.Channel, ev.Head.LastSeq)
	}
	return nil
}

// deliverGuarded delivers a message whose channel's removal events the
// notifier could not vouch for. If no member was removed between the
// stream's last access check and the message's commit, the caller was a
// member when it committed, and it is delivered like any live message;
// otherwise access is checked again first, and the catch-up that follows
// delivers it if the caller may still read the channel.
func (s *Stream) deliverGuarded(ctx context.Context, ev *domain.Event, sink StreamSink) error {
	c, ok := s.channels.Get(ev.Channel)
	if !ok {
		return nil // not a channel of the stream, or no longer
	}
	if ev.Head.Removals > c.removals {
		return s.resync(ctx, ev.Channel, sink)
	}
	return s.deliverLive(ctx, ev.Message, sink)
}

// deliverLive sends m if it is the next message of its channel, then any
// held messages it unblocks; drops it if it was delivered already; and
// holds it if messages before it are missing, until they arrive or gapWait
// passes and they are read from the store.
func (s *Stream) deliverLive(ctx context.Context, m domain.Message, sink StreamSink) error {
	number, ok := s.number(m.Channel)
	if !ok {
		return nil
	}
	at, _ := s.cursor.Seq(number)
	switch {
	case m.Seq <= at:
		return nil
	case m.Seq == at+1:
		if err := s.send(number, m, sink); err != nil {
			return err
		}
		for next, ok := s.gaps.next(m.Channel, m.Seq); ok; next, ok = s.gaps.next(m.Channel, next.Seq) {
			if err := s.send(number, next, sink); err != nil {
				return err
			}
		}
		return nil
	}
	if s.gaps.hold(m) {
		// Too far behind to wait: the store has everything up to m (m is
		// committed), so catching up delivers m too.
		return s.catchUp(ctx, m.Channel, s.gaps.reach(m.Channel), gapRead, sink)
	}
	return nil
}

// readReason says why a stream catches a channel up from the store.
type readReason int

const (
	// accessRead reads up to the seq read with an access check: the
	// replay, or a resync.
	accessRead readReason = iota + 1
	// gapRead fills a gap whose notifications did not arrive in time, or
	// that is too long to wait for; the observer is told.
	gapRead
)

// catchUp delivers the stored messages of channel after the cursor, up to
// seq upTo: a position the store is known to have reached (read when
// access was checked, or the seq of a committed message that arrived ahead
// of a gap, or a head). It never reads past it, because a later message
// may follow a member removal still waiting in the subscription's queue;
// those arrive through the queue, in order with the removal.
func (s *Stream) catchUp(ctx context.Context, channel domain.ChannelID, upTo int64, why readReason, sink StreamSink) error {
	number, ok := s.number(channel)
	if !ok {
		return nil
	}
	delivered := 0
	for {
		at, _ := s.cursor.Seq(number)
		if at >= upTo {
			s.gaps.release(channel, at)
			break
		}
		page, err := s.reads.after(ctx, channel, at, upTo)
		if err != nil {
			return fmt.Errorf("replay %s: %w", channel, err)
		}
		for _, m := range page {
			if m.Seq <= at {
				continue
			}
			if m.Seq > upTo {
				break
			}
			if err := s.send(number, m, sink); err != nil {
				return err
			}
			delivered++
			at = m.Seq
		}
		if len(page) < replayPage {
			// The store ends here: whatever was held or expected is at or
			// before the cursor now.
			s.gaps.drop(channel)
			break
		}
	}
	if why == gapRead && s.observer != nil {
		s.observer.GapFilled(channel, delivered)
	}
	return nil
}

func (s *Stream) send(number int64, m domain.Message, sink StreamSink) error {
	if !s.ownsCursor {
		s.cursor, s.ownsCursor = s.cursor.Clone(), true
	}
	if !s.cursor.AdvanceInPlace(number, m.Seq) {
		s.cursor = s.cursor.With(number, m.Seq) // a copy: still the stream's own
	}
	if s.inbox != nil {
		if err := s.inbox.delivered(number, m.Seq); err != nil {
			return err
		}
	}
	return sink.Message(m, s.cursor)
}
