package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
)

func TestConcurrentSendsGetGapFreeSeqs(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	senders := make([]user, 5)
	for i := range senders {
		senders[i] = newUser(t, fmt.Sprintf("u_%d", i))
	}
	g := a.createGroup(t, senders[0], "Busy", "u_1", "u_2", "u_3", "u_4")
	s := a.openStream(t, senders[1], []string{g.channel()}, streamOpts{})

	const total = 50
	start := make(chan struct{})
	results := make([]message, total)
	errs := make([]error, total)
	var wg sync.WaitGroup
	for i := range total {
		wg.Go(func() {
			<-start
			_, results[i], errs[i] = a.postMessage(senders[i%len(senders)], g, fmt.Sprintf("message %d", i))
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	got := seqs(results)
	slices.Sort(got)
	wantSeqs(t, "the 50 answers", got, seqRange(1, total))
	ids := map[string]bool{}
	for _, m := range results {
		ids[m.ID] = true
	}
	if len(ids) != total {
		t.Fatalf("%d distinct ids for %d messages", len(ids), total)
	}

	// History is in seq order and holds each answer as it was given.
	page := a.history(t, senders[3], g, "")
	wantSeqs(t, "history", seqs(page), seqRange(1, total))
	for _, m := range page {
		if want := results[slices.IndexFunc(results, func(r message) bool { return r.Seq == m.Seq })]; !reflect.DeepEqual(m, want) {
			t.Fatalf("history has %+v at seq %d, the POST answered %+v", m, m.Seq, want)
		}
	}
	if got := find(t, a.conversations(t, senders[0]), g.ID).LastSeq; got != total {
		t.Fatalf("lastSeq = %d, want %d", got, total)
	}

	// Notifications of concurrent commits may arrive in any order; the
	// stream still delivers every seq once, in order.
	live, _ := s.messages(t, total)
	wantSeqs(t, "the live stream", seqs(live), seqRange(1, total))
	m := a.send(t, senders[0], g, "after the burst")
	if next, _ := s.nextMessage(t); next.ID != m.ID {
		t.Fatalf("after the burst the stream got seq %d, want the next message (seq %d)", next.Seq, m.Seq)
	}
}

func TestIdempotentRetry(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := a.createDM(t, alice, "u_bob")
	body := map[string]any{"directMessageId": dm.ID, "content": "hi", "personaId": "p_1", "clientMessageId": "c-1"}

	first := a.do(t, http.MethodPost, "/api/messages", alice.token, body)
	expect(t, first, http.StatusCreated, nil)
	retry := a.do(t, http.MethodPost, "/api/messages", alice.token, body)
	expect(t, retry, http.StatusOK, nil)
	if string(retry.body) != string(first.body) {
		t.Fatalf("the retry answered %s, want the original %s", retry, first)
	}
	if got := find(t, a.conversations(t, alice), dm.ID).LastSeq; got != 1 {
		t.Fatalf("lastSeq = %d after a retry, want 1", got)
	}

	// The key is per sender: bob's "c-1" is a message of its own.
	var bobs message
	expect(t, a.do(t, http.MethodPost, "/api/messages", bob.token, body), http.StatusCreated, &bobs)
	if bobs.Seq != 2 || bobs.SenderID != "u_bob" {
		t.Fatalf("bob's message with alice's key: %+v, want seq 2 by u_bob", bobs)
	}

	// The same key for another message is a conflict, and stores nothing.
	for _, change := range []map[string]any{{"content": "something else"}, {"personaId": "p_2"}} {
		other := map[string]any{}
		for k, v := range body {
			other[k] = v
		}
		for k, v := range change {
			other[k] = v
		}
		wantError(t, a.do(t, http.MethodPost, "/api/messages", alice.token, other), http.StatusConflict, "")
	}
	if page := a.history(t, alice, dm, ""); len(page) != 2 {
		t.Fatalf("history holds %d messages, want 2", len(page))
	}
}

func TestIdempotentRetriesRacing(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	g := a.createGroup(t, alice, "Team")
	a.send(t, alice, g, "before")

	const racers = 10
	body := map[string]any{"groupId": g.ID, "content": "once", "clientMessageId": "race-1"}
	start := make(chan struct{})
	answers := make([]response, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = a.request(http.MethodPost, "/api/messages", alice.token, body)
		})
	}
	close(start)
	wg.Wait()

	created := 0
	var id string
	for i, r := range answers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("racer %d got %s, want 201 or 200", i, r)
		}
		var m message
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		if id == "" {
			id = m.ID
		}
		if m.ID != id || m.Seq != 2 {
			t.Fatalf("racer %d got %+v, want id %s seq 2 like the others", i, m, id)
		}
	}
	if created != 1 {
		t.Fatalf("%d racers got 201, want exactly 1", created)
	}
	if got := find(t, a.conversations(t, alice), g.ID).LastSeq; got != 2 {
		t.Fatalf("lastSeq = %d, want 2: the racing retries must create one message", got)
	}
}
