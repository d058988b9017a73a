package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// resumeFixture is a service with a DM and a group of alice and bob; alice
// streams both.
type resumeFixture struct {
	a          *testApp
	alice, bob user
	dm, g      conversation
	channels   []string
}

func newResumeFixture(t *testing.T) resumeFixture {
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	f := resumeFixture{a: a, alice: alice, bob: bob, dm: a.createDM(t, alice, "u_bob"), g: a.createGroup(t, alice, "Team", "u_bob")}
	f.channels = []string{f.dm.channel(), f.g.channel()}
	return f
}

// sendBoth sends n messages into each of the DM and the group, alternating.
func (f resumeFixture) sendBoth(t *testing.T, n int, label string) {
	for i := range n {
		f.a.send(t, f.alice, f.dm, fmt.Sprintf("%s dm %d", label, i))
		f.a.send(t, f.bob, f.g, fmt.Sprintf("%s group %d", label, i))
	}
}

// wantResume reads 2n message events from s and fails t unless they are
// exactly seqs from+1 … from+n of each channel, in order per channel; then
// it sends one live message into each channel and expects those next.
func (f resumeFixture) wantResume(t *testing.T, s *stream, from int64, n int) {
	t.Helper()
	msgs, _ := s.messages(t, 2*n)
	got := byChannel(msgs)
	for _, ch := range f.channels {
		wantSeqs(t, "replay of "+ch, got[ch], seqRange(from+1, from+int64(n)))
	}
	f.sendBoth(t, 1, "live")
	live, _ := s.messages(t, 2)
	got = byChannel(live)
	for _, ch := range f.channels {
		wantSeqs(t, "live after the replay of "+ch, got[ch], []int64{from + int64(n) + 1})
	}
}

func TestResumeFromReadyCursor(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"Last-Event-ID header", "lastEventId parameter"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			f := newResumeFixture(t)
			// Connect, receive nothing, drop: the ready id alone must do.
			s := f.a.openStream(t, f.alice, f.channels, streamOpts{})
			cursor := s.readyID
			s.close()

			const n = 5
			f.sendBoth(t, n, "missed")
			opts := streamOpts{lastEventID: cursor}
			if via == "lastEventId parameter" {
				opts = streamOpts{cursorParam: cursor}
			}
			f.wantResume(t, f.a.openStream(t, f.alice, f.channels, opts), 0, n)
		})
	}
}

func TestResumeFromMidStream(t *testing.T) {
	t.Parallel()
	f := newResumeFixture(t)
	s := f.a.openStream(t, f.alice, f.channels, streamOpts{})
	f.sendBoth(t, 3, "first")
	msgs, evs := s.messages(t, 6)
	s.close()

	// Resuming from the id of the k-th event gives exactly the events
	// after it, for every k.
	f.sendBoth(t, 2, "missed")
	s2 := f.a.openStream(t, f.alice, f.channels, streamOpts{lastEventID: evs[len(evs)-1].ID})
	more, _ := s2.messages(t, 4)
	all := append(slices.Clone(msgs), more...)
	s2.close()
	for k, ev := range evs {
		want := byChannel(all[k+1:])
		r := f.a.openStream(t, f.alice, f.channels, streamOpts{lastEventID: ev.ID})
		got, _ := r.messages(t, len(all)-k-1)
		gotBy := byChannel(got)
		for _, ch := range f.channels {
			wantSeqs(t, fmt.Sprintf("resume from event %d, %s", k, ch), gotBy[ch], want[ch])
		}
		r.close()
	}
}

func TestResumeWithAnotherChannelSet(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	kept := a.createDM(t, alice, "u_bob")
	dropped := a.createGroup(t, alice, "Dropped")
	added := a.createGroup(t, alice, "Added")
	for i := range 2 {
		a.send(t, alice, kept, fmt.Sprintf("kept %d", i))
		a.send(t, alice, added, fmt.Sprintf("added %d", i))
	}
	a.send(t, alice, dropped, "dropped 0")

	s := a.openStream(t, alice, []string{kept.channel(), dropped.channel()}, streamOpts{})
	cursor := s.readyID
	s.close()
	// While away: two in the kept channel, one each in the others.
	a.send(t, alice, kept, "kept 2")
	a.send(t, alice, kept, "kept 3")
	a.send(t, alice, dropped, "dropped 1")
	a.send(t, alice, added, "added 2")

	r := a.openStream(t, alice, []string{kept.channel(), added.channel()}, streamOpts{lastEventID: cursor})
	replay, _ := r.messages(t, 2)
	wantSeqs(t, "the kept channel resumes from its position", byChannel(replay)[kept.channel()], []int64{3, 4})
	// The added channel starts at its end: the next event is the live
	// message after it, not its history; the dropped channel is gone.
	a.send(t, alice, dropped, "dropped 2")
	live := a.send(t, alice, added, "added 3")
	if got, _ := r.nextMessage(t); got.ID != live.ID || got.Seq != 4 {
		t.Fatalf("after the replay got %s seq %d, want the live message of the added channel (seq 4)", got.Channel, got.Seq)
	}
}

func TestResumeWithBadCursor(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	s := a.openStream(t, alice, []string{dm.channel()}, streamOpts{})
	s.close()

	for _, bad := range []string{"not a cursor!", "%%%", "AAAA", "x" + s.readyID, "=="} {
		t.Run(bad, func(t *testing.T) {
			path := "/api/sse?channel=" + dm.channel()
			r, err := a.requestHeader(http.MethodGet, path, alice.token, http.Header{"Last-Event-Id": {bad}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, r, http.StatusBadRequest, "")
			wantError(t, a.do(t, http.MethodGet, path+"&lastEventId="+url.QueryEscape(bad), alice.token, nil), http.StatusBadRequest, "")
		})
	}
}
