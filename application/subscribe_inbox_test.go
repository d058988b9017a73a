package application_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/golang/mock/gomock"

	"github.com/relaymsg/relay/application"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports/mocks"
)

// inboxSetUpStep is one port call of SubscribeInbox.Execute, expected on
// the mocks: answering normally, or failing with errBoom.
type inboxSetUpStep struct {
	name   string
	expect func(f *fixture, sub *mocks.MockSubscription, fail bool) *gomock.Call
}

// inboxSetUpSteps returns the calls Execute must make, in the order the
// README's Inbox algorithm gives, for alice's inbox of A (number 10, last
// seq 5) and B (number 20, last seq 3) with the watermark at 100: without
// a cursor (the log head is 7), or resuming from cursor.
func inboxSetUpSteps(cursor *domain.InboxCursor) []inboxSetUpStep {
	user := alice.UserID
	states := defaultStates()
	ab := []domain.ChannelID{chA, chB}
	err := func(fail bool) error {
		if fail {
			return errBoom
		}
		return nil
	}
	useq := int64(7)
	if cursor != nil {
		useq = cursor.UserSeq
	}
	steps := []inboxSetUpStep{
		{"subscribe the user channel", func(f *fixture, sub *mocks.MockSubscription, fail bool) *gomock.Call {
			c := f.notifier.EXPECT().Subscribe(liveContext(), []domain.ChannelID{domain.UserChannel(user)})
			if fail {
				return c.Return(nil, errBoom)
			}
			return c.Return(sub, nil)
		}},
	}
	if cursor == nil {
		steps = append(steps, inboxSetUpStep{"read the log head", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
			return f.convs.EXPECT().UserHead(liveContext(), user).Return(int64(7), err(fail))
		}})
	}
	steps = append(steps,
		inboxSetUpStep{"list the member channels", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
			if fail {
				return f.convs.EXPECT().MemberChannels(liveContext(), user).Return(nil, errBoom)
			}
			return f.convs.EXPECT().MemberChannels(liveContext(), user).Return(states, nil)
		}},
		inboxSetUpStep{"subscribe the member channels", func(_ *fixture, sub *mocks.MockSubscription, fail bool) *gomock.Call {
			return sub.EXPECT().Subscribe(chA, chB).Return(err(fail))
		}},
		inboxSetUpStep{"read the watermark", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
			return f.msgs.EXPECT().StableWatermark(liveContext()).Return(int64(100), err(fail))
		}},
		inboxSetUpStep{"read the channel states", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
			if fail {
				return f.convs.EXPECT().ChannelStates(liveContext(), ab, user).Return(nil, errBoom)
			}
			return f.convs.EXPECT().ChannelStates(liveContext(), ab, user).Return(states, nil)
		}},
		inboxSetUpStep{"read the user log", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
			if fail {
				return f.convs.EXPECT().UserLog(liveContext(), user, useq).Return(domain.UserLog{}, errBoom)
			}
			return f.convs.EXPECT().UserLog(liveContext(), user, useq).Return(domain.UserLog{Head: useq}, nil)
		}},
	)
	// The positions are described at the fresh watermark, or at the
	// cursor's when resuming.
	at, prefix := int64(100), map[domain.ChannelID]int64{chA: 5, chB: 3}
	if cursor != nil {
		at, prefix = cursor.Watermark, map[domain.ChannelID]int64{chA: 4, chB: 3}
	}
	steps = append(steps, inboxSetUpStep{"read the prefixes", func(f *fixture, _ *mocks.MockSubscription, fail bool) *gomock.Call {
		if fail {
			return f.msgs.EXPECT().PrefixAt(liveContext(), ab, at).Return(nil, errBoom)
		}
		return f.msgs.EXPECT().PrefixAt(liveContext(), ab, at).Return(prefix, nil)
	}})
	return steps
}

// TestSubscribeInboxSetUpOrder checks, on mocks of every port, that
// Execute makes exactly the calls of the README's algorithm in its order:
// the user channel is subscribed before the log head is read (so that no
// later change of the log goes unrung), the member channels are
// subscribed before the watermark is read and the watermark before their
// states (every message keyed below it is then at or before the last seq
// read), and the log is read last. gomock fails on a call out of order,
// a missing one, or any other.
func TestSubscribeInboxSetUpOrder(t *testing.T) {
	t.Parallel()
	resume := &domain.InboxCursor{UserSeq: 4, Watermark: 90, Except: *cursorOf(domain.Position{Number: 10, Seq: 2})}
	tests := []struct {
		name      string
		cursor    *domain.InboxCursor
		wantStart string
	}{
		{name: "fresh", wantStart: domain.InboxCursor{UserSeq: 7, Watermark: 100}.String()},
		// A at 2 is behind its prefix (4) at W=90 and stays named; B is at
		// its prefix.
		{name: "resume", cursor: resume, wantStart: resume.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			sub := mocks.NewMockSubscription(gomock.NewController(t))
			var calls []*gomock.Call
			for _, s := range inboxSetUpSteps(tt.cursor) {
				calls = append(calls, s.expect(f, sub, false))
			}
			gomock.InOrder(calls...)
			sub.EXPECT().Close() // by the test, once

			uc := application.NewSubscribeInbox(f.convs, f.msgs, f.notifier, 0, f.logger)
			in, err := uc.Execute(t.Context(), application.InboxQuery{Principal: alice, Cursor: tt.cursor})
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			defer in.Close()
			if got := in.Start().String(); got != tt.wantStart {
				t.Errorf("Start() = %q, want %q", got, tt.wantStart)
			}
			if got := in.Conversations(); got != 2 {
				t.Errorf("Conversations() = %d, want 2", got)
			}
		})
	}
}

// TestSubscribeInboxSetUpFails makes each port call of the set-up fail in
// turn: Execute returns that error, returns no stream (so nothing can be
// delivered from a half-done set-up), makes no call after the failed one,
// and closes the subscription it opened exactly once.
func TestSubscribeInboxSetUpFails(t *testing.T) {
	t.Parallel()
	resume := &domain.InboxCursor{UserSeq: 4, Watermark: 90}
	for _, cursor := range []*domain.InboxCursor{nil, resume} {
		steps := inboxSetUpSteps(cursor)
		for k, failing := range steps {
			name := fmt.Sprintf("fresh/%s fails", failing.name)
			if cursor != nil {
				name = fmt.Sprintf("resume/%s fails", failing.name)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				sub := mocks.NewMockSubscription(gomock.NewController(t))
				var calls []*gomock.Call
				for _, s := range steps[:k] {
					calls = append(calls, s.expect(f, sub, false))
				}
				calls = append(calls, failing.expect(f, sub, true))
				if k > 0 {
					// Closed once the set-up failed, not before.
					calls = append(calls, sub.EXPECT().Close().Times(1))
				}
				gomock.InOrder(calls...)

				uc := application.NewSubscribeInbox(f.convs, f.msgs, f.notifier, 0, f.logger)
				in, err := uc.Execute(t.Context(), application.InboxQuery{Principal: alice, Cursor: cursor})
				checkErr(t, err, errBoom)
				if in != nil {
					t.Fatal("Execute returned a stream with an error")
				}
			})
		}
	}
}

// TestSubscribeInboxForbidden checks that a user may not open another
// user's inbox, and that nothing is read or subscribed then.
func TestSubscribeInboxForbidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // no call expected
	uc := application.NewSubscribeInbox(f.convs, f.msgs, f.notifier, 0, f.logger)
	in, err := uc.Execute(t.Context(), application.InboxQuery{Principal: alice, User: "u_bob"})
	checkErr(t, err, domain.ErrForbidden)
	if in != nil {
		t.Fatal("Execute returned a stream with an error")
	}
}

// inboxRun is one inbox stream over an inboxWorld, run on the test
// goroutine.
type inboxRun struct {
	t      *testing.T
	inbox  *application.Inbox
	sink   *inboxRecorder
	ctx    context.Context
	cancel context.CancelFunc
}

func openInbox(t *testing.T, w *inboxWorld, cursor *domain.InboxCursor) (*inboxRun, error) {
	t.Helper()
	uc := application.NewSubscribeInbox(w, w, w, 0, newFixture(t).logger)
	in, err := uc.Execute(t.Context(), application.InboxQuery{Principal: alice, Cursor: cursor})
	if err != nil {
		return nil, err
	}
	t.Cleanup(in.Close)
	r := &inboxRun{t: t, inbox: in, sink: &inboxRecorder{t: t}}
	r.ctx, r.cancel = context.WithTimeout(t.Context(), stalledAfter)
	t.Cleanup(r.cancel)
	return r, nil
}

func (r *inboxRun) run() error {
	r.t.Helper()
	err := r.inbox.Run(r.ctx, r.sink)
	if errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
		r.t.Fatalf("the stream stalled; log so far: %q", r.sink.log)
	}
	return err
}

// replayFrom opens a stream resuming from cursor and returns what its
// replay delivers (up to its first flush).
func replayFrom(t *testing.T, w *inboxWorld, cursor domain.InboxCursor) []string {
	t.Helper()
	r, err := openInbox(t, w, &cursor)
	if err != nil {
		t.Fatalf("resume from %s: Execute: %v", renderInbox(cursor), err)
	}
	r.sink.steps = []func(){r.cancel}
	if err := r.run(); err != nil {
		t.Fatalf("resume from %s: Run: %v", renderInbox(cursor), err)
	}
	return r.sink.delivered()
}

// checkResumes resumes from each cursor the stream emitted from entry
// from on (cursors[i] is the one of log[i]), and checks that the replay
// delivers, per conversation, exactly the messages log has after entry i:
// none of them twice, none lost, and nothing else.
func checkResumes(t *testing.T, w *inboxWorld, log []string, cursors []domain.InboxCursor, from int) {
	t.Helper()
	for i := from; i < len(log); i++ {
		got := replayFrom(t, w, cursors[i])
		want := perChannel(log[i+1:])
		if !maps.EqualFunc(perChannel(got), want, slices.Equal) || len(got) != len(slices.Concat(slices.Collect(maps.Values(want))...)) {
			t.Errorf("resumed from the cursor of %s (%s): replay delivered %q, want the messages %q", log[i], renderInbox(cursors[i]), got, want)
		}
	}
}

// behindPrefixWorld is the world of TestInboxResumeBehindPrefix and the
// cursor it resumes from: A behind its prefix at the cursor's watermark,
// B ahead of its own, C at it.
func behindPrefixWorld(t *testing.T) (*inboxWorld, domain.InboxCursor) {
	w := newInboxWorld(t)
	w.conversation(chA, 10, true)
	w.conversation(chB, 20, true)
	w.conversation(chC, 30, true)
	// Keys: A1-3 = 1-3, B1-2 = 4-5, C1 = 6, A4-5 = 7-8, B3 = 9, C2-3 = 10-11.
	w.post(chA, 3)
	w.post(chB, 2)
	w.post(chC, 1)
	w.post(chA, 2)
	w.post(chB, 1)
	w.post(chC, 2)
	// A transaction holds the watermark at 12; C4 (key 13) commits
	// above it, and A6 (key 14) right after the stream reads W0 = 12.
	w.holdWatermark()
	w.post(chC, 1)
	w.on("StableWatermark", func() { w.post(chA, 1) })

	// At W = 7 the prefixes are A:3, B:2, C:1. The client had A up to 1
	// only, and B up to 3 (B3 came live).
	return w, domain.InboxCursor{Watermark: 7,
		Except: *cursorOf(domain.Position{Number: 10, Seq: 1}, domain.Position{Number: 20, Seq: 3})}
}

// TestInboxResumeBehindPrefix resumes from a cursor in which A's position
// is behind its prefix at the cursor's watermark (named in Except, as a
// compaction leaves a conversation whose messages were not all delivered
// yet) and B's ahead of its own; C is at its prefix. The replay must
// catch A up to its prefix before the key-order replay moves the
// watermark past it, then deliver what was keyed in [W, W0) in key order,
// then what was committed after W0: every missed message once, in seq
// order per conversation, with a cursor that resumes exactly.
func TestInboxResumeBehindPrefix(t *testing.T) {
	t.Parallel()
	w, start := behindPrefixWorld(t)
	r, err := openInbox(t, w, &start)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if got := r.inbox.Start(); got.String() != start.String() {
		t.Errorf("Start() = %s, want the cursor resumed from, %s", renderInbox(got), renderInbox(start))
	}
	r.sink.steps = []func(){r.cancel}
	if err := r.run(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	wantLog := []string{"A2", "A3", "A4", "A5", "C2", "C3", "A6", "C4"}
	if got := r.sink.delivered(); !slices.Equal(got, wantLog) {
		t.Fatalf("delivered %q, want %q", got, wantLog)
	}
	ic := func(w int64, except ...domain.Position) string {
		return domain.InboxCursor{Watermark: w, Except: *cursorOf(except...)}.String()
	}
	a, b, c := func(seq int64) domain.Position { return domain.Position{Number: 10, Seq: seq} },
		func(seq int64) domain.Position { return domain.Position{Number: 20, Seq: seq} },
		func(seq int64) domain.Position { return domain.Position{Number: 30, Seq: seq} }
	wantCursors := []string{
		ic(7, a(2), b(3)), // A2: still behind its prefix
		ic(7, b(3)),       // A3: at its prefix again
		ic(8, b(3)),       // A4 (key 7)
		ic(9, b(3)),       // A5 (key 8); then B3 (key 9) moves the watermark to 10 and B to its prefix
		ic(11),            // C2 (key 10)
		ic(12),            // C3 (key 11): W0
		ic(12, a(6)),      // A6, above W0
		ic(12, a(6), c(4)),
	}
	for i, want := range wantCursors {
		if got := r.sink.cursors[i].String(); got != want {
			t.Errorf("cursor of %s = %s, want %s", wantLog[i], renderInbox(r.sink.cursors[i]), renderInbox(mustParseInbox(t, want)))
		}
	}
	checkResumes(t, w, r.sink.delivered(), r.sink.cursors, 0)
	// The cursor resumed from gives the same replay again.
	if got := replayFrom(t, w, start); !slices.Equal(got, wantLog) {
		t.Errorf("resumed again from the same cursor: %q, want %q", got, wantLog)
	}
}

func mustParseInbox(t *testing.T, s string) domain.InboxCursor {
	t.Helper()
	c, err := domain.ParseInboxCursor(s)
	if err != nil {
		t.Fatalf("ParseInboxCursor(%q): %v", s, err)
	}
	return c
}

// renderInbox renders an inbox cursor as "U0 W7 {A:2 B:3}".
func renderInbox(c domain.InboxCursor) string {
	parts := make([]string, 0, c.Except.Len())
	for _, p := range c.Except.Positions() {
		name, ok := numberNames[p.Number]
		if !ok {
			name = fmt.Sprint(p.Number)
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, p.Seq))
	}
	return fmt.Sprintf("U%d W%d {%s}", c.UserSeq, c.Watermark, strings.Join(parts, " "))
}

// manyGroups makes n groups, numbered from 101, of which the user is a
// member when member is true, each with one message (keys 1..n).
func manyGroups(w *inboxWorld, n int, member bool) []domain.ChannelID {
	chs := make([]domain.ChannelID, n)
	for i := range chs {
		chs[i] = domain.GroupChannel(domain.ConversationID(fmt.Sprintf("g%03d", i+1)))
		w.conversation(chs[i], int64(101+i), member)
		w.post(chs[i], 1)
	}
	return chs
}

// TestInboxBehind gets a live message in each of 130 conversations while
// a long transaction holds the store's watermark back, so that no
// compaction can shorten the cursor: the stream must end with
// ErrInboxBehind once a 129th conversation would have to be named, after
// delivering the 128 it could, every cursor within the bound; and its last
// cursor must resume, once the watermark moves on, with exactly the two
// messages it had not delivered. With the watermark free, the same
// traffic is compacted and delivered whole.
func TestInboxBehind(t *testing.T) {
	t.Parallel()
	const n = domain.MaxInboxExceptions + 2
	for _, held := range []bool{true, false} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			t.Parallel()
			w := newInboxWorld(t)
			chs := manyGroups(w, n, true)
			r, err := openInbox(t, w, nil)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if held {
				w.holdWatermark()
			}
			r.sink.steps = []func(){func() {
				for _, ch := range chs {
					w.post(ch, 1)
				}
			}}
			r.sink.stop, r.sink.stopAt = r.cancel, n
			err = r.run()
			log := r.sink.delivered()
			if !held {
				if err != nil || len(log) != n {
					t.Fatalf("Run = %v after %d messages, want the %d delivered", err, len(log), n)
				}
				// A compaction moved the watermark on.
				if last := r.sink.cursors[n-1]; last.Watermark <= r.inbox.Start().Watermark {
					t.Fatalf("last cursor %s: the watermark never moved on from %d", renderInbox(last), r.inbox.Start().Watermark)
				}
				return
			}
			checkErr(t, err, application.ErrInboxBehind)
			// Not for want of trying: the stream read the watermark again
			// (a compaction) after its set-up.
			if tries := countOf(w.callLog(), "StableWatermark"); tries < 2 {
				t.Fatalf("the watermark was read %d times: no compaction was tried", tries)
			}
			if len(log) != domain.MaxInboxExceptions {
				t.Fatalf("delivered %d messages before ending, want %d", len(log), domain.MaxInboxExceptions)
			}
			last := r.sink.cursors[len(log)-1]
			if last.Except.Len() != domain.MaxInboxExceptions {
				t.Fatalf("the last cursor names %d conversations, want %d", last.Except.Len(), domain.MaxInboxExceptions)
			}
			// Resuming while the watermark is still held back cannot go on
			// either; it delivers nothing rather than outgrow the bound.
			rr, err := openInbox(t, w, &last)
			if err == nil {
				rr.sink.steps = []func(){rr.cancel}
				err = rr.run()
				if got := rr.sink.delivered(); len(got) != 0 {
					t.Errorf("resumed while held: delivered %q", got)
				}
			}
			checkErr(t, err, application.ErrInboxBehind)

			w.mu.Lock()
			clear(w.openTx) // the long transaction ends
			w.mu.Unlock()
			got := replayFrom(t, w, last)
			want := []string{messageEntry(chs[n-2], 2), messageEntry(chs[n-1], 2)}
			if !slices.Equal(got, want) {
				t.Fatalf("resumed from the last cursor: %q, want %q", got, want)
			}
		})
	}
}

func countOf(calls []string, method string) int {
	n := 0
	for _, c := range calls {
		if c == method {
			n++
		}
	}
	return n
}

// TestInboxJoinRacesSetUp makes the user join B (and B get a message) right
// after each read of the set-up in turn, so that the join's MemberJoined
// rings on the user channel while the stream is being set up, and B gets
// another message just after the stream reads the user's view of it. B
// must be announced exactly once, by the log read or by the doorbell,
// whichever sees it first (a duplicate doorbell is pushed too), and its
// messages after the announced lastSeq follow once each, in order; every
// cursor from the announcement on resumes exactly.
func TestInboxJoinRacesSetUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after string // the set-up call after which the join commits
		want  []string
	}{
		// The list read finds B: it is watched from the set-up on, and the
		// log read announces it.
		{after: "UserHead", want: []string{"added B@4", "B5", "B6", "A3"}},
		// The list read misses B; the log read (after the join) holds it:
		// B is subscribed, then read, then announced.
		{after: "MemberChannels", want: []string{"added B@4", "B5", "B6", "A3"}},
		{after: "sub.Subscribe", want: []string{"added B@4", "B5", "B6", "A3"}},
		{after: "StableWatermark", want: []string{"added B@4", "B5", "B6", "A3"}},
		{after: "ChannelStates", want: []string{"added B@4", "B5", "B6", "A3"}},
		// The log read misses the join too: the doorbell queued since the
		// user channel was subscribed announces it live. B5, committed
		// before B was subscribed (its notification reached no one), is
		// part of the view announced; B6, committed after the view was
		// read, follows.
		{after: "UserLog", want: []string{"added B@5", "A3", "B6"}},
	}
	for _, tt := range tests {
		t.Run("join after "+tt.after, func(t *testing.T) {
			t.Parallel()
			w := newInboxWorld(t)
			w.conversation(chA, 10, true)
			w.conversation(chB, 20, false)
			w.post(chA, 2)
			w.post(chB, 3)
			w.on(tt.after, func() {
				w.join(chB)
				w.post(chB, 1)
			})
			w.on("MemberViews", func() { w.post(chB, 1) })

			r, err := openInbox(t, w, nil)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			r.sink.steps = []func(){func() {
				w.publish(domain.MemberJoinedEvent(w.user, chB, 1)) // a duplicate doorbell
				w.post(chB, 1)
				w.post(chA, 1)
			}}
			// Stop at the end of the batch that completes the expected log,
			// so that a second announcement or a duplicate in it shows.
			r.sink.afterFlush = func() {
				if len(r.sink.log) >= len(tt.want) {
					r.cancel()
				}
			}
			if err := r.run(); err != nil {
				t.Fatalf("Run: %v", err)
			}

			got := r.sink.delivered()
			if !slices.Equal(got, tt.want) {
				t.Fatalf("delivered %q, want %q", got, tt.want)
			}
			added := slices.Index(got, tt.want[0])
			if c := r.sink.cursors[added]; c.UserSeq != 1 {
				t.Errorf("the announcement's cursor %s, want U1", renderInbox(c))
			}
			checkResumes(t, w, got, r.sink.cursors, added)
		})
	}
}

// TestInboxResumeAfterManyJoins resumes a client whose user joined more
// conversations than a cursor may name while it was away, each with a
// message since: every one is announced once, from its end, and the
// stream goes on. Nothing holds the watermark back, so ErrInboxBehind
// would be wrong here, and a retry from the same cursor would fail the
// same way forever.
func TestInboxResumeAfterManyJoins(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	w.conversation(chA, 10, true)
	w.post(chA, 2)
	wm, _ := w.StableWatermark(t.Context())
	cursor := domain.InboxCursor{UserSeq: 0, Watermark: wm}
	const n = domain.MaxInboxExceptions + 2
	chs := manyGroups(w, n, false)
	for _, ch := range chs {
		w.join(ch)
		w.post(ch, 1)
	}

	r, err := openInbox(t, w, &cursor)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	r.sink.steps = []func(){r.cancel}
	if err := r.run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var want []string
	for _, ch := range chs {
		want = append(want, fmt.Sprintf("added %s@2", ch.ID))
	}
	if got := r.sink.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if last := r.sink.cursors[n-1]; last.UserSeq != n || last.Except.Len() != 0 {
		t.Errorf("last cursor %s, want U%d and no exception", renderInbox(last), n)
	}
	// A cursor from the middle announces the rest, once each.
	if got := replayFrom(t, w, r.sink.cursors[n/2]); !slices.Equal(got, want[n/2+1:]) {
		t.Errorf("resumed from the cursor of %s: %q, want %q", want[n/2], got, want[n/2+1:])
	}
}

// checkExactlyOnce checks a client's whole log across streams: each
// conversation's messages follow its start position (or the lastSeq its
// announcement gave) one by one, none twice, none skipped, up to the
// store's last message; a conversation is announced at most once, and
// only if it did not have a start position.
func checkExactlyOnce(t *testing.T, w *inboxWorld, start map[domain.ChannelID]int64, entries []string) {
	t.Helper()
	next := map[string]int64{}
	for ch, seq := range start {
		next[inboxName(ch)] = seq + 1
	}
	for _, e := range entries {
		var name string
		var seq int64
		if _, err := fmt.Sscanf(e, "added %s", &name); err == nil {
			n, l, _ := strings.Cut(name, "@")
			if _, known := next[n]; known {
				t.Errorf("%q: announced, but the client had it already: %q", e, entries)
			}
			fmt.Sscan(l, &seq)
			next[n] = seq + 1
			continue
		}
		name, num, found := strings.Cut(e, "#")
		if !found {
			name, num = e[:1], e[1:]
		}
		fmt.Sscan(num, &seq)
		if want, known := next[name]; !known || seq != want {
			t.Errorf("%q: want %s%d next (known %v) in %q", e, name, want, known, entries)
		}
		next[name] = seq + 1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.convs {
		if c.member && next[inboxName(c.ch)]-1 != w.lastSeq(c.ch) {
			t.Errorf("%s delivered up to %d, want its last message, %d: %q", inboxName(c.ch), next[inboxName(c.ch)]-1, w.lastSeq(c.ch), entries)
		}
	}
}

// TestInboxRunFails makes a store read or a subscription the running
// stream needs fail, at each point where one is made: Run must end with
// that error, and what it delivered until then must be whole, each event
// with a cursor that includes it and nothing more, so that the client,
// resuming from the last cursor it got, gets every message once.
func TestInboxRunFails(t *testing.T) {
	t.Parallel()
	type world func(t *testing.T) (*inboxWorld, *domain.InboxCursor, map[domain.ChannelID]int64)
	behind := func(t *testing.T) (*inboxWorld, *domain.InboxCursor, map[domain.ChannelID]int64) {
		w, c := behindPrefixWorld(t)
		return w, &c, map[domain.ChannelID]int64{chA: 1, chB: 3, chC: 1}
	}
	// joinAfter: alice is in A (2 messages) and joins B (3 then 4) right
	// after the set-up's call named; B gets a 5th after its view is read,
	// and once the replay is over each gets one more.
	joinAfter := func(method string) world {
		return func(t *testing.T) (*inboxWorld, *domain.InboxCursor, map[domain.ChannelID]int64) {
			w := newInboxWorld(t)
			w.conversation(chA, 10, true)
			w.conversation(chB, 20, false)
			w.post(chA, 2)
			w.post(chB, 3)
			w.on(method, func() {
				w.join(chB)
				w.post(chB, 1)
			})
			w.on("MemberViews", func() { w.post(chB, 1) })
			return w, nil, map[domain.ChannelID]int64{chA: 2}
		}
	}
	tests := []struct {
		name   string
		world  world
		method string
		pass   int // calls of method that succeed first
	}{
		{"behind: the catch-up to the prefix", behind, "List", 0},
		{"behind: the key-order replay", behind, "ListByKey", 0},
		{"behind: the catch-up past W0", behind, "List", 1},
		{"join: subscribing the joined conversation", joinAfter("MemberChannels"), "sub.Subscribe", 1},
		{"join: its access", joinAfter("MemberChannels"), "ChannelStates", 1},
		{"join: its view", joinAfter("MemberChannels"), "MemberViews", 0},
		{"join: its prefix", joinAfter("MemberChannels"), "PrefixAt", 1},
		{"join: the live log read", joinAfter("UserLog"), "UserLog", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, cursor, start := tt.world(t)
			w.failAfter(tt.method, tt.pass, errBoom)
			r, err := openInbox(t, w, cursor)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			r.sink.steps = []func(){func() {
				w.post(chA, 1)
				w.post(chB, 1)
			}}
			err = r.run()
			checkErr(t, err, errBoom)
			r.inbox.Close()

			w.failAfter(tt.method, 0, nil)
			w.mu.Lock()
			clear(w.after) // the races were the first stream's
			w.mu.Unlock()
			log := r.sink.delivered()
			last := r.inbox.Start()
			if len(log) > 0 {
				last = r.sink.cursors[len(log)-1]
			}
			checkExactlyOnce(t, w, start, append(log, replayFrom(t, w, last)...))
		})
	}
}

// TestInboxGapFillsStayWithinTheBound loses the notifications of a
// message in each of 130 conversations; the notifier's head events then
// tell where each stands, and once gapWait passes the stream reads them
// all from the store. Nothing holds the watermark back, so compactions
// must keep the cursor short all along: the stream delivers the 130
// messages and goes on, rather than end with ErrInboxBehind as if the
// watermark were held.
func TestInboxGapFillsStayWithinTheBound(t *testing.T) {
	t.Parallel()
	const n = domain.MaxInboxExceptions + 2
	w := newInboxWorld(t)
	chs := manyGroups(w, n, true)
	r, err := openInbox(t, w, nil)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	r.sink.steps = []func(){func() {
		for _, ch := range chs {
			w.commit(ch)
		}
		for _, ch := range chs {
			w.publish(domain.HeadEvent(domain.ChannelState{Channel: ch, LastSeq: 2}))
		}
	}}
	r.sink.stop, r.sink.stopAt = r.cancel, n
	if err := r.run(); err != nil {
		t.Fatalf("Run = %v after %d of the %d messages", err, len(r.sink.log), n)
	}
	checkExactlyOnce(t, w, startPositions(chs, 1), r.sink.delivered())
}

// startPositions maps each of chs to seq.
func startPositions(chs []domain.ChannelID, seq int64) map[domain.ChannelID]int64 {
	out := make(map[domain.ChannelID]int64, len(chs))
	for _, ch := range chs {
		out[ch] = seq
	}
	return out
}

// TestInboxLiveJoinBurstStaysWithinTheBound has the user join 130
// conversations, each with a message since the stream's watermark, while
// the stream runs: the first doorbell's log read finds them all. Nothing
// holds the watermark back, so the stream must announce all 130 and go
// on, rather than end with ErrInboxBehind.
func TestInboxLiveJoinBurstStaysWithinTheBound(t *testing.T) {
	t.Parallel()
	const n = domain.MaxInboxExceptions + 2
	w := newInboxWorld(t)
	w.conversation(chA, 10, true)
	w.post(chA, 1)
	chs := manyGroups(w, n, false)
	r, err := openInbox(t, w, nil)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	r.sink.steps = []func(){func() {
		for _, ch := range chs {
			w.join(ch)
			w.post(ch, 1)
		}
	}}
	r.sink.stop, r.sink.stopAt = r.cancel, n
	if err := r.run(); err != nil {
		t.Fatalf("Run = %v after %d of the %d announcements", err, len(r.sink.log), n)
	}
	var want []string
	for _, ch := range chs {
		want = append(want, fmt.Sprintf("added %s@2", ch.ID))
	}
	if got := r.sink.delivered(); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}
