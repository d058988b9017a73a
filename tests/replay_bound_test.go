package tests

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/cmd/relay/app"
)

// TestReplayStopsAtTheAuthorisedPosition: a member reconnects with an old
// cursor to a group whose history is long, while the others post without
// pause, and is removed while its replay is still being written. The
// replay reads the store only up to the group's last seq when the stream
// was authorised; what came later arrives through the live queue, in order
// with the removal. So the stream delivers every seq from the cursor on,
// once and in order, up to somewhere between the last seq up to which
// every 201 came back before the DELETE was sent and the group's last seq
// read right after its 204 (the removal's commit point, or later), then
// channel_removed, then nothing: no message stored after the removal.
//
// The client holds its replay up by not reading, over a connection whose
// receive buffer is a few KiB, until the removal has committed and more
// messages are stored behind it. A replay that read the store to its end
// (no bound) would then read those and deliver them before the removal.
func TestReplayStopsAtTheAuthorisedPosition(t *testing.T) {
	t.Parallel()
	a := startApp(t, func(c *app.Config) {
		// The replay is held up on purpose for a while: do not drop it.
		c.SSEWriteTimeout = time.Minute
	})
	const (
		replayPage = 200 // application.replayPage: messages per store read of a replay
		before     = 20  // messages posted, at least, while the replay is held, before the removal
		after      = 20  // messages posted, at least, after the removal's 204
	)
	// More than the connection can buffer, and a page more: the replay is
	// held up with at least one store read still to make.
	backlog := int(floodSize(t)) + replayPage
	keeper, victim := newUser(t, "u_keeper"), newUser(t, "u_victim")
	posters := []user{newUser(t, "u_post0"), newUser(t, "u_post1")}
	g := a.createGroup(t, keeper, "replay bound", victim.id, posters[0].id, posters[1].id)
	lastSeq := func() int64 {
		page := a.history(t, keeper, g, "&limit=1")
		if len(page) == 0 {
			return 0
		}
		return page[0].Seq
	}

	// The victim's old cursor: where it stood before the backlog.
	first := a.openStream(t, victim, []string{g.channel()}, streamOpts{})
	cursor := first.readyID
	first.close()
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := p; i < backlog; i += 4 {
				if _, _, err := a.postMessage(posters[i%2], g, bigContent(int64(i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	s := smallReceiveBuffer(t, a.url).openStream(t, victim, []string{g.channel()}, streamOpts{lastEventID: cursor, paused: true})
	// The 200 came after the stream was authorised: its replay reads up
	// to here. Wait until its writes are held up, well inside the backlog.
	const delivered = "relay_messages_delivered_total"
	var stuck float64
	waitFor(t, "the replay to be held up", func() bool {
		n := a.metric(t, delivered)
		time.Sleep(100 * time.Millisecond)
		stuck = a.metric(t, delivered)
		return n == stuck && stuck > 0
	})
	if int(stuck)+replayPage >= backlog {
		t.Fatalf("the replay was held up only after %v of %d messages: no store read left to race the removal with", stuck, backlog)
	}

	// The others post without pause through the removal.
	var (
		mu     sync.Mutex
		acked  = map[int64]bool{} // the seqs whose 201 came back
		stored int
		errs   []error
		stop   = make(chan struct{})
	)
	for _, p := range posters {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, m, err := a.postMessage(p, g, fmt.Sprintf("%s live %d", p.id, i))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					acked[m.Seq] = true
					stored++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	halted := false
	halt := func() {
		if !halted {
			halted = true
			close(stop)
			wg.Wait()
		}
	}
	t.Cleanup(halt)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return stored
	}
	waitFor(t, "messages before the removal", func() bool { return count() >= before })
	// Every message up to floor had its 201, so its event was published,
	// before the DELETE was sent: it must be delivered. A later one may
	// have committed before the removal yet been published after it,
	// since the two posters race: the stream rightly drops it.
	mu.Lock()
	floor := int64(backlog)
	for acked[floor+1] {
		floor++
	}
	mu.Unlock()
	a.removeMember(t, keeper, g, victim.id)
	bound := lastSeq() // at or after the removal's commit
	waitFor(t, "messages after the removal", func() bool { return lastSeq() >= bound+after })
	halt()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// The replay may have crept on (a store read slower than the wait
	// above), but a store read must still be ahead of it: the one a
	// replay without its bound would make past the removal.
	if held := a.metric(t, delivered); int(held)+replayPage >= backlog {
		t.Fatalf("the replay went on to %v of %d messages while the client was not reading: no store read left after the removal", held, backlog)
	}

	s.start()
	s.readPreamble(t)
	rest, err := s.waitEnd(t)
	var got []int64
	removed := false
	for _, ev := range rest {
		switch {
		case !ev.IsDispatched():
		case ev.Event == "message" && !removed:
			var m message
			mustUnmarshal(t, ev.Data, &m)
			got = append(got, m.Seq)
		case ev.Event == "channel_removed" && !removed:
			var data struct {
				Channel string `json:"channel"`
			}
			if jerr := json.Unmarshal([]byte(ev.Data), &data); jerr != nil || data.Channel != g.channel() {
				t.Fatalf("channel_removed %q, want of %s", ev.Data, g.channel())
			}
			removed = true
		default:
			t.Fatalf("after %d messages (seqs up to %v) and channel_removed %v: %q", len(got), last(got), removed, ev.Raw)
		}
	}
	if !removed {
		t.Fatalf("the stream ended (%v) after seqs up to %v without channel_removed", err, last(got))
	}
	n := int64(len(got))
	if n < floor || n > bound {
		t.Fatalf("the stream delivered %d messages (seqs up to %v), want from %d (every seq to there had its 201 before the DELETE) to %d (the last seq after its 204)",
			n, last(got), floor, bound)
	}
	wantSeqs(t, "the stream", got, seqRange(1, n))
	t.Logf("authorised at %d, replay held at %v, delivered 1…%d, floor %d, bound %d, group at %d", backlog, stuck, n, floor, bound, lastSeq())
}

func last(seqs []int64) any {
	if len(seqs) == 0 {
		return "none"
	}
	return seqs[len(seqs)-1]
}
