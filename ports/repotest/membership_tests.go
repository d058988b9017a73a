package repotest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func membershipTests() []contractTest {
	return []contractTest{
		{"IsMember", testIsMember},
		{"ChannelStates reports existing channels only", testChannelStates},
		{"ListForMember lists the user's conversations newest first", testListForMember},
		{"AddMember is idempotent", testAddMember},
		{"AddMember to a missing group is not found", testAddMemberNotFound},
		{"RemoveMember reports whether it removed", testRemoveMember},
		{"RemoveMember counts removals in ChannelStates", testRemovalsCounted},
	}
}

func testIsMember(t *testing.T, f *fixture) {
	alice, bob, mallory := f.user("alice"), f.user("bob"), f.user("mallory")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", alice)
	tests := []struct {
		name    string
		channel domain.ChannelID
		user    domain.UserID
		want    bool
	}{
		{"dm member", dm.Channel(), bob, true},
		{"group member", g.Channel(), alice, true},
		{"not a member", g.Channel(), mallory, false},
		{"wrong kind", domain.DMChannel(g.ID), alice, false},
		{"missing conversation", domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)), alice, false},
	}
	for _, tt := range tests {
		got, err := f.convs.IsMember(t.Context(), tt.channel, tt.user)
		if err != nil || got != tt.want {
			t.Errorf("%s: IsMember(%s, %s) = %v, %v; want %v, nil", tt.name, tt.channel, tt.user, got, err, tt.want)
		}
	}
}

func testChannelStates(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob)
	g := f.createGroup(t, "team", bob)
	f.appendN(t, dm.Channel(), alice, 3)
	f.appendN(t, g.Channel(), bob, 1)

	missing := domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix))
	got, err := f.convs.ChannelStates(t.Context(), []domain.ChannelID{
		g.Channel(), missing, domain.DMChannel(g.ID), dm.Channel(), dm.Channel(),
	}, alice)
	if err != nil {
		t.Fatalf("ChannelStates: %v", err)
	}
	want := map[domain.ChannelID]domain.ChannelState{
		dm.Channel(): {Channel: dm.Channel(), Number: dm.Number, LastSeq: 3, IsMember: true},
		g.Channel():  {Channel: g.Channel(), Number: g.Number, LastSeq: 1, IsMember: false},
	}
	if len(got) != len(want) {
		t.Fatalf("ChannelStates = %+v; want exactly %+v", got, want)
	}
	for _, st := range got {
		if w, ok := want[st.Channel]; !ok || st != w {
			t.Fatalf("ChannelStates = %+v; want exactly %+v", got, want)
		}
		delete(want, st.Channel) // reported twice would now fail
	}

	none, err := f.convs.ChannelStates(t.Context(), nil, alice)
	if err != nil || len(none) != 0 {
		t.Fatalf("ChannelStates(no channels) = %v, %v; want nothing", none, err)
	}
}

func testListForMember(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	dm := f.createDM(t, alice, bob)
	g1 := f.createGroup(t, "one", alice, carol)
	g2 := f.createGroup(t, "two", alice)
	f.createGroup(t, "not alice's", bob)
	f.appendN(t, g1.Channel(), carol, 2)
	g1.LastSeq = 2

	got, err := f.listFirst(t, alice)
	if err != nil {
		t.Fatalf("ListForMember(alice): %v", err)
	}
	want := []domain.Conversation{g2, g1, dm}
	if len(got) != len(want) {
		t.Fatalf("ListForMember(alice) = %+v; want %+v", got, want)
	}
	for i := range want {
		sameConversation(t, fmt.Sprintf("ListForMember(alice)[%d]", i), got[i], want[i])
	}

	nobody, err := f.listFirst(t, f.user("nobody"))
	if err != nil || len(nobody) != 0 {
		t.Fatalf("ListForMember(nobody) = %v, %v; want nothing", nobody, err)
	}
}

func testAddMember(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	g := f.createGroup(t, "team", alice)
	for i := range 2 {
		if err := f.addMember(t.Context(), g.Channel(), bob, roomy); err != nil {
			t.Fatalf("AddMember #%d: %v", i+1, err)
		}
	}
	if ok, err := f.convs.IsMember(t.Context(), g.Channel(), bob); err != nil || !ok {
		t.Fatalf("IsMember after AddMember = %v, %v; want true", ok, err)
	}
	got := f.get(t, g.Channel()).MemberIDs
	if want := sortedUsers([]domain.UserID{alice, bob}); !slices.Equal(sortedUsers(got), want) || len(got) != 2 {
		t.Fatalf("members = %v; want %v once each", got, want)
	}
	list, err := f.listFirst(t, bob)
	if err != nil || len(list) != 1 || list[0].ID != g.ID {
		t.Fatalf("ListForMember(bob) = %+v, %v; want the group", list, err)
	}
}

func testAddMemberNotFound(t *testing.T, f *fixture) {
	g := f.createGroup(t, "team", f.user("alice"))
	for _, ch := range []domain.ChannelID{
		domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)),
		domain.DMChannel(g.ID),
	} {
		err := f.addMember(t.Context(), ch, f.user("bob"), roomy)
		wantErr(t, "AddMember("+ch.String()+")", err, domain.ErrNotFound)
	}
}

func testRemoveMember(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	g := f.createGroup(t, "team", alice, bob)
	for i, want := range []bool{true, false} {
		removed, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob)
		if err != nil || removed != want {
			t.Fatalf("RemoveMember #%d = %v, %v; want %v", i+1, removed, err, want)
		}
	}
	if ok, err := f.convs.IsMember(t.Context(), g.Channel(), bob); err != nil || ok {
		t.Fatalf("IsMember after RemoveMember = %v, %v; want false", ok, err)
	}
	if ok, err := f.convs.IsMember(t.Context(), g.Channel(), alice); err != nil || !ok {
		t.Fatalf("IsMember(alice) after removing bob = %v, %v; want true", ok, err)
	}
	list, err := f.listFirst(t, bob)
	if err != nil || len(list) != 0 {
		t.Fatalf("ListForMember(bob) after RemoveMember = %+v, %v; want nothing", list, err)
	}
}

func testRemovalsCounted(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	g := f.createGroup(t, "team", alice, bob, carol)
	removals := func() int64 {
		t.Helper()
		states, err := f.convs.ChannelStates(t.Context(), []domain.ChannelID{g.Channel()}, alice)
		if err != nil || len(states) != 1 {
			t.Fatalf("ChannelStates = %+v, %v; want the group", states, err)
		}
		return states[0].Removals
	}
	steps := []struct {
		do   func() error
		want int64
	}{
		{func() error { return nil }, 0},
		{func() error { _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); return err }, 1},
		// Removing a non-member removes nothing, so it counts nothing.
		{func() error { _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); return err }, 1},
		{func() error { return f.addMember(t.Context(), g.Channel(), bob, roomy) }, 1},
		{func() error { _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), carol); return err }, 2},
		{func() error { _, _, err := f.convs.RemoveMember(t.Context(), g.Channel(), bob); return err }, 3},
	}
	for i, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := removals(); got != step.want {
			t.Fatalf("after step %d: Removals = %d; want %d", i, got, step.want)
		}
	}
}
