package tests

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// poster sends messages into one conversation as fast as it can until it is
// halted, and remembers the highest seq committed.
type poster struct {
	last atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
	err  error // read after halting
	once sync.Once
}

func startPoster(a *testApp, u user, conv conversation) *poster {
	p := &poster{stop: make(chan struct{})}
	p.wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			_, m, err := a.postMessage(u, conv, fmt.Sprintf("racing %d", i))
			if err != nil {
				p.err = err
				return
			}
			p.last.Store(max(p.last.Load(), m.Seq))
		}
	})
	return p
}

// halt stops the poster and fails t if a post failed. It is safe to call
// more than once.
func (p *poster) halt(t *testing.T) {
	t.Helper()
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
	if p.err != nil {
		t.Fatal(p.err)
	}
}

// readUntil reads message events from s until every channel's last seq
// reaches until[channel], checking that each message is the next seq of its
// channel after at[channel] (when known), and updating at. It returns the
// first seq read of each channel and the id of the last event read.
func readUntil(t *testing.T, s *stream, at, until map[string]int64) (first map[string]int64, cursor string) {
	t.Helper()
	first = map[string]int64{}
	for done := false; !done; {
		m, ev := s.nextMessage(t)
		if _, ok := first[m.Channel]; !ok {
			first[m.Channel] = m.Seq
		}
		if prev, ok := at[m.Channel]; ok && m.Seq != prev+1 {
			t.Fatalf("%s: got seq %d after %d: a message was lost or duplicated", m.Channel, m.Seq, prev)
		}
		at[m.Channel], cursor = m.Seq, ev.ID
		done = true
		for ch, target := range until {
			if seq, ok := at[ch]; !ok || seq < target {
				done = false
			}
		}
	}
	return first, cursor
}

// TestMessagesCommittedDuringSetupAreDeliveredOnce connects over and over
// while messages are being committed into the stream's channels, and checks
// that each connection delivers exactly the seqs after its cursor: none
// lost between subscribing and reading where the channels end, none twice.
func TestMessagesCommittedDuringSetupAreDeliveredOnce(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team", "u_bob")
	channels := []string{dm.channel(), g.channel()}
	// Two posters per channel, so that notifications also arrive out of
	// seq order (commit order and publish order differ).
	posters := map[string][]*poster{
		dm.channel(): {startPoster(a, alice, dm), startPoster(a, bob, dm)},
		g.channel():  {startPoster(a, alice, g), startPoster(a, bob, g)},
	}
	haltAll := func() {
		for _, ps := range posters {
			for _, p := range ps {
				p.halt(t)
			}
		}
	}
	t.Cleanup(haltAll)
	// committed is, per channel, the last seq known to be committed.
	committed := func() map[string]int64 {
		out := map[string]int64{}
		for ch, ps := range posters {
			for _, p := range ps {
				out[ch] = max(out[ch], p.last.Load())
			}
		}
		return out
	}
	// targets is committed, but at least one past from, so that every
	// read makes progress.
	targets := func(from map[string]int64) map[string]int64 {
		out := committed()
		for ch := range out {
			out[ch] = max(out[ch], from[ch]+1)
		}
		return out
	}

	// A fresh stream starts where its ready id says: a second stream
	// resuming from that id delivers the same first messages.
	for round := range 10 {
		fresh := a.openStream(t, alice, channels, streamOpts{})
		resumed := a.openStream(t, alice, channels, streamOpts{lastEventID: fresh.readyID})
		until := targets(nil)
		freshFirst, _ := readUntil(t, fresh, map[string]int64{}, until)
		resumedFirst, _ := readUntil(t, resumed, map[string]int64{}, until)
		for _, ch := range channels {
			if freshFirst[ch] != resumedFirst[ch] {
				t.Fatalf("round %d, %s: the fresh stream's first message is seq %d, resuming from its ready id gives %d first",
					round, ch, freshFirst[ch], resumedFirst[ch])
			}
		}
		fresh.close()
		resumed.close()
	}

	// Reconnect from the last cursor over and over while the posters run.
	// Every third connection is dropped right after ready: its ready id
	// must resume from the same place.
	const rounds = 40
	at := map[string]int64{}
	s := a.openStream(t, alice, channels, streamOpts{})
	_, cursor := readUntil(t, s, at, targets(nil))
	s.close()
	for round := range rounds {
		s := a.openStream(t, alice, channels, streamOpts{lastEventID: cursor})
		if round%3 == 0 {
			cursor = s.readyID
		} else {
			_, cursor = readUntil(t, s, at, targets(at))
		}
		s.close()
	}
	haltAll()
	// And one last time with the posters stopped: exactly the rest.
	last := committed()
	s = a.openStream(t, alice, channels, streamOpts{lastEventID: cursor})
	for ch, seq := range last {
		if at[ch] < seq {
			readUntil(t, s, at, map[string]int64{ch: seq})
		}
	}
	t.Logf("messages committed during the reconnects: %v", last)
	m := a.send(t, alice, dm, "the end")
	if got, _ := s.nextMessage(t); got.ID != m.ID {
		t.Fatalf("after the last committed seqs %v got %s seq %d, want the final message", last, got.Channel, got.Seq)
	}
}

// TestMessageRacingSetupArrivesOnItsOwn races one message with the set-up
// of a stream and then sends nothing until it arrived: with no later
// message whose seq reveals a gap, a message lost between subscribing and
// reading where the channel ends would never come. It must arrive, in the
// replay or live, exactly once (the sentinel sent after it comes next).
func TestMessageRacingSetupArrivesOnItsOwn(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	g := a.createGroup(t, alice, "Team")
	channels := []string{g.channel()}
	first := a.openStream(t, alice, channels, streamOpts{})
	cursor, last := first.readyID, int64(0)
	first.close()

	for round := range 30 {
		var wg sync.WaitGroup
		var racing message
		var err error
		wg.Go(func() { _, racing, err = a.postMessage(alice, g, fmt.Sprintf("racing %d", round)) })
		s := a.openStream(t, alice, channels, streamOpts{lastEventID: cursor})
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.nextMessage(t); got.ID != racing.ID || got.Seq != last+1 {
			t.Fatalf("round %d: got seq %d (%s), want the racing message, seq %d", round, got.Seq, got.Content, last+1)
		}
		sentinel := a.send(t, alice, g, fmt.Sprintf("sentinel %d", round))
		got, ev := s.nextMessage(t)
		if got.ID != sentinel.ID {
			t.Fatalf("round %d: after the racing message got seq %d (%s), want the sentinel", round, got.Seq, got.Content)
		}
		cursor, last = ev.ID, got.Seq
		s.close()
	}
}
