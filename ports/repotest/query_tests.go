package repotest

import (
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func queryTests() []contractTest {
	return []contractTest{
		{"FindByClientID", testFindByClientID},
		{"List pages history oldest first", testList},
		{"List of a missing channel or the wrong kind is empty", testListMissing},
	}
}

func testFindByClientID(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	m := f.message(dm.Channel(), alice, "hi", "c-1")
	m.PersonaID = "p_7"
	stored := f.appendOK(t, m)

	got, err := f.msgs.FindByClientID(t.Context(), alice, "c-1")
	if err != nil {
		t.Fatalf("FindByClientID: %v", err)
	}
	sameMessage(t, "FindByClientID", got, stored)

	for _, tt := range []struct {
		sender   domain.UserID
		clientID string
	}{
		{bob, "c-1"},     // another sender's key space
		{alice, "c-404"}, // never used
	} {
		_, err := f.msgs.FindByClientID(t.Context(), tt.sender, tt.clientID)
		wantErr(t, "FindByClientID("+string(tt.sender)+", "+tt.clientID+")", err, domain.ErrNotFound)
	}
}

func testList(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	stored := f.appendN(t, g.Channel(), alice, 10)
	f.appendN(t, f.createGroup(t, "noise", alice).Channel(), alice, 3)

	tests := []struct {
		name  string
		query domain.HistoryQuery
		want  []int64
	}{
		{"latest", domain.HistoryQuery{Limit: 3}, []int64{8, 9, 10}},
		{"latest, more than stored", domain.HistoryQuery{Limit: 50}, seqRange(1, 10)},
		{"after", domain.HistoryQuery{Anchor: domain.PageAfter, Seq: 2, Limit: 3}, []int64{3, 4, 5}},
		{"after, to the end", domain.HistoryQuery{Anchor: domain.PageAfter, Seq: 8, Limit: 5}, []int64{9, 10}},
		{"after 0 is the first page", domain.HistoryQuery{Anchor: domain.PageAfter, Seq: 0, Limit: 3}, []int64{1, 2, 3}},
		{"after the end", domain.HistoryQuery{Anchor: domain.PageAfter, Seq: 10, Limit: 5}, nil},
		{"before", domain.HistoryQuery{Anchor: domain.PageBefore, Seq: 5, Limit: 3}, []int64{2, 3, 4}},
		{"before, from the start", domain.HistoryQuery{Anchor: domain.PageBefore, Seq: 3, Limit: 5}, []int64{1, 2}},
		{"before the start", domain.HistoryQuery{Anchor: domain.PageBefore, Seq: 1, Limit: 5}, nil},
		{"before 0 is nothing", domain.HistoryQuery{Anchor: domain.PageBefore, Seq: 0, Limit: 5}, nil},
		{"before past the end", domain.HistoryQuery{Anchor: domain.PageBefore, Seq: 99, Limit: 2}, []int64{9, 10}},
		{"limit 1", domain.HistoryQuery{Limit: 1}, []int64{10}},
	}
	for _, tt := range tests {
		q := tt.query
		q.Channel = g.Channel()
		got, err := f.msgs.List(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: List(%+v): %v", tt.name, q, err)
		}
		if !slices.Equal(seqs(got), tt.want) {
			t.Errorf("%s: List(%+v) = seqs %v; want %v", tt.name, q, seqs(got), tt.want)
			continue
		}
		for _, m := range got {
			sameMessage(t, tt.name, m, stored[m.Seq-1])
		}
	}
}

func testListMissing(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice)
	f.appendN(t, g.Channel(), alice, 2)
	for _, ch := range []domain.ChannelID{
		domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)),
		domain.DMChannel(g.ID),
	} {
		got, err := f.msgs.List(t.Context(), domain.HistoryQuery{Channel: ch, Limit: 10})
		if err != nil || len(got) != 0 {
			t.Errorf("List(%s) = %v, %v; want no messages and no error", ch, seqs(got), err)
		}
	}
}
