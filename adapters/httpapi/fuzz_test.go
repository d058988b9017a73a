package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// fuzzBody feeds bodies to POST path through the real handler over the
// fake store: no body panics or gets a 5xx, and one refused with a 4xx
// stores nothing (no conversation, member or message, no seq used).
func fuzzBody(f *testing.F, path string, seeds ...string) {
	for _, s := range append(seeds,
		``, `null`, `[]`, `{}`, `{"x":1}`, `{} {}`, `"str"`, `{"a":`,
		"{\"content\":\"\xff\"}", `{"name":"a\u0000b"}`, `{"userId":"\ud800"}`,
	) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := newEnv(t)
		e.seedDM("u_alice", "u_bob")
		e.seedGroup("grp_team", "u_alice", "u_bob")
		before := e.store.fingerprint()

		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token("u_alice"))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, req)

		switch {
		case w.Code >= 500:
			t.Fatalf("POST %s %q answered %d %s", path, body, w.Code, w.Body)
		case w.Code >= 400:
			if after := e.store.fingerprint(); after != before {
				t.Fatalf("POST %s %q answered %d %s but the store changed:\n%s\nto\n%s", path, body, w.Code, w.Body, before, after)
			}
		case w.Code < 200 || w.Code > 204:
			t.Fatalf("POST %s %q answered %d %s", path, body, w.Code, w.Body)
		}
	})
}

// FuzzSendMessageBody fuzzes the body of POST /api/messages.
func FuzzSendMessageBody(f *testing.F) {
	fuzzBody(f, "/api/messages",
		`{"directMessageId":"dm_u_alice_u_bob","content":"hi"}`,
		`{"groupId":"grp_team","content":" hi ","personaId":"p_1","clientMessageId":"c-1"}`,
		`{"groupId":"grp_team","content":"a\u0000b"}`,
		`{"groupId":"grp_team","content":"hi","clientMessageId":"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"}`,
		`{"groupId":"grp_team","directMessageId":"dm_u_alice_u_bob","content":"hi"}`,
		`{"groupId":"grp_none","content":"hi"}`,
		`{"groupId":"grp_team","content":42}`,
	)
}

// FuzzMarkReadBody fuzzes the body of POST /api/conversations/{id}/read.
func FuzzMarkReadBody(f *testing.F) {
	fuzzBody(f, "/api/conversations/grp_team/read",
		`{"seq":0}`, `{"seq":5}`, `{"seq":-1}`, `{"seq":1.5}`, `{"seq":"1"}`,
		`{"seq":1e3}`, `{"seq":9223372036854775807}`, `{"seq":9223372036854775808}`,
	)
}

// FuzzCreateDMBody fuzzes the body of POST /api/dms.
func FuzzCreateDMBody(f *testing.F) {
	fuzzBody(f, "/api/dms",
		`{"memberIds":["u_alice","u_carol"]}`,
		`{"memberIds":["u_alice","u_alice"]}`,
		`{"memberIds":["u_alice","a/b"]}`,
		`{"memberIds":["u_alice",null]}`,
		`{"memberIds":"u_alice"}`,
	)
}

// FuzzCreateGroupBody fuzzes the body of POST /api/groups.
func FuzzCreateGroupBody(f *testing.F) {
	fuzzBody(f, "/api/groups",
		`{"name":"Team","memberIds":["u_bob"]}`,
		`{"name":"  ","memberIds":[]}`,
		`{"name":"Te\u0000am"}`,
		`{"name":"Team","memberIds":["u bob"]}`,
		`{"name":null,"memberIds":null}`,
	)
}

// FuzzAddMemberBody fuzzes the body of POST /api/groups/{id}/members.
func FuzzAddMemberBody(f *testing.F) {
	fuzzBody(f, "/api/groups/grp_team/members",
		`{"userId":"u_carol"}`,
		`{"userId":"u_bob"}`,
		`{"userId":"a/../b%2F?#"}`,
		`{"userId":""}`,
		`{"userId":null}`,
		`{"userId":["u_carol"]}`,
	)
}

// fingerprint describes everything the store holds, to tell whether a
// request changed it.
func (s *fakeStore) fingerprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for ch, c := range s.convs {
		lines = append(lines, fmt.Sprintf("%s name=%q members=%q lastSeq=%d messages=%d", ch, c.Name, c.MemberIDs, c.LastSeq, len(s.msgs[ch])))
	}
	for k, seq := range s.read {
		lines = append(lines, fmt.Sprintf("%s read by %s to %d", k.channel, k.user, seq))
	}
	slices.Sort(lines)
	return fmt.Sprintf("%d conversations, number %d\n%s", len(s.convs), s.number, strings.Join(lines, "\n"))
}
