package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/postgres/pgtest"
)

// TestCrashLosesNothing SIGKILLs the built binary while 8 senders post
// with clientMessageIds and retry every failure, then starts it again on
// the same store: every message that got a 2xx is stored exactly once with
// gap-free seqs, every retry is answered with the original, and a stream
// that resumes with the cursor it had before the crash gets each message
// once, in order. On PostgreSQL and on SQLite, whose file must open
// cleanly after the kill.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	pgtest.SkipIfShort(t)
	stores := map[string]func(t *testing.T) string{
		"postgres": func(t *testing.T) string { _, dsn := pgtest.NewDatabase(t); return dsn },
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "relay.db") },
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCrash(t, store(t))
		})
	}
}

func testCrash(t *testing.T, dsn string) {
	const senders, perSender = 8, 30
	env := map[string]string{"DATABASE_URL": dsn, "AUTH_SECRET": string(testSecret), "ADDR": freeAddr(t)}
	p := startRelay(t, env)
	alice, reader := newUser(t, "u_alice"), newUser(t, "u_reader")
	users := make([]user, senders)
	ids := []string{reader.id}
	for i := range users {
		users[i] = newUser(t, fmt.Sprintf("u_sender%d", i))
		ids = append(ids, users[i].id)
	}
	group := p.createGroup(t, alice, "crash", ids...)

	// The reader follows the group until the crash ends its stream.
	before := p.openStream(t, reader, []string{group.channel()}, streamOpts{})
	var (
		mu      sync.Mutex
		seen    []int64
		lastID  = before.readyID
		readEnd = make(chan struct{})
	)
	go func() {
		defer close(readEnd)
		for {
			select {
			case ev := <-before.blocks:
				if ev.Event != "message" {
					continue
				}
				var m message
				if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
					t.Errorf("message data %q: %v", ev.Data, err)
					return
				}
				mu.Lock()
				seen, lastID = append(seen, m.Seq), ev.ID
				mu.Unlock()
			case <-before.ended:
				return
			}
		}
	}()

	// Senders post perSender messages each, retrying each one with the
	// same clientMessageId until it gets a 2xx; the process is killed once
	// a third of all messages are acknowledged.
	var acked atomic.Int64
	killAt := int64(senders * perSender / 3)
	killed := make(chan struct{})
	var wg sync.WaitGroup
	client := p.api // it dials the address, so it reaches the restarted process too
	answers := make([][]message, senders)
	for i, u := range users {
		wg.Go(func() {
			for n := range perSender {
				body := messageBody(group, fmt.Sprintf("message %d of %s", n, u.id))
				body["clientMessageId"] = fmt.Sprintf("c-%d", n)
				answers[i] = append(answers[i], postUntilStored(t, client, u, body))
				if acked.Add(1) == killAt {
					close(killed)
				}
			}
		})
	}
	<-killed
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	<-readEnd
	p = startRelay(t, env) // the same address: the senders carry on there
	wg.Wait()
	if t.Failed() {
		return
	}

	// Every acknowledged message is stored once, and nothing else is.
	history := allHistory(t, p.api, alice, group)
	if got, want := seqs(history), seqRange(1, senders*perSender); !slices.Equal(got, want) {
		t.Fatalf("stored seqs %v, want %v", got, want)
	}
	stored := make(map[string]message, len(history))
	for _, m := range history {
		key := m.SenderID + "/" + *m.ClientMessageID
		if _, dup := stored[key]; dup {
			t.Fatalf("%s stored twice", key)
		}
		stored[key] = m
	}
	for i, list := range answers {
		for _, m := range list {
			if got := stored[users[i].id+"/"+*m.ClientMessageID]; got.ID != m.ID || got.Seq != m.Seq {
				t.Fatalf("%s answered %s #%d, stored %s #%d", users[i].id, m.ID, m.Seq, got.ID, got.Seq)
			}
		}
	}

	// The reader resumes from its last cursor and gets the rest, once.
	mu.Lock()
	got, cursor := slices.Clone(seen), lastID
	mu.Unlock()
	resumed := p.openStream(t, reader, []string{group.channel()}, streamOpts{lastEventID: cursor})
	for len(got) < senders*perSender {
		m, _ := resumed.nextMessage(t)
		got = append(got, m.Seq)
	}
	wantSeqs(t, "the reader's seqs across the crash", got, seqRange(1, senders*perSender))
}

// postUntilStored posts body as u until it is stored (201, or 200 for a
// retry of a message that was stored without its answer arriving) and
// returns the answer. Failures while the service is down are retried;
// any other answer fails t.
func postUntilStored(t *testing.T, c *api, u user, body map[string]any) message {
	deadline := time.Now().Add(2 * waitTimeout)
	for time.Now().Before(deadline) {
		r, err := c.request(http.MethodPost, "/api/messages", u.token, body)
		switch {
		case err != nil, r.status == http.StatusServiceUnavailable:
			time.Sleep(20 * time.Millisecond) // the service is restarting: a client's retry pause
			continue
		case r.status == http.StatusCreated, r.status == http.StatusOK:
			var m message
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Errorf("answer %s: %v", r, err)
			}
			return m
		default:
			t.Errorf("post %v as %s: %s", body["clientMessageId"], u.id, r)
			return message{}
		}
	}
	t.Errorf("post %v as %s: not stored within %s", body["clientMessageId"], u.id, 2*waitTimeout)
	return message{}
}

// allHistory reads the whole history of conv, page after page.
func allHistory(t *testing.T, c *api, u user, conv conversation) []message {
	var all []message
	for {
		var after int64
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page := c.history(t, u, conv, fmt.Sprintf("&after=%d&limit=200", after))
		all = append(all, page...)
		if len(page) < 200 {
			return all
		}
	}
}
