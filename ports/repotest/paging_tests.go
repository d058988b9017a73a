package repotest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

func pagingTests() []contractTest {
	return []contractTest{
		{"ListForMember pages newest first, ties by number", testListForMemberPages},
		{"ListForMember pages stay put when conversations are created or left", testListForMemberStablePages},
		{"ListForMember after the last position is empty", testListForMemberPastTheEnd},
	}
}

// pagingFixture makes alice a member of seven conversations, three of
// them created in the same microsecond so that only the number orders
// them, and returns them in the newest-first order ListForMember owes.
func pagingFixture(t *testing.T, f *fixture) (domain.UserID, []domain.Conversation) {
	t.Helper()
	alice, bob := f.user("alice"), f.user("bob")
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	var convs []domain.Conversation
	for i, at := range []time.Duration{0, time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second} {
		convs = append(convs, f.createGroupAt(t, fmt.Sprintf("g%d", i), base.Add(at), alice, bob))
	}
	convs = append(convs, f.createDM(t, alice, bob)) // now: the newest
	f.createGroupAt(t, "not alice's", base.Add(time.Second), bob)
	slices.SortFunc(convs, func(a, b domain.Conversation) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.Number - a.Number)
	})
	return alice, convs
}

func testListForMemberPages(t *testing.T, f *fixture) {
	alice, want := pagingFixture(t, f)
	tests := []struct {
		limit int
		sizes []int
	}{
		{1, []int{1, 1, 1, 1, 1, 1, 1}},
		{2, []int{2, 2, 2, 1}},
		{3, []int{3, 3, 1}},
		{6, []int{6, 1}},
		// A last page that is exactly full has no next page after it.
		{7, []int{7}},
		{domain.MaxConversationPageSize, []int{7}},
	}
	for _, tt := range tests {
		got, sizes := f.listPages(t, alice, tt.limit)
		if !slices.Equal(sizes, tt.sizes) {
			t.Errorf("limit %d: page sizes = %v; want %v", tt.limit, sizes, tt.sizes)
		}
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("limit %d: pages hold %v; want %v", tt.limit, ids(got), ids(want))
		}
		for i := range want {
			sameConversation(t, fmt.Sprintf("limit %d: item %d", tt.limit, i), got[i], want[i])
		}
	}
	if page := f.listPage(t, f.user("nobody"), domain.ConversationCursor{}, 2); len(page.Conversations) != 0 || page.HasNext() {
		t.Fatalf("ListForMember(nobody) = %+v; want an empty last page", page)
	}
}

func testListForMemberStablePages(t *testing.T, f *fixture) {
	alice, want := pagingFixture(t, f)
	first := f.listPage(t, alice, domain.ConversationCursor{}, 3)
	if !slices.Equal(ids(first.Conversations), ids(want[:3])) || !first.HasNext() {
		t.Fatalf("first page = %v, next %v; want %v and a next page", ids(first.Conversations), first.HasNext(), ids(want[:3]))
	}
	// Between two reads: a newer conversation appears, one older than the
	// cursor too (its clock was behind), and alice leaves the conversation
	// the cursor points at. None of it may shift or repeat what follows.
	newer := f.createGroup(t, "newer", alice)
	older := f.createGroupAt(t, "older", want[len(want)-1].CreatedAt.Add(-time.Minute), alice)
	if removed, _, err := f.convs.RemoveMember(t.Context(), want[2].Channel(), alice); err != nil || !removed {
		t.Fatalf("RemoveMember(alice from %s) = %v, %v", want[2].ID, removed, err)
	}

	var rest []domain.Conversation
	for after := first.Next; !after.IsZero(); {
		page := f.listPage(t, alice, after, 3)
		rest = append(rest, page.Conversations...)
		after = page.Next
	}
	wantRest := append(slices.Clone(want[3:]), older)
	if !slices.Equal(ids(rest), ids(wantRest)) {
		t.Fatalf("pages after the first = %v; want %v (the rest, then the older one, and not %s)", ids(rest), ids(wantRest), newer.ID)
	}
	// A list read afresh starts with the new conversation.
	if again := f.listPage(t, alice, domain.ConversationCursor{}, 1); len(again.Conversations) != 1 || again.Conversations[0].ID != newer.ID {
		t.Fatalf("first page read again = %v; want %s", ids(again.Conversations), newer.ID)
	}
}

func testListForMemberPastTheEnd(t *testing.T, f *fixture) {
	alice, want := pagingFixture(t, f)
	last := domain.ConversationCursorOf(want[len(want)-1])
	if page := f.listPage(t, alice, last, 5); len(page.Conversations) != 0 || page.HasNext() {
		t.Fatalf("page after the oldest = %v, next %v; want an empty last page", ids(page.Conversations), page.HasNext())
	}
	// A position that names no conversation still pages by position.
	between := domain.ConversationCursor{CreatedAt: want[0].CreatedAt, Number: want[0].Number + 1000}
	if page := f.listPage(t, alice, between, 1); len(page.Conversations) != 1 || page.Conversations[0].ID != want[0].ID {
		t.Fatalf("page after a made-up position = %v; want %s", ids(page.Conversations), want[0].ID)
	}
}
