package repotest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

func conversationTests() []contractTest {
	return []contractTest{
		{"CreateDirectMessage stores a new pair", testCreateDM},
		{"CreateDirectMessage returns the existing pair in either order", testCreateDMExisting},
		{"CreateDirectMessage concurrent creates of one pair make one conversation", testCreateDMConcurrent},
		{"CreateGroup stores the group and its members", testCreateGroup},
		{"CreateGroup with a taken id is a conflict", testCreateGroupConflict},
		{"Get of a missing conversation or the wrong kind is not found", testGetNotFound},
	}
}

func testCreateDM(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := newDM(f, alice, bob)
	got, created, useqs, err := f.convs.CreateDirectMessage(t.Context(), dm)
	if err != nil || !created {
		t.Fatalf("CreateDirectMessage = created %v, %v; want created", created, err)
	}
	f.wantJoinUseqs(t, "CreateDirectMessage", got, useqs)
	if got.ID != dm.ID || got.Kind != domain.KindDM || got.Number <= 0 || got.LastSeq != 0 || got.Name != "" {
		t.Fatalf("CreateDirectMessage = %+v; want id %s, kind dm, a positive number, last seq 0", got, dm.ID)
	}
	if !slices.Equal(sortedUsers(got.MemberIDs), []domain.UserID{alice, bob}) {
		t.Fatalf("members = %v; want %v", got.MemberIDs, []domain.UserID{alice, bob})
	}
	checkStoredTime(t, "CreateDirectMessage", got.CreatedAt, dm.CreatedAt)
	sameConversation(t, "Get after CreateDirectMessage", f.get(t, got.Channel()), got)

	other := f.createDM(t, alice, f.user("carol"))
	if other.Number == got.Number {
		t.Fatalf("two conversations share number %d", got.Number)
	}
}

func testCreateDMExisting(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	first := f.createDM(t, alice, bob)

	again := newDM(f, bob, alice)
	again.MemberIDs = []domain.UserID{bob, alice} // the other order
	got, created, useqs, err := f.convs.CreateDirectMessage(t.Context(), again)
	if err != nil || created || useqs != nil {
		t.Fatalf("CreateDirectMessage(same pair) = created %v, useqs %v, %v; want the existing one, no useqs", created, useqs, err)
	}
	sameConversation(t, "CreateDirectMessage(same pair)", got, first)
	if _, err := f.convs.Get(t.Context(), domain.DMChannel(again.ID)); err == nil {
		t.Fatalf("the second id %s was stored too", again.ID)
	}
}

func testCreateDMConcurrent(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	const n = 8
	var (
		wg      sync.WaitGroup
		results [n]domain.Conversation
		created [n]bool
		errs    [n]error
	)
	for i := range n {
		dm := newDM(f, alice, bob)
		if i%2 == 1 {
			dm.MemberIDs = []domain.UserID{bob, alice}
		}
		wg.Go(func() {
			results[i], created[i], _, errs[i] = f.convs.CreateDirectMessage(t.Context(), dm)
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("CreateDirectMessage #%d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
		if results[i].ID != results[0].ID || results[i].Number != results[0].Number {
			t.Fatalf("call #%d got %s (number %d), call #0 got %s (number %d); want one conversation",
				i, results[i].ID, results[i].Number, results[0].ID, results[0].Number)
		}
	}
	if winners != 1 {
		t.Fatalf("%d calls report created; want exactly 1", winners)
	}
	list, err := f.listFirst(t, alice)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListForMember(alice) = %d conversations, %v; want 1", len(list), err)
	}
}

func testCreateGroup(t *testing.T, f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	g := domain.Conversation{
		ID:        domain.ConversationID(f.newID("grp")),
		Kind:      domain.KindGroup,
		Name:      "Team ☕",
		MemberIDs: []domain.UserID{carol, alice, bob},
		CreatedAt: time.Now(),
	}
	got, useqs, err := f.convs.CreateGroup(t.Context(), g)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	f.wantJoinUseqs(t, "CreateGroup", got, useqs)
	if got.ID != g.ID || got.Kind != domain.KindGroup || got.Name != g.Name || got.Number <= 0 || got.LastSeq != 0 {
		t.Fatalf("CreateGroup = %+v; want id %s, kind group, name %q, a positive number", got, g.ID, g.Name)
	}
	if want := sortedUsers(g.MemberIDs); !slices.Equal(sortedUsers(got.MemberIDs), want) {
		t.Fatalf("members = %v; want %v", got.MemberIDs, want)
	}
	checkStoredTime(t, "CreateGroup", got.CreatedAt, g.CreatedAt)
	sameConversation(t, "Get after CreateGroup", f.get(t, got.Channel()), got)

	other := f.createGroup(t, "other", alice)
	if other.Number == got.Number {
		t.Fatalf("two groups share number %d", got.Number)
	}
}

func testCreateGroupConflict(t *testing.T, f *fixture) {
	g := f.createGroup(t, "first", f.user("alice"))
	dup := g
	dup.Name, dup.MemberIDs = "second", []domain.UserID{f.user("bob")}
	_, _, err := f.convs.CreateGroup(t.Context(), dup)
	wantErr(t, "CreateGroup(taken id)", err, domain.ErrConflict)
	sameConversation(t, "Get after the conflict", f.get(t, g.Channel()), g)
}

func testGetNotFound(t *testing.T, f *fixture) {
	dm := f.createDM(t, f.user("alice"), f.user("bob"))
	g := f.createGroup(t, "team", f.user("alice"))
	for _, ch := range []domain.ChannelID{
		domain.GroupChannel("grp_missing_" + domain.ConversationID(f.suffix)),
		domain.DMChannel(g.ID),     // a group asked for as a direct message
		domain.GroupChannel(dm.ID), // and the other way round
	} {
		_, err := f.convs.Get(t.Context(), ch)
		wantErr(t, "Get("+ch.String()+")", err, domain.ErrNotFound)
	}
}
