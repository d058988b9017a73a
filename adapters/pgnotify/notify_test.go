package pgnotify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/pgnotify"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
	"github.com/relaymsg/relay/ports/repotest"
)

const testNotifyChannel = "relay_test_events"

// TestRepositoryContractWithNotify runs the contract suite with the
// NOTIFY on: it must change nothing of what the repositories do. Its
// subtests share one database (the suite's ids are unique), which halves
// the time the suite takes; postgres's TestRepositoryContract keeps them
// apart.
func TestRepositoryContractWithNotify(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	notify := pgnotify.WithNotify(pgnotify.NotifyConfig{Channel: testNotifyChannel, Origin: "i_test"})
	repotest.Run(t, func(t *testing.T) (ports.ConversationRepository, ports.MessageRepository) {
		return postgres.NewConversationRepository(db), postgres.NewMessageRepository(db, notify)
	})
}

// TestAppendNotifiesOnCommit listens on a connection of its own while
// messages are appended: each stored message is notified exactly once,
// whole or (too large) partial, and an append that fails is not notified.
func TestAppendNotifiesOnCommit(t *testing.T) {
	pgtest.SkipIfShort(t)
	t.Parallel()
	db, dsn := pgtest.NewDatabase(t)
	notifications := listen(t, dsn, testNotifyChannel)
	convs := postgres.NewConversationRepository(db)
	msgs := postgres.NewMessageRepository(db, pgnotify.WithNotify(pgnotify.NotifyConfig{Channel: testNotifyChannel, Origin: "i_a"}))
	ctx := t.Context()
	g, _, err := convs.CreateGroup(ctx, domain.Conversation{ID: "grp_n", Kind: domain.KindGroup, Name: "n", MemberIDs: []domain.UserID{"u_a"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id, clientID, content string) domain.Message {
		return domain.Message{ID: id, Channel: g.Channel(), SenderID: "u_a", Content: content, ClientMessageID: clientID, CreatedAt: time.Now()}
	}

	var stored []domain.Message
	for _, m := range []domain.Message{msg("msg_1", "c-1", "one"), msg("msg_2", "", "two"), msg("msg_3", "", strings.Repeat("é", 5000))} {
		s, _, err := msgs.Append(ctx, m, ports.AppendOptions{})
		if err != nil {
			t.Fatalf("Append %s: %v", m.ID, err)
		}
		stored = append(stored, s)
	}
	// Rolled back after its INSERT, or before it: neither is notified.
	if _, _, err := msgs.Append(ctx, msg("msg_dup", "c-1", "again"), ports.AppendOptions{}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("Append with a used client id = %v, want ErrConflict", err)
	}
	missing := msg("msg_x", "", "nowhere")
	missing.Channel = domain.GroupChannel("grp_missing")
	if _, _, err := msgs.Append(ctx, missing, ports.AppendOptions{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Append to a missing conversation = %v, want ErrNotFound", err)
	}
	// Notifications arrive in commit order: once the sentinel is here,
	// every earlier one is too.
	if _, err := db.ExecContext(ctx, `SELECT pg_notify($1, 'sentinel')`, testNotifyChannel); err != nil {
		t.Fatal(err)
	}

	var got []wire.Envelope
	for payload := range receiveUntil(t, notifications, "sentinel") {
		env, err := wire.Decode([]byte(payload))
		if err != nil {
			t.Fatalf("notification %q: %v", payload, err)
		}
		got = append(got, env)
	}
	if len(got) != len(stored) {
		t.Fatalf("received %d notifications, want one per stored message (%d): %+v", len(got), len(stored), got)
	}
	for i, env := range got {
		want := stored[i]
		if env.Origin != "i_a" || env.Event.Kind != domain.EventMessage || env.Event.Message.Seq != want.Seq {
			t.Fatalf("notification %d = %+v, want message %d from i_a", i, env, want.Seq)
		}
		partial := i == 2 // its envelope exceeds pgnotify.NotifyMaxPayload
		if env.Partial != partial {
			t.Fatalf("notification %d partial = %v, want %v", i, env.Partial, partial)
		}
		if !partial && (env.Event.Message.Content != want.Content || !env.Event.Message.CreatedAt.Equal(want.CreatedAt)) {
			t.Fatalf("notification %d carries %+v, want %+v", i, env.Event.Message, want)
		}
	}
}

// listen LISTENs on channel over a connection of its own to dsn.
func listen(t *testing.T, dsn, channel string) <-chan *pq.Notification {
	t.Helper()
	l := pq.NewListener(dsn, 10*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { _ = l.Close() })
	if err := l.Listen(channel); err != nil {
		t.Fatalf("LISTEN %s: %v", channel, err)
	}
	return l.NotificationChannel()
}

// receiveUntil yields the payloads received before sentinel, failing t if
// sentinel does not come within 5 seconds.
func receiveUntil(t *testing.T, c <-chan *pq.Notification, sentinel string) func(func(string) bool) {
	return func(yield func(string) bool) {
		timeout := time.After(5 * time.Second)
		for {
			select {
			case n := <-c:
				if n == nil {
					t.Fatal("listener reconnected: notifications may be lost")
				}
				if n.Extra == sentinel || !yield(n.Extra) {
					return
				}
			case <-timeout:
				t.Fatal("sentinel not received within 5s")
			}
		}
	}
}

func TestNotifyConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg     pgnotify.NotifyConfig
		enabled bool
		valid   bool
	}{
		{pgnotify.NotifyConfig{}, false, true},
		{pgnotify.NotifyConfig{Origin: "i_a"}, false, true},
		{pgnotify.NotifyConfig{Channel: "relay_events", Origin: "i_a"}, true, true},
		{pgnotify.NotifyConfig{Channel: "relay_events"}, true, false}, // its own messages would come back
		{pgnotify.NotifyConfig{Channel: strings.Repeat("c", 64), Origin: "i_a"}, true, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.cfg.Enabled() != tt.enabled || (err == nil) != tt.valid {
			t.Errorf("%+v: Enabled %v, Validate %v; want %v and valid %v", tt.cfg, tt.cfg.Enabled(), err, tt.enabled, tt.valid)
		}
	}
}
