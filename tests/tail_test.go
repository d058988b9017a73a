package tests

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/cmd/relay/app"
	"github.com/relaymsg/relay/cmd/relay/tail"
)

// TestTailResumesAcrossARestart follows a DM with `relay tail`'s engine
// against the built binary, stops the server, posts meanwhile through
// another instance, and starts the server again on the same address: tail
// reconnects with its cursor and prints every message once, in order.
func TestTailResumesAcrossARestart(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	_, dsn := pgtest.NewDatabase(t)
	env := func(addr string) map[string]string {
		return map[string]string{"DATABASE_URL": dsn, "AUTH_SECRET": string(testSecret), "ADDR": addr, "SSE_RETRY": "100ms",
			"NOTIFIER": "postgres"}
	}
	followed := startRelay(t, env(""))
	// Another instance posts, so that posting goes on while the followed
	// one is down; LISTEN/NOTIFY carries the messages across.
	poster := startAppOn(t, dsn, nil, func(cfg *app.Config) { cfg.Notifier = app.NotifierPostgres })
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := poster.createDM(t, alice, "u_bob")

	out, status := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- tail.Run(ctx, tail.Options{BaseURL: followed.url, Channels: []string{dm.channel()}, Token: bob.token}, out, status)
	}()
	printed := func(n int) func() bool {
		return func() bool { return strings.Count(out.String(), "\n") >= n }
	}
	waitFor(t, "tail to follow", func() bool { return strings.Contains(status.String(), "following") })
	var sent []message
	sent = append(sent, poster.send(t, alice, dm, "before the restart"))
	waitFor(t, "the first message printed", printed(1))

	if err := followed.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := followed.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d, want 0", code)
	}
	sent = append(sent, poster.send(t, alice, dm, "while it is down"), poster.send(t, alice, dm, "still down"))
	startRelay(t, env(followed.addr))
	waitFor(t, "the missed messages printed", printed(3))
	sent = append(sent, poster.send(t, alice, dm, "after the restart"))
	waitFor(t, "the last message printed", printed(4))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail.Run = %v, want nil once cancelled", err)
	}

	var want strings.Builder
	for _, m := range sent {
		fmt.Fprintf(&want, "%s %s #%d u_alice: %s\n", m.CreatedAt, dm.channel(), m.Seq, m.Content)
	}
	if out.String() != want.String() {
		t.Fatalf("tail printed:\n%s\nwant:\n%s\nstatus:\n%s", out, want.String(), status)
	}
	if !strings.Contains(status.String(), "reconnecting") {
		t.Fatalf("status %q does not tell of the reconnection", status)
	}
}

// TestTailInboxResumesAcrossARestart follows u_bob's inbox with `relay
// tail --inbox`'s engine against the built binary: a DM's message arrives
// live; while the server is down a group is created with bob and posted
// to; after the restart tail resumes with its cursor and prints the
// group's conversation_added, whose lastSeq covers the message posted
// meanwhile (API.md: only messages after it follow), then the group's live
// messages, and nothing twice.
func TestTailInboxResumesAcrossARestart(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	_, dsn := pgtest.NewDatabase(t)
	env := func(addr string) map[string]string {
		return map[string]string{"DATABASE_URL": dsn, "AUTH_SECRET": string(testSecret), "ADDR": addr, "SSE_RETRY": "100ms",
			"NOTIFIER": "postgres"}
	}
	followed := startRelay(t, env(""))
	poster := startAppOn(t, dsn, nil, func(cfg *app.Config) { cfg.Notifier = app.NotifierPostgres })
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	dm := poster.createDM(t, alice, bob.id)

	out, status := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- tail.Run(ctx, tail.Options{BaseURL: followed.url, Inbox: true, Token: bob.token}, out, status)
	}()
	printed := func(n int) func() bool {
		return func() bool { return strings.Count(out.String(), "\n") >= n }
	}
	waitFor(t, "tail to follow the inbox", func() bool { return strings.Contains(status.String(), "following the inbox, 1 conversations") })
	sent := []message{poster.send(t, alice, dm, "in the DM")}
	waitFor(t, "the DM's message printed", printed(1))

	if err := followed.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := followed.waitExit(t, waitTimeout); code != 0 {
		t.Fatalf("relay serve exited with %d, want 0", code)
	}
	group := poster.createGroup(t, alice, "while down", bob.id)
	poster.send(t, alice, group, "before bob's tail is back")
	startRelay(t, env(followed.addr))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tail printed:\n%s\nstatus:\n%s", out, status)
		}
	})
	added := fmt.Sprintf("tail: added to %s (group %q, lastSeq 1)\n", group.ID, "while down")
	waitFor(t, "the group's conversation_added", func() bool { return strings.Contains(status.String(), added) })
	sent = append(sent, poster.send(t, alice, group, "in the group"))
	waitFor(t, "the group's live message printed", printed(2))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail.Run = %v, want nil once cancelled", err)
	}

	want := fmt.Sprintf("%s %s #%d u_alice: %s\n%s %s #%d u_alice: %s\n",
		sent[0].CreatedAt, dm.channel(), sent[0].Seq, sent[0].Content, sent[1].CreatedAt, group.channel(), sent[1].Seq, sent[1].Content)
	if out.String() != want {
		t.Fatalf("tail printed:\n%s\nwant:\n%s\nstatus:\n%s", out, want, status)
	}
	if !strings.Contains(status.String(), "reconnecting") {
		t.Fatalf("status %q does not tell of the reconnection", status)
	}
}
