package tests

import (
	"encoding/json"
	"net/http"
	"testing"
)

// onBothStores runs test as two subtests, each on a service of its own:
// one on PostgreSQL, one on SQLite, so that both stores answer alike.
func onBothStores(t *testing.T, test func(t *testing.T, a *testApp)) {
	t.Helper()
	for _, store := range []struct {
		name  string
		start func(*testing.T) *testApp
	}{
		{"postgres", func(t *testing.T) *testApp { return startApp(t) }},
		{"sqlite", startSQLiteApp},
	} {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			test(t, store.start(t))
		})
	}
}

// errorMessage returns the message of the API error body of r.
func errorMessage(t testing.TB, r response) string {
	t.Helper()
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	return body.Error.Message
}

// TestInvalidUTF8BodyIsRefused sends every JSON body the API takes with
// bytes that are not UTF-8 inside a string: encoding/json would quietly
// turn them into U+FFFD, so the body is refused as invalid_json before it
// is decoded, and nothing is stored.
func TestInvalidUTF8BodyIsRefused(t *testing.T) {
	t.Parallel()
	onBothStores(t, func(t *testing.T, a *testApp) {
		alice := newUser(t, "u_alice")
		dm := a.createDM(t, alice, "u_bob")
		g := a.createGroup(t, alice, "Team")
		tests := []struct {
			name, path, body string
		}{
			{"message content", "/api/messages", `{"directMessageId":"` + dm.ID + `","content":"bad ` + "\xff" + ` byte"}`},
			{"truncated sequence in content", "/api/messages", `{"groupId":"` + g.ID + `","content":"caf` + "\xc3" + `"}`},
			{"surrogate encoded as UTF-8", "/api/messages", `{"groupId":"` + g.ID + `","content":"` + "\xed\xa0\x80" + `"}`},
			{"persona id", "/api/messages", `{"groupId":"` + g.ID + `","content":"hi","personaId":"p` + "\xfe" + `"}`},
			{"outside any string", "/api/messages", `{"groupId":"` + g.ID + `","content":"hi"}` + " \xff"},
			{"group name", "/api/groups", `{"name":"Te` + "\xff" + `am","memberIds":[]}`},
			{"DM member", "/api/dms", `{"memberIds":["u_alice","u_` + "\xff" + `carol"]}`},
			{"added member", "/api/groups/" + g.ID + "/members", `{"userId":"u_` + "\xc0" + `carol"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, a.do(t, http.MethodPost, tt.path, alice.token, []byte(tt.body)), http.StatusBadRequest, "invalid_json")
			})
		}
		list := a.conversations(t, alice)
		if len(list) != 2 {
			t.Fatalf("alice has %d conversations after the refused bodies, want her DM and her group", len(list))
		}
		for _, c := range list {
			if c.LastSeq != 0 {
				t.Fatalf("conversation %s has lastSeq %d: a refused body used a seq", c.ID, c.LastSeq)
			}
			if c.ID == g.ID && len(c.MemberIDs) != 1 {
				t.Fatalf("group members %v: a refused body added one", c.MemberIDs)
			}
		}
		// The seqs are untouched: the next message is seq 1 in each.
		if m := a.send(t, alice, dm, "ok"); m.Seq != 1 {
			t.Fatalf("the first accepted message has seq %d, want 1", m.Seq)
		}
	})
}
