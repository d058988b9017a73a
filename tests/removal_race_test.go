package tests

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// errRemoved ends a sender's loop: its post was refused as not_found, which
// is what a member removed from the group gets.
var errRemoved = errors.New("removed")

// TestRemovedMemberCannotPost races removals from a group with its members
// posting as fast as they can, on both stores. Once DELETE
// /api/groups/{id}/members/{userId} has answered 204, the removal is
// committed, so no message of that sender may be stored after it: every
// message of a removed sender must have a seq at most the group's last seq
// read right after the 204 (read after it, that last seq is at least the
// one at the removal's commit; a message stored after the commit whose seq
// is above it is stored after the removal, by any clock).
//
// Before the membership check moved into the append's transaction, a send
// that passed the check, then queued for the conversation's lock behind the
// other senders (and the removal itself), was stored right after the
// removal committed; with several senders queued that lands above the last
// seq read after the 204 nearly every time.
func TestRemovedMemberCannotPost(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) *testApp{
		"postgres": func(t *testing.T) *testApp { return startApp(t) },
		"sqlite":   startSQLiteApp,
	}
	for name, start := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRemovedMemberCannotPost(t, start(t))
		})
	}
}

func testRemovedMemberCannotPost(t *testing.T, a *testApp) {
	const stayers, victims = 2, 6
	keeper := newUser(t, "u_keeper") // removes the victims and reads; never posts
	var members []string
	senders := map[string]user{}
	for i := range stayers {
		u := newUser(t, fmt.Sprintf("u_stay%d", i))
		senders[u.id] = u
		members = append(members, u.id)
	}
	var victimIDs []string
	for i := range victims {
		u := newUser(t, fmt.Sprintf("u_gone%d", i))
		senders[u.id] = u
		members = append(members, u.id)
		victimIDs = append(victimIDs, u.id)
	}
	g := a.createGroup(t, keeper, "racing", members...)

	var (
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		mu      sync.Mutex
		posted  = map[string]int{} // 201s per sender
		errs    []error
		stopped sync.Once
	)
	halt := func() { stopped.Do(func() { close(stop) }); wg.Wait() }
	t.Cleanup(halt)
	for _, u := range senders {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := a.request(http.MethodPost, "/api/messages", u.token, messageBody(g, fmt.Sprintf("%s #%d", u.id, i)))
				switch {
				case err == nil && r.status == http.StatusCreated:
					mu.Lock()
					posted[u.id]++
					mu.Unlock()
					continue
				case err == nil && r.status == http.StatusNotFound:
					err = errRemoved
				case err == nil:
					err = fmt.Errorf("POST /api/messages as %s: %s", u.id, r)
				}
				if !errors.Is(err, errRemoved) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
		})
	}
	postedBy := func(id string) int {
		mu.Lock()
		defer mu.Unlock()
		return posted[id]
	}

	// lastSeq reads where the group stands, as the keeper.
	lastSeq := func() int64 {
		page := a.history(t, keeper, g, "&limit=1")
		if len(page) == 0 {
			return 0
		}
		return page[0].Seq
	}
	bound := map[string]int64{}      // victim: the group's last seq right after its removal's 204
	removedAt := map[string]string{} // victim: when that 204 came back
	for _, id := range victimIDs {
		// Remove each victim while it is posting, its next send (and the
		// others') queued at the store.
		n := postedBy(id)
		waitFor(t, id+" posting", func() bool { return postedBy(id) >= n+3 })
		a.removeMember(t, keeper, g, id)
		removedAt[id] = time.Now().UTC().Format("15:04:05.000000")
		bound[id] = lastSeq()
	}
	halt()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	total := lastSeq()
	var stored []message
	for after := int64(0); after < total; {
		page := a.history(t, keeper, g, fmt.Sprintf("&after=%d&limit=200", after))
		if len(page) == 0 {
			t.Fatalf("history after seq %d is empty; the group's last seq is %d", after, total)
		}
		stored = append(stored, page...)
		after = page[len(page)-1].Seq
	}
	wantSeqs(t, "history", seqs(stored), seqRange(1, total))
	var late []string
	for _, m := range stored {
		if b, ok := bound[m.SenderID]; ok && m.Seq > b {
			late = append(late, fmt.Sprintf("%s's seq %d, sent at %s (its removal answered 204 at %s, last seq %d)",
				m.SenderID, m.Seq, m.CreatedAt, removedAt[m.SenderID], b))
		}
	}
	if len(late) > 0 {
		t.Fatalf("%d of %d messages were stored after their sender's removal committed: %v", len(late), total, late)
	}
	t.Logf("%d messages, bounds %v", total, bound)
}
