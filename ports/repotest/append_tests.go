package repotest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

func appendTests() []contractTest {
	return []contractTest{
		{"Append assigns seq 1..N per channel", testAppendSeq},
		{"Append from concurrent senders gives every seq exactly once", testAppendConcurrent},
		{"Append to a missing conversation is not found", testAppendNotFound},
		{"Append by a non-member is not found and uses no seq", testAppendNonMember},
		{"Append by a service principal needs no membership", testAppendService},
		{"Append with a used client id is a conflict and uses no seq", testAppendDuplicateClientID},
		{"Append racing with one client id stores one message", testAppendClientIDRace},
		{"Append accepts one client id from different senders", testAppendClientIDPerSender},
		{"Append without a client id never conflicts", testAppendNoClientID},
		{"Append reports the removals committed before it", testAppendRemovals},
	}
}

func testAppendSeq(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice)

	var stored []domain.Message
	for i := range 5 {
		m := f.message(dm.Channel(), alice, fmt.Sprintf("héllo %d", i), f.newID("c"))
		m.PersonaID = "p_42"
		got := f.appendOK(t, m)
		want := m
		want.Seq, want.CreatedAt = int64(i+1), got.CreatedAt
		sameMessage(t, "Append", got, want)
		checkStoredTime(t, "Append", got.CreatedAt, m.CreatedAt)
		stored = append(stored, got)
	}
	// Another channel counts from 1 on its own.
	if got := f.appendOK(t, f.message(g.Channel(), alice, "first", "")); got.Seq != 1 {
		t.Fatalf("first message of another channel has seq %d; want 1", got.Seq)
	}

	if last := f.get(t, dm.Channel()).LastSeq; last != 5 {
		t.Fatalf("LastSeq = %d; want 5", last)
	}
	page, err := f.msgs.List(t.Context(), domain.HistoryQuery{Channel: dm.Channel(), Limit: 10})
	if err != nil || len(page) != len(stored) {
		t.Fatalf("List = %d messages, %v; want %d", len(page), err, len(stored))
	}
	for i := range stored {
		sameMessage(t, "List after Append", page[i], stored[i])
	}
}

func testAppendConcurrent(t *testing.T, f *fixture) {
	const senders, perSender = 5, 10
	users := make([]domain.UserID, senders)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("sender%d", i))
	}
	g := f.createGroup(t, "busy", users...)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []domain.Message
		errs []error
	)
	for _, u := range users {
		wg.Go(func() {
			for i := range perSender {
				m, _, err := f.msgs.Append(t.Context(), f.message(g.Channel(), u, fmt.Sprintf("%s #%03d", u, i), ""), ports.AppendOptions{})
				mu.Lock()
				got, errs = append(got, m), append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Append: %v", err)
	}

	all := seqs(got)
	slices.Sort(all)
	if want := seqRange(1, senders*perSender); !slices.Equal(all, want) {
		t.Fatalf("seqs = %v; want each of 1..%d exactly once", all, senders*perSender)
	}
	if last := f.get(t, g.Channel()).LastSeq; last != senders*perSender {
		t.Fatalf("LastSeq = %d; want %d", last, senders*perSender)
	}
	// Stored history matches what Append returned, and each sender's
	// messages, sent one after the other, got increasing seqs.
	page, err := f.msgs.List(t.Context(), domain.HistoryQuery{Channel: g.Channel(), Limit: senders * perSender})
	if err != nil || !slices.Equal(seqs(page), seqRange(1, senders*perSender)) {
		t.Fatalf("List = %v, %v; want seqs 1..%d", seqs(page), err, senders*perSender)
	}
	bySeq := make(map[int64]domain.Message, len(got))
	for _, m := range got {
		bySeq[m.Seq] = m
	}
	lastOf := make(map[domain.UserID]string)
	for _, m := range page {
		sameMessage(t, fmt.Sprintf("List()[seq %d]", m.Seq), m, bySeq[m.Seq])
		if prev, ok := lastOf[m.SenderID]; ok && m.Content < prev {
			t.Fatalf("%s's message %q has a higher seq than its later %q", m.SenderID, prev, m.Content)
		}
		lastOf[m.SenderID] = m.Content
	}
}

func testAppendNotFound(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	for _, ch := range []domain.ChannelID{
		domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)),
		domain.DMChannel(g.ID),
	} {
		_, _, err := f.msgs.Append(t.Context(), f.message(ch, alice, "hi", ""), ports.AppendOptions{})
		wantErr(t, "Append to "+ch.String(), err, domain.ErrNotFound)
	}
	if last := f.get(t, g.Channel()).LastSeq; last != 0 {
		t.Fatalf("LastSeq of the group = %d; want 0", last)
	}
}

func testAppendDuplicateClientID(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	other := f.createGroup(t, "other", alice)
	first := f.appendOK(t, f.message(g.Channel(), alice, "hi", "c-1"))

	// The key is per sender, whatever the channel.
	for _, ch := range []domain.ChannelID{g.Channel(), other.Channel()} {
		_, _, err := f.msgs.Append(t.Context(), f.message(ch, alice, "hi again", "c-1"), ports.AppendOptions{})
		wantErr(t, "Append(used client id) in "+ch.String(), err, domain.ErrConflict)
	}
	if next := f.appendOK(t, f.message(g.Channel(), alice, "next", "c-2")); next.Seq != 2 {
		t.Fatalf("the append after a conflict got seq %d; want 2 (no seq used by the conflict)", next.Seq)
	}
	if next := f.appendOK(t, f.message(other.Channel(), alice, "next", "")); next.Seq != 1 {
		t.Fatalf("the append after a conflict in another channel got seq %d; want 1", next.Seq)
	}
	found, err := f.msgs.FindByClientID(t.Context(), alice, "c-1")
	if err != nil {
		t.Fatalf("FindByClientID: %v", err)
	}
	sameMessage(t, "FindByClientID after the conflict", found, first)
}

func testAppendClientIDRace(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	const racers = 4
	var (
		wg   sync.WaitGroup
		got  [racers]domain.Message
		errs [racers]error
	)
	for i := range racers {
		m := f.message(g.Channel(), alice, "once", "c-race")
		wg.Go(func() { got[i], _, errs[i] = f.msgs.Append(t.Context(), m, ports.AppendOptions{}) })
	}
	wg.Wait()
	var stored []domain.Message
	for i, err := range errs {
		switch {
		case err == nil:
			stored = append(stored, got[i])
		case !errors.Is(err, domain.ErrConflict):
			t.Fatalf("Append #%d: %v; want success or a conflict", i, err)
		}
	}
	if len(stored) != 1 || stored[0].Seq != 1 {
		t.Fatalf("%d appends succeeded (%v); want exactly one, with seq 1", len(stored), seqs(stored))
	}
	page, err := f.msgs.List(t.Context(), domain.HistoryQuery{Channel: g.Channel(), Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("List = %v, %v; want one message", seqs(page), err)
	}
	sameMessage(t, "List after the race", page[0], stored[0])
	if last := f.get(t, g.Channel()).LastSeq; last != 1 {
		t.Fatalf("LastSeq = %d; want 1", last)
	}
}

func testAppendClientIDPerSender(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	a := f.appendOK(t, f.message(dm.Channel(), alice, "from alice", "c-1"))
	b := f.appendOK(t, f.message(dm.Channel(), bob, "from bob", "c-1"))
	if a.Seq != 1 || b.Seq != 2 {
		t.Fatalf("seqs = %d, %d; want 1, 2", a.Seq, b.Seq)
	}
	for _, want := range []domain.Message{a, b} {
		got, err := f.msgs.FindByClientID(t.Context(), want.SenderID, "c-1")
		if err != nil {
			t.Fatalf("FindByClientID(%s): %v", want.SenderID, err)
		}
		sameMessage(t, "FindByClientID", got, want)
	}
}

func testAppendNoClientID(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	f.appendN(t, g.Channel(), alice, 3)
	if last := f.get(t, g.Channel()).LastSeq; last != 3 {
		t.Fatalf("LastSeq = %d; want 3", last)
	}
	_, err := f.msgs.FindByClientID(t.Context(), alice, "")
	wantErr(t, "FindByClientID(empty id)", err, domain.ErrNotFound)
}

func testAppendNonMember(t *testing.T, f *fixture) {
	alice, bob, mallory := f.user("alice"), f.user("bob"), f.user("mallory")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice, bob)
	if removed, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); err != nil || !removed {
		t.Fatalf("RemoveMember(bob) = %v, %v; want removed", removed, err)
	}
	for _, tt := range []struct {
		ch     domain.ChannelID
		sender domain.UserID
	}{
		{g.Channel(), bob},      // removed
		{g.Channel(), mallory},  // never a member
		{dm.Channel(), mallory}, // not one of the pair
	} {
		_, _, err := f.msgs.Append(t.Context(), f.message(tt.ch, tt.sender, "let me in", f.newID("c")), ports.AppendOptions{})
		wantErr(t, fmt.Sprintf("Append by %s to %s", tt.sender, tt.ch), err, domain.ErrNotFound)
	}
	for _, ch := range []domain.ChannelID{g.Channel(), dm.Channel()} {
		if last := f.get(t, ch).LastSeq; last != 0 {
			t.Fatalf("LastSeq of %s = %d after refused appends; want 0", ch, last)
		}
		page, err := f.msgs.List(t.Context(), domain.HistoryQuery{Channel: ch, Limit: 10})
		if err != nil || len(page) != 0 {
			t.Fatalf("List(%s) = %v, %v; want no message", ch, seqs(page), err)
		}
	}
	// A member still appends, from seq 1: the refusals used none.
	if m := f.appendOK(t, f.message(g.Channel(), alice, "still here", "")); m.Seq != 1 {
		t.Fatalf("member's append after the refusals got seq %d; want 1", m.Seq)
	}
}

func testAppendService(t *testing.T, f *fixture) {
	alice, bob, svc := f.user("alice"), f.user("bob"), f.user("svc")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice)
	for _, ch := range []domain.ChannelID{g.Channel(), dm.Channel()} {
		m := f.message(ch, svc, "from the service", f.newID("c"))
		got, _, err := f.msgs.Append(t.Context(), m, ports.AppendOptions{Service: true})
		if err != nil || got.Seq != 1 || got.SenderID != svc {
			t.Fatalf("Append(service) to %s = seq %d by %s, %v; want seq 1 by %s", ch, got.Seq, got.SenderID, err, svc)
		}
	}
	// Still only into a conversation that exists.
	missing := domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix))
	_, _, err := f.msgs.Append(t.Context(), f.message(missing, svc, "hi", ""), ports.AppendOptions{Service: true})
	wantErr(t, "Append(service) to "+missing.String(), err, domain.ErrNotFound)
}

// testAppendRemovals checks the count of member removals Append returns:
// exactly those committed before the message, which is what lets a stream
// trust a message without asking the store whether its caller was removed.
func testAppendRemovals(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	g := f.createGroup(t, "team", alice, bob, carol)
	wantRemovals := func(want int64) {
		t.Helper()
		m, head, err := f.msgs.Append(t.Context(), f.message(g.Channel(), alice, "hi", ""), ports.AppendOptions{})
		if err != nil || head.Removals != want {
			t.Fatalf("Append = seq %d, %d removals, %v; want %d removals", m.Seq, head.Removals, err, want)
		}
		if head.Channel != g.Channel() || head.LastSeq != m.Seq {
			t.Fatalf("Append head = %+v; want channel %s at seq %d", head, g.Channel(), m.Seq)
		}
	}
	wantRemovals(0)
	for i, u := range []domain.UserID{bob, carol} {
		if removed, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), u); err != nil || !removed {
			t.Fatalf("RemoveMember(%s) = %v, %v; want removed", u, removed, err)
		}
		wantRemovals(int64(i + 1))
	}
	// Removing someone who is not a member changes nothing.
	if removed, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); err != nil || removed {
		t.Fatalf("RemoveMember(bob) again = %v, %v; want not removed", removed, err)
	}
	wantRemovals(2)
}
