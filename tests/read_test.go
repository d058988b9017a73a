package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// markRead posts seq as u's read position in conv and returns the answer.
func (c *api) markRead(t testing.TB, u user, conv conversation, body any) response {
	t.Helper()
	return c.do(t, http.MethodPost, "/api/conversations/"+conv.ID+"/read", u.token, body)
}

// wantView fails t unless u's GET /api/conversations shows conv with
// readSeq and unreadCount.
func (c *api) wantView(t testing.TB, what string, u user, conv conversation, readSeq, unread int64) {
	t.Helper()
	got := find(t, c.conversations(t, u), conv.ID)
	if got.ReadSeq != readSeq || got.UnreadCount != unread {
		t.Fatalf("%s: %s sees %s with readSeq %d, unreadCount %d; want %d, %d",
			what, u.id, conv.ID, got.ReadSeq, got.UnreadCount, readSeq, unread)
	}
}

// TestReadPositions drives POST /api/conversations/{id}/read and the
// readSeq and unreadCount of GET /api/conversations over HTTP, on both
// stores.
func TestReadPositions(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(*testing.T) *testApp{
		"postgres": func(t *testing.T) *testApp { return startApp(t) },
		"sqlite":   startSQLiteApp,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReadPositions(t, start(t))
		})
	}
}

func testReadPositions(t *testing.T, a *testApp) {
	alice, bob, carol := newUser(t, "u_alice"), newUser(t, "u_bob"), newUser(t, "u_carol")
	g := a.createGroup(t, alice, "Team", bob.id)
	dm := a.createDM(t, alice, bob.id)
	for i := range 3 {
		a.send(t, bob, g, fmt.Sprintf("bob %d", i))
	}
	a.send(t, alice, g, "alice's own")

	// The new fields are there, 0 when never read.
	r := a.do(t, http.MethodGet, "/api/conversations", alice.token, nil)
	var raw []map[string]json.RawMessage
	expect(t, r, http.StatusOK, &raw)
	for _, c := range raw {
		for _, k := range []string{"readSeq", "unreadCount"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("conversation %s lacks %q", r, k)
			}
		}
	}
	a.wantView(t, "never read", alice, g, 0, 3) // her own message is not unread
	a.wantView(t, "never read", bob, g, 0, 1)
	a.wantView(t, "no messages", alice, dm, 0, 0)

	steps := []struct {
		what          string
		seq           int64
		read, unreads int64
	}{
		{"forward", 2, 2, 1},
		{"lower: accepted, no change", 1, 2, 1},
		{"zero: no change", 0, 2, 1},
		{"past the end: clamped to lastSeq", 1000, 4, 0},
	}
	for _, s := range steps {
		resp := a.markRead(t, alice, g, map[string]any{"seq": s.seq})
		expect(t, resp, http.StatusNoContent, nil)
		a.wantView(t, s.what, alice, g, s.read, s.unreads)
	}
	a.wantView(t, "alice's marks are hers", bob, g, 0, 1)

	// Several devices marking at once: the position ends at the highest.
	for i := range 6 {
		a.send(t, bob, g, fmt.Sprintf("more %d", i)) // seqs 5..10
	}
	var wg sync.WaitGroup
	for seq := int64(5); seq <= 10; seq++ {
		wg.Go(func() {
			resp, err := a.request(http.MethodPost, "/api/conversations/"+g.ID+"/read", alice.token, map[string]any{"seq": seq})
			if err != nil || resp.status != http.StatusNoContent {
				t.Errorf("concurrent mark %d: %v, %v", seq, resp, err)
			}
		})
	}
	wg.Wait()
	a.wantView(t, "after concurrent marks", alice, g, 10, 0)
	a.send(t, bob, g, "after")
	a.wantView(t, "a new message", alice, g, 10, 1)

	// Paging is unchanged and each page carries the view.
	var page []conversation
	expect(t, a.do(t, http.MethodGet, "/api/conversations?limit=1", alice.token, nil), http.StatusOK, &page)
	if len(page) != 1 || page[0].ID != dm.ID {
		t.Fatalf("first page of 1 = %+v; want the DM, created last", page)
	}

	// Non-members, a service token included, get the missing
	// conversation's 404, body and all.
	missing := a.markRead(t, alice, conversation{ID: "grp_00000000000000000000000000"}, map[string]any{"seq": 1})
	wantError(t, missing, http.StatusNotFound, "not_found")
	for _, u := range []user{carol, newAdmin(t, "svc_bot")} {
		resp := a.markRead(t, u, g, map[string]any{"seq": 1})
		wantError(t, resp, http.StatusNotFound, "not_found")
		if string(resp.body) != string(missing.body) {
			t.Fatalf("%s marking a group it is not in: %s; want the missing conversation's %s", u.id, resp, missing)
		}
	}
	wantError(t, a.markRead(t, alice, g, map[string]any{"seq": -1}), http.StatusBadRequest, "validation_failed")
	wantError(t, a.markRead(t, alice, g, map[string]any{}), http.StatusBadRequest, "validation_failed")
	wantError(t, a.markRead(t, alice, g, `{"seq":1.5}`), http.StatusBadRequest, "invalid_json")
	wantError(t, a.markRead(t, alice, g, `{"seq":1,"extra":true}`), http.StatusBadRequest, "invalid_json")
	a.wantView(t, "after refused marks", alice, g, 10, 1)
}
