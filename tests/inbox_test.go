package tests

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
)

// openInbox opens u's inbox stream, which must answer 200, and reads its
// preamble (retry, then ready with the starting cursor).
func (c *api) openInbox(t testing.TB, u user, lastEventID string) *stream {
	t.Helper()
	s := c.dial(t, "/api/sse/inbox", c.url+"/api/sse/inbox", ssetest.Options{Token: u.token, LastEventID: lastEventID})
	s.start()
	s.readPreamble(t)
	return s
}

// inboxEvent is one event of an inbox stream, as a test compares it.
type inboxEvent struct {
	kind    string // message, conversation_added, channel_removed, read
	channel string
	seq     int64 // the message's seq, the read position, the added conversation's lastSeq
	id      string
}

// nextInbox reads the next dispatched event of s (skipping heartbeats).
func nextInbox(t testing.TB, s *stream) inboxEvent {
	t.Helper()
	return parseInbox(t, s.nextEvent(t))
}

// parseInbox reads one dispatched event of an inbox stream.
func parseInbox(t testing.TB, ev ssetest.Event) inboxEvent {
	t.Helper()
	out := inboxEvent{kind: ev.Event, id: ev.ID}
	switch ev.Event {
	case "message":
		var m message
		mustUnmarshal(t, ev.Data, &m)
		out.channel, out.seq = m.Channel, m.Seq
	case "conversation_added":
		var c conversation
		mustUnmarshal(t, ev.Data, &c)
		out.channel, out.seq = c.channel(), c.LastSeq
	case "channel_removed":
		var d struct{ Channel string }
		mustUnmarshal(t, ev.Data, &d)
		out.channel = d.Channel
	case "read":
		var d struct {
			Channel string
			ReadSeq int64
		}
		mustUnmarshal(t, ev.Data, &d)
		out.channel, out.seq = d.Channel, d.ReadSeq
	default:
		t.Fatalf("inbox event %q: %q", ev.Event, ev.Raw)
	}
	if !ev.HasID || ev.ID == "" || len(ev.ID) > domain.MaxInboxCursorLength {
		t.Fatalf("inbox event %q has id %q (%d bytes); want one of at most %d", ev.Event, ev.ID, len(ev.ID), domain.MaxInboxCursorLength)
	}
	return out
}

// TestInboxResume: a user's inbox, dropped and resumed with its last id,
// gets exactly what happened meanwhile: the messages of its conversations
// after its position, a conversation_added for a group it was put in, a
// channel_removed for one it was removed from, its read position moved
// from another device; then live messages of all of them, with no message
// twice.
func TestInboxResume(t *testing.T) {
	t.Parallel()
	testInboxResume(t, startApp(t))
}

// TestSQLiteInboxResume is TestInboxResume on the SQLite store, whose
// watermark is a counter rather than PostgreSQL's xmin.
func TestSQLiteInboxResume(t *testing.T) {
	t.Parallel()
	testInboxResume(t, startSQLiteApp(t))
}

func testInboxResume(t *testing.T, a *testApp) {
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, bob.id)
	left := a.createGroup(t, alice, "to leave", bob.id)
	a.send(t, alice, dm, "m1")

	in := a.openInbox(t, bob, "")
	a.send(t, alice, dm, "m2")
	got := nextInbox(t, in)
	if got.kind != "message" || got.channel != dm.channel() || got.seq != 2 {
		t.Fatalf("live inbox event %+v, want message 2 of the DM", got)
	}
	last := got.id
	in.close()

	// While bob is away.
	a.send(t, alice, dm, "m3")
	a.send(t, alice, dm, "m4")
	joined := a.createGroup(t, alice, "new", bob.id)
	a.send(t, alice, joined, "g1")
	a.removeMember(t, alice, left, bob.id)
	expect(t, a.markRead(t, bob, dm, map[string]any{"seq": 3}), http.StatusNoContent, nil)

	in = a.openInbox(t, bob, last)
	var events []inboxEvent
	for range 5 { // m3, m4, the join, the removal, the read
		events = append(events, nextInbox(t, in))
	}
	want := []inboxEvent{
		{kind: "message", channel: dm.channel(), seq: 3},
		{kind: "message", channel: dm.channel(), seq: 4},
		{kind: "conversation_added", channel: joined.channel(), seq: 1},
		{kind: "channel_removed", channel: left.channel()},
		{kind: "read", channel: dm.channel(), seq: 3},
	}
	for i := range events {
		events[i].id = ""
	}
	if !slices.Equal(events, want) {
		t.Fatalf("after resuming, the inbox got %+v\nwant %+v", events, want)
	}
	// Live again, in the DM and in the group joined while away; nothing
	// of the group left.
	a.send(t, alice, left, "not for bob")
	a.send(t, alice, joined, "g2")
	a.send(t, alice, dm, "m5")
	for _, w := range []inboxEvent{{kind: "message", channel: joined.channel(), seq: 2}, {kind: "message", channel: dm.channel(), seq: 5}} {
		if got := nextInbox(t, in); got.kind != w.kind || got.channel != w.channel || got.seq != w.seq {
			t.Fatalf("live after resuming: %+v, want %+v", got, w)
		}
	}
}

// TestInboxCursorStaysSmall: a user in 1,000 conversations, every one with
// messages, gets inbox ids of at most 2048 bytes however many of them its
// messages come from, and resumes from the last one exactly.
func TestInboxCursorStaysSmall(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	svc, bob := newAdmin(t, "svc_builder"), newUser(t, "u_bob")
	const n = 1000
	convs := make([]conversation, n)
	for i := range convs {
		convs[i] = a.createGroup(t, svc, fmt.Sprintf("g%04d", i), bob.id)
		a.send(t, svc, convs[i], "hello")
	}
	in := a.openInbox(t, bob, "")
	if len(in.readyID) > domain.MaxInboxCursorLength {
		t.Fatalf("the ready id of a user in %d conversations is %d bytes", n, len(in.readyID))
	}
	// Messages in 300 different conversations, as fast as they come.
	longest, last := 0, ""
	for i := range 300 {
		a.send(t, svc, convs[i], "again")
	}
	// While other tests' transactions hold PostgreSQL's watermark back,
	// the stream may end with a retry rather than outgrow its id; a
	// client then resumes from its last id, and so does this test.
	got := map[string]bool{}
	for len(got) < 300 {
		select {
		case <-in.ended:
			in.close()
			in = a.openInbox(t, bob, last)
			continue
		default:
		}
		ev, ok := nextInboxOrEnd(t, in)
		if !ok {
			continue
		}
		if ev.kind != "message" || ev.seq != 2 || got[ev.channel] {
			t.Fatalf("inbox event %+v, want a second message of a new conversation", ev)
		}
		got[ev.channel] = true
		longest, last = max(longest, len(ev.id)), ev.id
	}
	t.Logf("user in %d conversations: ready id %d bytes, longest id over 300 conversations' messages %d bytes",
		n, len(in.readyID), longest)
	in.close()
	// Resumed from the last id: exactly the messages sent since.
	for i := 300; i < 310; i++ {
		a.send(t, svc, convs[i], "again")
	}
	in = a.openInbox(t, bob, last)
	seen := map[string]bool{}
	for range 10 {
		ev := nextInbox(t, in)
		if ev.kind != "message" || ev.seq != 2 || seen[ev.channel] {
			t.Fatalf("after resuming: %+v (seen %v), want each of the 10 new messages once", ev, seen)
		}
		seen[ev.channel] = true
	}
	a.send(t, svc, convs[0], "third")
	if ev := nextInbox(t, in); ev.channel != convs[0].channel() || ev.seq != 3 {
		t.Fatalf("next live event %+v, want message 3 of the first group (nothing replayed twice)", ev)
	}
}

// TestInboxLive: with the inbox open, a DM opened with the user and a
// group the user is put in appear at once (conversation_added) and their
// messages follow; a read on another device is told; a removal is told
// once.
func TestInboxLive(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	in := a.openInbox(t, bob, "")

	dm := a.createDM(t, alice, bob.id)
	if got := nextInbox(t, in); got.kind != "conversation_added" || got.channel != dm.channel() || got.seq != 0 {
		t.Fatalf("after alice opened a DM with bob: %+v, want conversation_added of the DM at seq 0", got)
	}
	a.send(t, alice, dm, "hi bob")
	if got := nextInbox(t, in); got.kind != "message" || got.channel != dm.channel() || got.seq != 1 {
		t.Fatalf("%+v, want message 1 of the DM", got)
	}
	g := a.createGroup(t, alice, "team")
	a.send(t, alice, g, "before bob")
	a.addMember(t, alice, g, bob.id)
	if got := nextInbox(t, in); got.kind != "conversation_added" || got.channel != g.channel() || got.seq != 1 {
		t.Fatalf("after bob was added: %+v, want conversation_added of the group at seq 1", got)
	}
	a.send(t, alice, g, "welcome")
	if got := nextInbox(t, in); got.kind != "message" || got.channel != g.channel() || got.seq != 2 {
		t.Fatalf("%+v, want message 2 of the group", got)
	}
	expect(t, a.markRead(t, bob, dm, map[string]any{"seq": 1}), http.StatusNoContent, nil)
	if got := nextInbox(t, in); got.kind != "read" || got.channel != dm.channel() || got.seq != 1 {
		t.Fatalf("after bob read the DM elsewhere: %+v, want read 1 of the DM", got)
	}
	a.removeMember(t, alice, g, bob.id)
	if got := nextInbox(t, in); got.kind != "channel_removed" || got.channel != g.channel() {
		t.Fatalf("after bob was removed: %+v, want channel_removed of the group", got)
	}
	a.send(t, alice, g, "without bob")
	a.send(t, alice, dm, "still here")
	if got := nextInbox(t, in); got.kind != "message" || got.channel != dm.channel() || got.seq != 2 {
		t.Fatalf("%+v, want message 2 of the DM (no second channel_removed, nothing of the group)", got)
	}
}

// nextInboxOrEnd is nextInbox that reports false, instead of failing,
// when the stream ends first.
func nextInboxOrEnd(t testing.TB, s *stream) (inboxEvent, bool) {
	t.Helper()
	for {
		select {
		case ev := <-s.blocks:
			if !ev.IsDispatched() {
				continue
			}
			return parseInbox(t, ev), true
		case <-s.ended:
			return inboxEvent{}, false
		case <-time.After(waitTimeout):
			t.Fatalf("no inbox event within %s", waitTimeout)
		}
	}
}

// TestInboxHeldBackWatermark: while a transaction that holds an xid stays
// open, PostgreSQL's stable watermark cannot move, so every conversation
// with a new message must be named in the id. Rather than hand out an id
// over its bound, the stream ends with a retry (counted in
// relay_inbox_held_back_total); once the transaction ends, resuming from
// the last id delivers the rest, each message once.
func TestInboxHeldBackWatermark(t *testing.T) {
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	a := startAppOn(t, dsn, nil)
	svc, bob := newAdmin(t, "svc_builder"), newUser(t, "u_bob")
	const n = domain.MaxInboxExceptions + 20
	convs := make([]conversation, n)
	for i := range convs {
		convs[i] = a.createGroup(t, svc, fmt.Sprintf("g%03d", i), bob.id)
	}
	in := a.openInbox(t, bob, "")

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	hold, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback() }()
	if _, err := hold.ExecContext(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		a.send(t, svc, c, "while held")
	}

	got, last := map[string]bool{}, ""
	collect := func(in *stream) (ended bool) {
		for len(got) < n {
			ev, ok := nextInboxOrEnd(t, in)
			if !ok {
				return true
			}
			if ev.kind != "message" || ev.seq != 1 || got[ev.channel] {
				t.Fatalf("inbox event %+v, want the first message of a conversation not seen yet", ev)
			}
			if len(ev.id) > domain.MaxInboxCursorLength {
				t.Fatalf("an id of %d bytes, over the bound of %d", len(ev.id), domain.MaxInboxCursorLength)
			}
			got[ev.channel], last = true, ev.id
		}
		return false
	}
	if !collect(in) {
		t.Fatalf("the stream delivered all %d messages while the watermark was held back: its id cannot name them", n)
	}
	if len(got) > domain.MaxInboxExceptions+1 {
		t.Fatalf("the stream delivered %d conversations' messages before it ended, want at most %d", len(got), domain.MaxInboxExceptions+1)
	}
	if v := a.metric(t, "relay_inbox_held_back_total"); v < 1 {
		t.Fatalf("relay_inbox_held_back_total = %v after the stream ended held back", v)
	}
	in.close()
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions may hold the watermark too: resume as a
	// client does, until every message came once.
	for len(got) < n {
		in = a.openInbox(t, bob, last)
		collect(in)
		in.close()
	}
}
