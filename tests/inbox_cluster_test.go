package tests

import (
	"net/http"
	"testing"
)

// TestInboxAcrossInstances: bob's inbox on one instance hears, exactly
// once and in order, what alice does on another — a DM opened, its
// messages, a group he is put in, a read on a third instance — over Redis
// (with every Redis connection killed in the middle) and over PostgreSQL
// LISTEN/NOTIFY; and it resumes on the third instance from its last id.
func TestInboxAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		postgres bool
	}{{"redis", false}, {"postgres", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, clusterOptions{postgres: tt.postgres})
			a, b, third := c.nodes[0], c.nodes[1], c.nodes[2]
			alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
			in := b.openInbox(t, bob, "")

			dm := a.createDM(t, alice, bob.id)
			want := func(kind, channel string, seq int64) string {
				t.Helper()
				got := nextInbox(t, in)
				if got.kind != kind || got.channel != channel || got.seq != seq {
					t.Fatalf("on %s, bob's inbox got %+v; want %s %s %d", b.name, got, kind, channel, seq)
				}
				return got.id
			}
			want("conversation_added", dm.channel(), 0)
			a.send(t, alice, dm, "one")
			want("message", dm.channel(), 1)
			g := a.createGroup(t, alice, "team", bob.id)
			want("conversation_added", g.channel(), 0)
			expect(t, third.markRead(t, bob, dm, map[string]any{"seq": 1}), http.StatusNoContent, nil)
			want("read", dm.channel(), 1)

			if !tt.postgres {
				// Every instance watches something, so that each has a
				// subscriber connection to kill.
				a.openInbox(t, alice, "")
				third.openInbox(t, alice, "")
				if c.killClients(t) == 0 {
					t.Fatal("no Redis connection killed")
				}
			}
			for i := range 3 {
				a.send(t, alice, g, "in the group")
				want("message", g.channel(), int64(i+1))
			}
			a.send(t, alice, dm, "two")
			last := want("message", dm.channel(), 2)
			in.close()

			// Resumed on the third instance: only what came after.
			a.send(t, alice, g, "while away")
			in = third.openInbox(t, bob, last)
			want("message", g.channel(), 4)
			a.send(t, alice, dm, "three")
			want("message", dm.channel(), 3)
		})
	}
}
