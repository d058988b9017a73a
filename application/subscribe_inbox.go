package application

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// ErrInboxBehind ends an inbox stream whose cursor would outgrow
// domain.MaxInboxExceptions: the store's watermark cannot move on (a long
// transaction holds it back) while the user gets messages in more
// conversations than a cursor may name. The client resumes, losslessly,
// from its last cursor once it retries.
var ErrInboxBehind = errors.New("inbox stream: the commit watermark is held back; retry later")

// compactEvery is how often, at most, a live inbox stream tries again to
// move its watermark on after a try that could not shorten its cursor
// (the watermark is held back).
const compactEvery = time.Second

// InboxQuery asks for the inbox stream of User (the caller when empty; a
// service caller may name any user), resuming after Cursor when it is set.
type InboxQuery struct {
	Principal domain.Principal
	User      domain.UserID
	Cursor    *domain.InboxCursor
}

// InboxSink is what an inbox stream writes to; as StreamSink, its calls
// come from the goroutine running Inbox.Run and an error ends the stream.
// Every call but TokenExpired, Heartbeat and Flush carries the cursor that
// includes it.
type InboxSink interface {
	Message(m domain.Message, cursor domain.InboxCursor) error
	// ConversationAdded tells that the user joined c (the user's view of
	// it); its messages after c.LastSeq follow.
	ConversationAdded(c domain.Conversation, cursor domain.InboxCursor) error
	ChannelRemoved(channel domain.ChannelID, cursor domain.InboxCursor) error
	// Read tells that the user's read position in channel moved.
	Read(channel domain.ChannelID, readSeq int64, cursor domain.InboxCursor) error
	TokenExpired() error
	Heartbeat() error
	Flush() error
}

// SubscribeInbox opens inbox streams: one stream per user over every
// conversation the user is a member of, now and later.
type SubscribeInbox struct {
	convs    ports.ConversationRepository
	msgs     ports.MessageRepository
	reads    *sharedReads
	notifier ports.Notifier
	settings streamSettings
}

// NewSubscribeInbox returns the SubscribeInbox use case; streams send a
// heartbeat every heartbeat (DefaultHeartbeat when zero), configured by
// opts as SubscribeChannel's.
func NewSubscribeInbox(convs ports.ConversationRepository, msgs ports.MessageRepository, notifier ports.Notifier,
	heartbeat time.Duration, logger *slog.Logger, opts ...SubscribeOption) *SubscribeInbox {
	return &SubscribeInbox{convs: convs, msgs: msgs, reads: newSharedReads(msgs), notifier: notifier,
		settings: newStreamSettings(heartbeat, logger, opts)}
}

// Inbox is one user's live, resumable inbox stream.
type Inbox struct {
	stream *Stream
	start  domain.InboxCursor
}

// Start returns the cursor the stream starts from: its ready event's id.
func (i *Inbox) Start() domain.InboxCursor { return i.start }

// Conversations returns how many conversations the stream watches now.
func (i *Inbox) Conversations() int { return i.stream.channels.Len() }

// Close releases the stream's subscription; it is safe to call more than
// once.
func (i *Inbox) Close() { i.stream.Close() }

// Run replays what the user missed since the starting cursor, then
// forwards live events, as Stream.Run does; it also ends with
// ErrInboxBehind (see there).
func (i *Inbox) Run(ctx context.Context, sink InboxSink) error {
	return i.stream.Run(ctx, inboxSink{in: i.stream.inbox, out: sink})
}

// Execute sets the stream up, in the order that makes it exact:
//
//  1. subscribe to the user's channel, so that every later change of the
//     user's log rings;
//  2. the user's log position: the cursor's, or the head now;
//  3. the user's conversations, and subscribe to them, before reading
//     where each stands (as SubscribeChannel does): a message committed
//     in between is read, or queued, or both;
//  4. a fresh stable watermark, then each conversation's state (access
//     and last seq): every message keyed below the watermark is at or
//     before that last seq;
//  5. what the log holds after the position (joins are announced, not
//     replayed), and each remaining conversation's position: the
//     cursor's, or its end.
//
// A conversation joined after step 3 rings in step 1's channel and is
// added live; one left after it is dropped by the log or by its removal.
func (uc *SubscribeInbox) Execute(ctx context.Context, q InboxQuery) (*Inbox, error) {
	user := q.User
	if user == "" {
		user = q.Principal.UserID
	}
	if user != q.Principal.UserID && !q.Principal.Admin {
		return nil, fmt.Errorf("inbox of %s: %w", user, domain.ErrForbidden)
	}
	sub, err := uc.notifier.Subscribe(ctx, []domain.ChannelID{domain.UserChannel(user)})
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	in, err := uc.setUp(ctx, q, user, sub)
	if err != nil {
		sub.Close()
		return nil, err
	}
	return in, nil
}

func (uc *SubscribeInbox) setUp(ctx context.Context, q InboxQuery, user domain.UserID, sub ports.Subscription) (*Inbox, error) {
	var start domain.InboxCursor
	if q.Cursor != nil {
		start = *q.Cursor
	} else {
		head, err := uc.convs.UserHead(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("read the user's log: %w", err)
		}
		start.UserSeq = head
	}
	list, err := uc.convs.MemberChannels(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("read the user's conversations: %w", err)
	}
	channels := make([]domain.ChannelID, len(list))
	for i, st := range list {
		channels[i] = st.Channel
	}
	if err := sub.Subscribe(channels...); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	w0, err := uc.msgs.StableWatermark(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the watermark: %w", err)
	}
	states, err := uc.convs.ChannelStates(ctx, channels, user)
	if err != nil {
		return nil, fmt.Errorf("read channel states: %w", err)
	}
	log, err := uc.convs.UserLog(ctx, user, start.UserSeq)
	if err != nil {
		return nil, fmt.Errorf("read the user's log: %w", err)
	}

	principal := domain.Principal{UserID: user, ExpiresAt: q.Principal.ExpiresAt}
	s := &Stream{
		convs: uc.convs, reads: uc.reads, streamSettings: uc.settings, sub: sub, principal: principal,
		channels:   domain.MakeChannelMap[openChannel](len(states)),
		authorised: make(map[domain.ChannelID]int64, len(states)),
	}
	in := &inboxState{
		convs: uc.convs, msgs: uc.msgs, log: log, resumed: q.Cursor != nil, w0: w0,
		useq: start.UserSeq, prefix: make(map[int64]int64, len(states)), joined: map[domain.ChannelID]bool{},
	}
	s.inbox = in
	for _, j := range log.Joined {
		in.joined[j.Channel] = true
	}
	var positions []domain.Position
	for _, st := range states {
		if !st.IsMember {
			continue // left since step 3: the log or its removal says so
		}
		s.order = append(s.order, st.Channel)
		s.channels.Set(st.Channel, openChannel{number: st.Number, removals: st.Removals})
		s.authorised[st.Channel] = st.LastSeq
		positions = append(positions, domain.Position{Number: st.Number, Seq: st.LastSeq})
	}
	if q.Cursor == nil || len(s.order) == 0 {
		// From the end of each conversation, described at the fresh
		// watermark.
		s.cursor = domain.NewCursor(positions...)
		if err := in.moveTo(ctx, s, w0); err != nil {
			return nil, err
		}
		s.start = s.cursor
		return &Inbox{stream: s, start: in.cursor()}, nil
	}
	// Resuming: each conversation the client had is where the cursor
	// says, its prefix at the cursor's watermark unless named, never past
	// where access was checked; a conversation joined since is announced
	// by the replay and starts at its end.
	in.w = min(start.Watermark, w0)
	old, err := uc.msgs.PrefixAt(ctx, s.order, in.w)
	if err != nil {
		return nil, fmt.Errorf("read prefixes: %w", err)
	}
	positions = positions[:0]
	for _, ch := range s.order {
		n, _ := s.number(ch)
		in.prefix[n] = min(old[ch], s.authorised[ch])
		seq, named := start.Except.Seq(n)
		if !named {
			seq = in.prefix[n]
		}
		if in.joined[ch] {
			seq = s.authorised[ch]
		}
		seq = min(seq, s.authorised[ch])
		positions = append(positions, domain.Position{Number: n, Seq: seq})
		// A conversation joined since is not named until it is
		// announced (announce names it if need be): until then the
		// cursor's UserSeq is before its join, so a client resuming from
		// it gets the join again, from the end, whatever the cursor says
		// of it. Naming them would make the cursor outgrow its bound
		// however free the watermark is, and a retry fail the same way.
		if seq != in.prefix[n] && !in.joined[ch] {
			in.except = in.except.With(n, seq)
		}
	}
	s.cursor = domain.NewCursor(positions...)
	s.start = s.cursor
	if in.except.Len() > domain.MaxInboxExceptions {
		return nil, fmt.Errorf("inbox cursor: %w", ErrInboxBehind)
	}
	return &Inbox{stream: s, start: start}, nil
}

// inboxState is what an inbox stream keeps besides a Stream's state: the
// parts of its cursor (domain.InboxCursor) and what the replay is to do.
// Only the stream's goroutine uses it.
type inboxState struct {
	convs ports.ConversationRepository
	msgs  ports.MessageRepository

	useq   int64           // the user's log is delivered up to here
	w      int64           // the watermark of the cursor
	prefix map[int64]int64 // conversation number → its prefix at w, for the open ones
	except domain.Cursor   // the open conversations whose position is not their prefix

	// Set up by Execute for the replay.
	log     domain.UserLog            // the user's log after the starting position
	joined  map[domain.ChannelID]bool // conversations the log says were joined since
	resumed bool
	w0      int64 // the watermark read at set-up

	stuckAt time.Time // when a compaction last left the cursor long; zero when it did not
}

func (in *inboxState) cursor() domain.InboxCursor {
	return domain.InboxCursor{UserSeq: in.useq, Watermark: in.w, Except: in.except}
}

// delivered records that conversation number is at seq now. It fails when
// the cursor would name more conversations than it may.
func (in *inboxState) delivered(number, seq int64) error {
	if in.prefix[number] == seq {
		in.except = in.except.Without(number)
		return nil
	}
	if _, named := in.except.Seq(number); !named && in.except.Len() >= domain.MaxInboxExceptions {
		return ErrInboxBehind
	}
	in.except = in.except.With(number, seq)
	return nil
}

// dropped forgets conversation number.
func (in *inboxState) dropped(number int64) {
	delete(in.prefix, number)
	in.except = in.except.Without(number)
}

// moveTo describes the stream's positions at watermark w: one read of the
// open conversations' prefixes.
func (in *inboxState) moveTo(ctx context.Context, s *Stream, w int64) error {
	open := s.open()
	prefix, err := in.msgs.PrefixAt(ctx, open, w)
	if err != nil {
		return fmt.Errorf("read prefixes: %w", err)
	}
	in.w = w
	in.except = domain.Cursor{}
	for _, ch := range open {
		n, _ := s.number(ch)
		in.prefix[n] = prefix[ch]
		if at, _ := s.cursor.Seq(n); at != prefix[ch] {
			in.except = in.except.With(n, at)
		}
	}
	return nil
}

// compactIfDue moves the watermark on when the cursor names half as many
// conversations as it may: usually every position is a prefix of a fresh
// watermark again. It runs after each batch, which adds at most maxBatch
// names, and before each gap fill and each live announcement, which add
// at most one, so the cursor never outgrows domain.MaxInboxExceptions
// while compactions work; when one cannot shorten it, the next try waits
// compactEvery.
func (in *inboxState) compactIfDue(ctx context.Context, s *Stream) error {
	if in.except.Len() <= domain.MaxInboxExceptions/2 ||
		!in.stuckAt.IsZero() && time.Since(in.stuckAt) < compactEvery {
		return nil
	}
	w, err := in.msgs.StableWatermark(ctx)
	if err != nil {
		return fmt.Errorf("read the watermark: %w", err)
	}
	if err := in.moveTo(ctx, s, max(w, in.w)); err != nil {
		return err
	}
	in.stuckAt = time.Time{}
	if in.except.Len() > domain.MaxInboxExceptions/2 {
		in.stuckAt = time.Now()
	}
	return nil
}

// replay is the inbox's replay: the messages the client missed in the
// conversations it had, in commit key order so that the cursor stays a
// watermark and a few exceptions all along; then the changes of its log.
func (in *inboxState) replay(s *Stream) func(context.Context, StreamSink) error {
	return func(ctx context.Context, sink StreamSink) error {
		if in.resumed {
			if err := in.replayMessages(ctx, s, sink); err != nil {
				return err
			}
		}
		s.authorised = nil
		if err := in.applyLog(ctx, s, in.log, true, sink); err != nil {
			return err
		}
		in.log = domain.UserLog{}
		return sink.Flush()
	}
}

// replayMessages delivers, for each conversation the client had, the
// messages after its position up to where access was checked.
func (in *inboxState) replayMessages(ctx context.Context, s *Stream, sink StreamSink) error {
	var had []domain.ChannelID
	for _, ch := range s.order {
		if !in.joined[ch] {
			had = append(had, ch)
		}
	}
	// Conversations behind their prefix first (the cursor names them):
	// up to the prefix, after which they are described by the watermark.
	for _, ch := range had {
		n, _ := s.number(ch)
		if at, _ := s.cursor.Seq(n); at < in.prefix[n] {
			if err := s.catchUp(ctx, ch, in.prefix[n], accessRead, sink); err != nil {
				return err
			}
		}
	}
	// Then everything keyed from the watermark to the fresh one, in key
	// order: after each message the watermark is just past its key, and
	// only the conversations the client had ahead of it stay named.
	for from := in.w; from < in.w0; {
		page, err := in.msgs.ListByKey(ctx, had, from, in.w0, replayPage)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, km := range page {
			m := km.Message
			n, open := s.number(m.Channel)
			if !open {
				continue
			}
			in.w, in.prefix[n] = km.Key+1, m.Seq
			at, _ := s.cursor.Seq(n)
			switch {
			case m.Seq == at+1:
				if err := s.send(n, m, sink); err != nil {
					return err
				}
			case m.Seq > at+1:
				// Behind its prefix although the cursor did not say so (a
				// cursor made by hand): read up to m, committed and below
				// the watermark, rather than skip what lies between.
				if err := s.catchUp(ctx, m.Channel, m.Seq, accessRead, sink); err != nil {
					return err
				}
			case m.Seq == at:
				in.except = in.except.Without(n) // the watermark caught up with it
			}
			from = km.Key + 1
		}
		if len(page) < replayPage {
			break
		}
	}
	in.w = max(in.w, in.w0)
	// Last, what was committed since the fresh watermark, up to where
	// access was checked.
	for _, ch := range had {
		if !s.channels.Has(ch) {
			continue
		}
		if err := s.catchUp(ctx, ch, s.authorised[ch], accessRead, sink); err != nil {
			return err
		}
	}
	return nil
}

// sync reads the user's log after the stream's position and applies it:
// a doorbell of the user's channel rang, or its notifications may have
// been lost.
func (in *inboxState) sync(ctx context.Context, s *Stream, sink StreamSink) error {
	log, err := in.convs.UserLog(ctx, s.principal.UserID, in.useq)
	if err != nil {
		return fmt.Errorf("read the user's log: %w", err)
	}
	return in.applyLog(ctx, s, log, false, sink)
}

// logChange is one entry of a UserLog, for applying them in useq order.
type logChange struct {
	useq      int64
	channel   domain.ChannelID
	join      bool
	departure bool
	readSeq   int64
}

// applyLog delivers the changes of log in useq order, each with a cursor
// that includes it: a join announces the conversation (which the stream
// then watches, from its end), a departure drops it, a read move is told.
//
// At set-up (initial) the stream does not know which conversations the
// client had; the log tells: one whose first change since the cursor is a
// departure was the client's. It is told of that departure once (a
// conversation joined and left while the client was away may be told
// too: the log keeps only a conversation's latest join). The
// conversations joined since are watched already, from their end.
func (in *inboxState) applyLog(ctx context.Context, s *Stream, log domain.UserLog, initial bool, sink StreamSink) error {
	var changes []logChange
	for _, j := range log.Joined {
		changes = append(changes, logChange{useq: j.USeq, channel: j.Channel, join: true})
	}
	for _, d := range log.Departures {
		changes = append(changes, logChange{useq: d.USeq, channel: d.Channel, departure: true})
	}
	for _, r := range log.Reads {
		changes = append(changes, logChange{useq: r.USeq, channel: r.Channel, readSeq: r.ReadSeq})
	}
	slices.SortFunc(changes, func(a, b logChange) int { return cmp.Compare(a.useq, b.useq) })
	is := sink.(inboxSink)
	told := map[domain.ChannelID]bool{} // departures told at set-up
	for _, c := range changes {
		if c.useq <= in.useq {
			continue
		}
		open := s.channels.Has(c.channel)
		var err error
		switch {
		case c.departure && open:
			in.useq = c.useq
			err = s.dropChannel(c.channel, sink)
			told[c.channel] = true
		case c.departure && initial && !told[c.channel]:
			in.useq = c.useq
			err = is.out.ChannelRemoved(c.channel, in.cursor())
			told[c.channel] = true
		case c.join && (!open || initial && in.joined[c.channel] && !told[c.channel]):
			if !initial {
				// An announcement names at most one more conversation, and
				// one log read may hold any number of joins: compact as
				// after a batch. (At set-up the watermark is fresh, and
				// the joined conversations not yet announced must not be
				// named.)
				if err := in.compactIfDue(ctx, s); err != nil {
					return err
				}
			}
			err = in.announce(ctx, s, c, open, is)
		case !c.join && !c.departure && open:
			in.useq = c.useq
			err = is.out.Read(c.channel, c.readSeq, in.cursor())
		}
		if err != nil {
			return err
		}
		in.useq = max(in.useq, c.useq)
	}
	in.useq = max(in.useq, log.Head)
	return nil
}

// announce tells the client it joined c's channel. A conversation already
// watched (at set-up, when the list read found it) starts at its end; any
// other is watched first, then read, so that no message is missed between.
func (in *inboxState) announce(ctx context.Context, s *Stream, c logChange, watched bool, is inboxSink) error {
	if !watched {
		if err := s.sub.Subscribe(c.channel); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		states, err := in.convs.ChannelStates(ctx, []domain.ChannelID{c.channel}, s.principal.UserID)
		if err != nil {
			return fmt.Errorf("read channel state: %w", err)
		}
		if len(states) == 0 || !states[0].IsMember {
			s.sub.Unsubscribe(c.channel)
			return nil // left again: the log says so next
		}
		s.channels.Set(c.channel, openChannel{number: states[0].Number, removals: states[0].Removals})
		s.order = append(s.order, c.channel)
	}
	views, err := in.convs.MemberViews(ctx, []domain.ChannelID{c.channel}, s.principal.UserID)
	if err != nil {
		return fmt.Errorf("read the conversation: %w", err)
	}
	if len(views) == 0 {
		return nil
	}
	view := views[0]
	n, _ := s.number(c.channel)
	s.cursor = s.cursor.With(n, view.LastSeq)
	prefix, err := in.msgs.PrefixAt(ctx, []domain.ChannelID{c.channel}, in.w)
	if err != nil {
		return fmt.Errorf("read prefixes: %w", err)
	}
	in.prefix[n] = prefix[c.channel]
	if err := in.delivered(n, view.LastSeq); err != nil {
		return err
	}
	in.useq = c.useq
	return is.out.ConversationAdded(view, in.cursor())
}

// open returns the channels the stream watches now.
func (s *Stream) open() []domain.ChannelID {
	out := make([]domain.ChannelID, 0, s.channels.Len())
	for _, ch := range s.order {
		if s.channels.Has(ch) {
			out = append(out, ch)
		}
	}
	return out
}

// inboxSink renders a Stream's calls as an inbox's: the channel cursor is
// replaced by the inbox cursor.
type inboxSink struct {
	in  *inboxState
	out InboxSink
}

func (k inboxSink) Message(m domain.Message, _ domain.Cursor) error {
	return k.out.Message(m, k.in.cursor())
}

func (k inboxSink) ChannelRemoved(ch domain.ChannelID, _ domain.Cursor) error {
	return k.out.ChannelRemoved(ch, k.in.cursor())
}

func (k inboxSink) TokenExpired() error { return k.out.TokenExpired() }
func (k inboxSink) Heartbeat() error    { return k.out.Heartbeat() }
func (k inboxSink) Flush() error        { return k.out.Flush() }
