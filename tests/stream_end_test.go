package tests

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestRemovedMemberStopsReceivingTheGroup(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	s := a.openStream(t, bob, []string{g.channel(), dm.channel()}, streamOpts{})
	before := a.send(t, alice, g, "before")
	if got, _ := s.nextMessage(t); got.ID != before.ID {
		t.Fatalf("got %+v, want the group message sent before the removal", got)
	}

	a.removeMember(t, alice, g, "u_bob")
	ev := s.nextEvent(t)
	if ev.Event != "channel_removed" {
		t.Fatalf("after the removal got %q, want event: channel_removed", ev.Raw)
	}
	var data map[string]any
	mustUnmarshal(t, ev.Data, &data)
	if len(data) != 1 || data["channel"] != g.channel() {
		t.Fatalf("channel_removed data %s, want {\"channel\": %q}", ev.Data, g.channel())
	}

	// The group's messages stop; the DM's keep coming.
	a.send(t, alice, g, "bob is gone")
	m := a.send(t, alice, dm, "still here")
	if got, _ := s.nextMessage(t); got.ID != m.ID {
		t.Fatalf("got %s seq %d, want only the DM's message", got.Channel, got.Seq)
	}
	// Re-adding bob does not bring the group back into this stream.
	a.addMember(t, alice, g, "u_bob")
	a.send(t, alice, g, "welcome back")
	m = a.send(t, alice, dm, "dm again")
	if got, _ := s.nextMessage(t); got.ID != m.ID {
		t.Fatalf("got %s seq %d, want only the DM's message", got.Channel, got.Seq)
	}
}

func TestRemovedFromEveryChannelEndsTheStream(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	s := a.openStream(t, bob, []string{g.channel()}, streamOpts{})
	a.removeMember(t, alice, g, "u_bob")
	if ev := s.nextEvent(t); ev.Event != "channel_removed" {
		t.Fatalf("got %q, want channel_removed", ev.Raw)
	}
	if _, err := s.waitEnd(t); !errors.Is(err, io.EOF) {
		t.Fatalf("the stream with no channel left ended with %v, want a clean end", err)
	}
}

func TestStreamEndsWhenTheTokenExpires(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	// exp has whole-second precision: this token expires 2 to 3 s from now.
	shortLived := user{id: alice.id, token: sign(t, alice.id, false, 3*time.Second)}

	s := a.openStream(t, shortLived, []string{dm.channel()}, streamOpts{})
	m := a.send(t, alice, dm, "while valid")
	got, msgEv := s.nextMessage(t)
	if got.ID != m.ID {
		t.Fatalf("got %+v, want %s", got, m.ID)
	}
	ev := s.nextEvent(t)
	if ev.Event != "token_expired" {
		t.Fatalf("got %q, want event: token_expired", ev.Raw)
	}
	rest, err := s.waitEnd(t)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("after token_expired the stream ended with %v, want a clean end", err)
	}
	for _, b := range rest {
		if b.IsDispatched() {
			t.Fatalf("after token_expired got %q", b.Raw)
		}
	}
	// The expired token cannot reconnect; a fresh one resumes.
	wantError(t, a.do(t, http.MethodGet, "/api/sse?channel="+dm.channel(), shortLived.token, nil), http.StatusUnauthorized, "")
	missed := a.send(t, alice, dm, "while away")
	r := a.openStream(t, alice, []string{dm.channel()}, streamOpts{lastEventID: msgEv.ID})
	if got, _ := r.nextMessage(t); got.ID != missed.ID {
		t.Fatalf("resumed with a fresh token got %+v, want %s", got, missed.ID)
	}
}
