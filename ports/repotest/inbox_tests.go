package repotest

import (
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func inboxTests() []contractTest {
	return []contractTest{
		{"MemberChannels returns the state of every conversation of the user", testMemberChannels},
		{"MemberViews returns the user's view of the conversations asked", testMemberViews},
	}
}

func testMemberChannels(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice, carol)
	other := f.createGroup(t, "other", bob, carol)
	f.appendN(t, g.Channel(), carol, 3)
	f.appendN(t, other.Channel(), bob, 2)

	got, err := f.convs.MemberChannels(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	want := map[domain.ChannelID]int64{dm.Channel(): 0, g.Channel(): 3}
	if len(got) != len(want) {
		t.Fatalf("MemberChannels(alice) = %+v; want %v", got, want)
	}
	for _, st := range got {
		last, ok := want[st.Channel]
		if !ok || st.LastSeq != last || !st.IsMember || st.Number != f.get(t, st.Channel).Number {
			t.Fatalf("MemberChannels(alice) has %+v; want the channels %v with their last seqs", st, want)
		}
	}
	if removed, err := f.convs.RemoveMember(t.Context(), g.Channel(), alice); err != nil || !removed {
		t.Fatalf("RemoveMember: %v, %v", removed, err)
	}
	got, err = f.convs.MemberChannels(t.Context(), alice)
	if err != nil || len(got) != 1 || got[0].Channel != dm.Channel() {
		t.Fatalf("after leaving the group MemberChannels(alice) = %+v, %v; want the DM only", got, err)
	}
	if got, err := f.convs.MemberChannels(t.Context(), f.user("nobody")); err != nil || len(got) != 0 {
		t.Fatalf("MemberChannels(nobody) = %+v, %v; want none", got, err)
	}
}

func testMemberViews(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice, bob)
	other := f.createGroup(t, "other", bob)
	f.appendN(t, g.Channel(), bob, 4)
	f.appendN(t, g.Channel(), alice, 1)
	f.markRead(t, g.Channel(), alice, 1, 1, true)

	missing := domain.GroupChannel(domain.ConversationID("grp_missing_" + f.suffix))
	views, err := f.convs.MemberViews(t.Context(), []domain.ChannelID{g.Channel(), other.Channel(), missing, dm.Channel(), g.Channel()}, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(func(yield func(domain.ChannelID) bool) {
		for _, v := range views {
			yield(v.Channel())
		}
	}); !slices.Equal(got, []domain.ChannelID{g.Channel(), dm.Channel()}) {
		t.Fatalf("MemberViews = %v; want the group, then the DM (not the group alice is not in, nor a missing one, nor one twice)", got)
	}
	if v := views[0]; v.LastSeq != 5 || v.ReadSeq != 1 || v.UnreadCount != 3 || len(v.MemberIDs) != 2 || v.Name != "team" {
		t.Fatalf("alice's view of the group = %+v; want last seq 5, read 1, 3 unread (her own not counted), 2 members", v)
	}
	// The same view as the conversation list gives.
	if list := f.view(t, alice, g.ID); list.ReadSeq != views[0].ReadSeq || list.UnreadCount != views[0].UnreadCount || list.LastSeq != views[0].LastSeq {
		t.Fatalf("MemberViews %+v differs from ListForMember %+v", views[0], list)
	}
	if v, err := f.convs.MemberViews(t.Context(), nil, alice); err != nil || len(v) != 0 {
		t.Fatalf("MemberViews(none) = %v, %v", v, err)
	}
}
