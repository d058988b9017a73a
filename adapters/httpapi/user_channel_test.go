package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports/notifiertest"
)

// TestUserChannelDoorbells drives every change of a user's log through the
// API, with the user channels subscribed directly on the notifier (the
// inbox stream is not served yet), and checks each request's doorbells:
// the event, its user, conversation and read seq, and a useq that is the
// one the store logged the change at. No-ops ring nothing.
func TestUserChannelDoorbells(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	users := []domain.UserID{"u_alice", "u_bob", "u_carol"}
	chs := make([]domain.ChannelID, len(users))
	for i, u := range users {
		chs[i] = domain.UserChannel(u)
	}
	sub, err := e.notifier.Subscribe(t.Context(), chs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	alice, bob := e.token("u_alice"), e.token("u_bob")

	// rang returns the events published since the last call: Publish runs
	// before the response is written, so they are queued by now.
	rang := func() []domain.Event {
		var out []domain.Event
		for {
			ev, ok := notifiertest.TakeOne(sub)
			if !ok {
				return out
			}
			out = append(out, *ev)
		}
	}
	// want fails the test unless the request step rang exactly want, in
	// any order across users, and each user's last useq is its head.
	want := func(step string, want ...domain.Event) {
		t.Helper()
		got := rang()
		key := func(a, b domain.Event) int {
			if a.Channel.String() != b.Channel.String() {
				if a.Channel.String() < b.Channel.String() {
					return -1
				}
				return 1
			}
			return int(a.UserSeq - b.UserSeq)
		}
		slices.SortFunc(got, key)
		slices.SortFunc(want, key)
		if !slices.Equal(got, want) {
			t.Fatalf("%s rang\n %+v\nwant\n %+v", step, got, want)
		}
		for _, ev := range got {
			u := domain.UserID(ev.Channel.ID)
			if head, err := e.store.UserHead(t.Context(), u); err != nil || head != ev.UserSeq {
				t.Fatalf("%s: %s's doorbell has useq %d; the store's head is %d, %v", step, u, ev.UserSeq, head, err)
			}
		}
	}

	var dm struct{ ID domain.ConversationID }
	r := e.do(http.MethodPost, "/api/dms", alice, `{"memberIds":["u_bob","u_alice"]}`)
	r.expect(t, http.StatusCreated, "")
	r.decode(t, &dm)
	dmCh := domain.DMChannel(dm.ID)
	want("create a DM", domain.MemberJoinedEvent("u_alice", dmCh, 1), domain.MemberJoinedEvent("u_bob", dmCh, 1))
	e.do(http.MethodPost, "/api/dms", bob, `{"memberIds":["u_alice","u_bob"]}`).expect(t, http.StatusOK, "")
	want("the same DM again")

	var g struct{ ID domain.ConversationID }
	r = e.do(http.MethodPost, "/api/groups", alice, `{"name":"Team","memberIds":["u_bob"]}`)
	r.expect(t, http.StatusCreated, "")
	r.decode(t, &g)
	gCh := domain.GroupChannel(g.ID)
	want("create a group", domain.MemberJoinedEvent("u_alice", gCh, 2), domain.MemberJoinedEvent("u_bob", gCh, 2))

	path := "/api/groups/" + string(g.ID) + "/members"
	e.do(http.MethodPost, path, alice, `{"userId":"u_carol"}`).expect(t, http.StatusNoContent, "")
	want("add carol", domain.MemberJoinedEvent("u_carol", gCh, 1))
	e.do(http.MethodPost, path, alice, `{"userId":"u_carol"}`).expect(t, http.StatusNoContent, "")
	want("add carol again")

	e.send(bob, gCh, "hi")
	want("a message")
	read := "/api/conversations/" + string(g.ID) + "/read"
	e.do(http.MethodPost, read, alice, map[string]any{"seq": 5}).expect(t, http.StatusNoContent, "")
	want("alice reads", domain.ReadMovedEvent("u_alice", gCh, 1, 3))
	e.do(http.MethodPost, read, alice, map[string]any{"seq": 1}).expect(t, http.StatusNoContent, "")
	want("alice reads again")

	e.do(http.MethodDelete, path+"/u_carol", alice, nil).expect(t, http.StatusNoContent, "")
	want("remove carol", domain.MemberLeftEvent("u_carol", gCh, 2))
	e.do(http.MethodDelete, path+"/u_carol", alice, nil).expect(t, http.StatusNoContent, "")
	want("remove carol again")
}
