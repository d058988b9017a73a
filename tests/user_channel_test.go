package tests

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/notifiertest"
)

// TestUserChannelDoorbells drives each change of a user's log through the
// HTTP API of the assembled service and watches the user channels on its
// notifier directly (the inbox stream that will serve them is not there
// yet): every change rings its user's doorbell once, with the useq the
// store logged it at, and a no-op rings nothing. A no-op's silence is
// checked by the next step, which must receive exactly its own events.
func TestUserChannelDoorbells(t *testing.T) {
	t.Parallel()
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	var (
		notifier ports.Notifier
		convs    ports.ConversationRepository
	)
	a := startAppOn(t, dsn, []fx.Option{fx.Populate(&notifier, &convs)})
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	sub, err := notifier.Subscribe(t.Context(), []domain.ChannelID{
		domain.UserChannel("u_alice"), domain.UserChannel("u_bob"), domain.UserChannel("u_carol"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	// rings fails t unless the next events are exactly want, in order, and
	// each carries its user's head in the store.
	rings := func(step string, want ...domain.Event) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for i, w := range want {
			ev, ok := notifiertest.Await(sub, deadline)
			switch {
			case !ok && sub.Err() != nil:
				t.Fatalf("%s: subscription ended: %v", step, sub.Err())
			case !ok:
				t.Fatalf("%s: event %d of %d never came: want %+v", step, i+1, len(want), w)
			}
			got := *ev
			if got != w {
				t.Fatalf("%s: event %d = %+v; want %+v", step, i+1, got, w)
			}
			u := domain.UserID(got.Channel.ID)
			if head, err := convs.UserHead(t.Context(), u); err != nil || head != got.UserSeq {
				t.Fatalf("%s: %s's doorbell has useq %d; the store's head is %d, %v", step, u, got.UserSeq, head, err)
			}
		}
	}

	dm := a.createDM(t, alice, "u_bob")
	dmCh := domain.DMChannel(domain.ConversationID(dm.ID))
	// The store sorts the members; the doorbells follow that order.
	rings("create a DM", domain.MemberJoinedEvent("u_alice", dmCh, 1), domain.MemberJoinedEvent("u_bob", dmCh, 1))
	expect(t, a.do(t, http.MethodPost, "/api/dms", bob.token, map[string]any{"memberIds": []string{"u_alice", "u_bob"}}), http.StatusOK, nil)

	g := a.createGroup(t, alice, "Team", "u_bob")
	gCh := domain.GroupChannel(domain.ConversationID(g.ID))
	rings("create a group (after the same DM again)",
		domain.MemberJoinedEvent("u_alice", gCh, 2), domain.MemberJoinedEvent("u_bob", gCh, 2))

	a.addMember(t, alice, g, "u_carol")
	rings("add carol", domain.MemberJoinedEvent("u_carol", gCh, 1))
	a.addMember(t, alice, g, "u_carol")

	a.send(t, bob, g, "hi")
	read := "/api/conversations/" + g.ID + "/read"
	expect(t, a.do(t, http.MethodPost, read, alice.token, map[string]any{"seq": 5}), http.StatusNoContent, nil)
	rings("alice reads (after carol added again and a message)", domain.ReadMovedEvent("u_alice", gCh, 1, 3))
	expect(t, a.do(t, http.MethodPost, read, alice.token, map[string]any{"seq": 1}), http.StatusNoContent, nil)

	a.removeMember(t, alice, g, "u_carol")
	rings("remove carol (after alice reads again)", domain.MemberLeftEvent("u_carol", gCh, 2))
	a.removeMember(t, alice, g, "u_carol")

	a.send(t, alice, g, "bye")
	expect(t, a.do(t, http.MethodPost, read, bob.token, map[string]any{"seq": 2}), http.StatusNoContent, nil)
	rings("bob reads (after carol removed again)", domain.ReadMovedEvent("u_bob", gCh, 2, 3))
}
