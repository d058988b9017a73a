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
		{"ListByKey lists the messages of channels in commit key order", testListByKey},
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
	if removed, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), alice); err != nil || !removed {
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

func testListByKey(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob).Channel()
	g := f.createGroup(t, "team", alice).Channel()
	other := f.createGroup(t, "other", alice).Channel()
	var all []keyed
	for i := range 9 {
		ch := []domain.ChannelID{dm, g, other}[i%3]
		m, err := f.appendKeyed(t, ch, alice)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
	}
	below := all[len(all)-1].key + 1 // every message is committed
	got, err := f.msgs.ListByKey(t.Context(), []domain.ChannelID{dm, g}, all[0].key, below, 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []keyed
	for _, m := range all {
		if m.channel != other {
			want = append(want, m)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("ListByKey = %d messages; want %d", len(got), len(want))
	}
	for i, km := range got {
		if km.Message.Channel != want[i].channel || km.Message.Seq != want[i].seq || km.Key != want[i].key {
			t.Fatalf("ListByKey[%d] = %s seq %d key %d; want %+v (key order)", i, km.Message.Channel, km.Message.Seq, km.Key, want[i])
		}
	}
	// The range is [from, below), and limit cuts the page.
	page, err := f.msgs.ListByKey(t.Context(), []domain.ChannelID{dm, g, other}, all[2].key, all[6].key, 2)
	if err != nil || len(page) != 2 || page[0].Key != all[2].key || page[1].Key != all[3].key {
		t.Fatalf("ListByKey(from the 3rd key, below the 7th, 2) = %v, %v; want the 3rd and 4th", page, err)
	}
	wrongKind := domain.DMChannel(g.ID)
	if page, err := f.msgs.ListByKey(t.Context(), []domain.ChannelID{wrongKind}, all[0].key, below, 100); err != nil || len(page) != 0 {
		t.Fatalf("ListByKey of a channel named with the wrong kind = %v, %v; want none", page, err)
	}
}
