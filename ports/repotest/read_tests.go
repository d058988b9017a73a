package repotest

import (
	"sync"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func readTests() []contractTest {
	return []contractTest{
		{"MarkRead clamps to the last seq and never moves backwards", testMarkRead},
		{"MarkRead of a non-member or a missing conversation is not found", testMarkReadNotFound},
		{"MarkRead under concurrency ends at the highest seq", testMarkReadConcurrent},
		{"ListForMember counts the unread messages of others after ReadSeq", testUnreadCount},
	}
}

// markRead calls MarkRead and fails the test unless it answers want.
func (f *fixture) markRead(t *testing.T, ch domain.ChannelID, user domain.UserID, seq, wantSeq int64, wantMoved bool) {
	t.Helper()
	got, moved, useq, err := f.convs.MarkRead(t.Context(), ch, user, seq)
	if err != nil || got != wantSeq || moved != wantMoved {
		t.Fatalf("MarkRead(%s, %s, %d) = %d, moved %v, %v; want %d, moved %v, nil",
			ch, user, seq, got, moved, err, wantSeq, wantMoved)
	}
	switch {
	case moved:
		f.wantUseq(t, "MarkRead", user, useq)
	case useq != 0:
		t.Fatalf("MarkRead(%s, %s, %d) moved nothing but returned useq %d; want 0", ch, user, seq, useq)
	}
}

// view returns user's view of the conversation id, from the first page of
// ListForMember.
func (f *fixture) view(t *testing.T, user domain.UserID, id domain.ConversationID) domain.Conversation {
	t.Helper()
	convs, err := f.listFirst(t, user)
	if err != nil {
		t.Fatalf("ListForMember(%s): %v", user, err)
	}
	for _, c := range convs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("ListForMember(%s) lacks %s", user, id)
	return domain.Conversation{}
}

func testMarkRead(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	ch := dm.Channel()

	f.markRead(t, ch, alice, 0, 0, false) // nothing to read yet
	f.markRead(t, ch, alice, 5, 0, false) // clamped to last seq 0
	f.appendN(t, ch, bob, 4)
	f.markRead(t, ch, alice, 2, 2, true)
	f.markRead(t, ch, alice, 2, 2, false) // the same again
	f.markRead(t, ch, alice, 1, 2, false) // lower: accepted, no change
	f.markRead(t, ch, alice, 0, 2, false)
	f.markRead(t, ch, alice, 1<<62, 4, true) // past the end: clamped
	f.markRead(t, ch, alice, 1<<62, 4, false)
	// Each member has a position of their own.
	f.markRead(t, ch, bob, 3, 3, true)
	if got := f.view(t, alice, dm.ID).ReadSeq; got != 4 {
		t.Errorf("alice's ReadSeq = %d; want 4", got)
	}
	if got := f.view(t, bob, dm.ID).ReadSeq; got != 3 {
		t.Errorf("bob's ReadSeq = %d; want 3", got)
	}
}

func testMarkReadNotFound(t *testing.T, f *fixture) {
	alice, bob, mallory := f.user("alice"), f.user("bob"), f.user("mallory")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice, bob)
	f.appendN(t, g.Channel(), alice, 2)
	if _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	tests := []struct {
		name    string
		channel domain.ChannelID
		user    domain.UserID
	}{
		{"not a member", dm.Channel(), mallory},
		{"removed member", g.Channel(), bob},
		{"wrong kind", domain.DMChannel(g.ID), alice},
		{"missing conversation", domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)), alice},
	}
	for _, tt := range tests {
		_, moved, _, err := f.convs.MarkRead(t.Context(), tt.channel, tt.user, 1)
		wantErr(t, tt.name, err, domain.ErrNotFound)
		if moved {
			t.Errorf("%s: moved = true", tt.name)
		}
	}
}

func testMarkReadConcurrent(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	g := f.createGroup(t, "team", alice, bob)
	const n = 20
	f.appendN(t, g.Channel(), bob, n)

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		moves int
	)
	for seq := int64(1); seq <= n; seq++ {
		wg.Go(func() {
			got, moved, _, err := f.convs.MarkRead(t.Context(), g.Channel(), alice, seq)
			if err != nil {
				t.Errorf("MarkRead(%d): %v", seq, err)
				return
			}
			if got < seq {
				t.Errorf("MarkRead(%d) = %d; the position is at least what was asked", seq, got)
			}
			if moved {
				mu.Lock()
				moves++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got := f.view(t, alice, g.ID).ReadSeq; got != n {
		t.Errorf("ReadSeq after concurrent marks = %d; want the highest, %d", got, n)
	}
	if moves < 1 || moves > n {
		t.Errorf("%d marks moved the position; want 1 to %d", moves, n)
	}
	f.markRead(t, g.Channel(), alice, n, n, false)
}

func testUnreadCount(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	g := f.createGroup(t, "team", alice, bob, carol)
	quiet := f.createGroup(t, "quiet", alice)
	ch := g.Channel()
	f.appendN(t, ch, bob, 2)   // 1, 2
	f.appendN(t, ch, alice, 1) // 3: alice's own
	f.appendN(t, ch, carol, 2) // 4, 5

	want := func(user domain.UserID, readSeq, unread int64) {
		t.Helper()
		v := f.view(t, user, g.ID)
		if v.ReadSeq != readSeq || v.UnreadCount != unread || v.LastSeq != 5 {
			t.Errorf("%s's view = last %d, read %d, unread %d; want last 5, read %d, unread %d",
				user, v.LastSeq, v.ReadSeq, v.UnreadCount, readSeq, unread)
		}
	}
	want(alice, 0, 4) // all but her own
	want(bob, 0, 3)   // alice's and carol's
	want(carol, 0, 3)
	f.markRead(t, ch, alice, 1, 1, true)
	want(alice, 1, 3) // 2, 4, 5
	f.markRead(t, ch, alice, 3, 3, true)
	want(alice, 3, 2) // 4, 5
	f.markRead(t, ch, alice, 5, 5, true)
	want(alice, 5, 0)
	want(bob, 0, 3) // alice's marks are hers alone
	f.appendN(t, ch, alice, 1)
	if v := f.view(t, alice, g.ID); v.UnreadCount != 0 {
		t.Errorf("after her own message alice's unread = %d; want 0", v.UnreadCount)
	}
	if v := f.view(t, alice, quiet.ID); v.ReadSeq != 0 || v.UnreadCount != 0 {
		t.Errorf("a conversation without messages: read %d, unread %d; want 0, 0", v.ReadSeq, v.UnreadCount)
	}
}
