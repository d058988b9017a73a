package tail_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/relaymsg/relay/cmd/relay/tail"
)

// TestInboxResumes: tail --inbox --user u_bob asks for u_bob's inbox,
// prints its messages to out and its conversation_added, read and
// channel_removed to status, and after the stream drops resumes from the
// last id, printing a repeated message once.
func TestInboxResumes(t *testing.T) {
	t.Parallel()
	added := `id: i2` + "\n" + `event: conversation_added` + "\n" +
		`data: {"id":"grp_1","kind":"group","name":"Team","memberIds":["u_alice","u_bob"],"createdAt":"2026-12-01T10:00:00Z","lastSeq":4,"readSeq":0,"unreadCount":4}` + "\n\n"
	out, status, err := run(t, []script{
		{blocks: []string{"id: i0\nevent: ready\ndata: {\"conversations\":1}\n\n", msg("i1", 1, "one")}},
		{wantLastEventID: "i1", blocks: []string{"id: i1\nevent: ready\ndata: {\"conversations\":1}\n\n", msg("i1", 1, "one"), added,
			"id: i3\nevent: read\ndata: {\"channel\":\"dm:dm_1\",\"readSeq\":1}\n\n",
			"id: i4\nevent: channel_removed\ndata: {\"channel\":\"group:grp_1\"}\n\n",
			msg("i5", 2, "two"), "event: token_expired\ndata: {}\n\n"}},
	}, tail.Options{Inbox: true, User: "u_bob"})
	if !errors.Is(err, tail.ErrTokenExpired) {
		t.Fatalf("Run = %v, want ErrTokenExpired", err)
	}
	want := "2026-12-01T10:00:01Z dm:dm_1 #1 u_alice: one\n2026-12-01T10:00:02Z dm:dm_1 #2 u_alice: two\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s\nstatus:\n%s", out, want, status)
	}
	for _, line := range []string{
		"tail: following the inbox of u_bob, 1 conversations (cursor i0)\n",
		"reconnecting",
		"tail: following the inbox of u_bob, 1 conversations (cursor i1)\n",
		`tail: added to grp_1 (group "Team", lastSeq 4)` + "\n",
		"tail: dm:dm_1 read up to #1\n",
		`tail: no longer a member: {"channel":"group:grp_1"}` + "\n",
	} {
		if !strings.Contains(status, line) {
			t.Errorf("status lacks %q:\n%s", line, status)
		}
	}
}

// TestOptionsRejected: the inbox excludes channels, a user requires the
// inbox, and something must be followed; none of them sends a request.
func TestOptionsRejected(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]tail.Options{
		"inbox and channels": {Inbox: true, Channels: []string{"dm:dm_1"}},
		"user without inbox": {User: "u_bob", Channels: []string{"dm:dm_1"}},
		"nothing":            {},
	} {
		o.BaseURL, o.Token = "http://127.0.0.1:1", "tok"
		if err := tail.Run(context.Background(), o, io.Discard, io.Discard); err == nil {
			t.Errorf("%s: Run = nil, want an error", name)
		}
	}
}
