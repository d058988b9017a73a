package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/httpapi"
)

// readView returns readSeq and unreadCount of conversation id in the
// caller's GET /api/conversations.
func readView(t *testing.T, e *env, token, id string) (readSeq, unread int64) {
	t.Helper()
	var items []struct {
		ID          string
		ReadSeq     *int64 `json:"readSeq"`
		UnreadCount *int64 `json:"unreadCount"`
	}
	r := e.do(http.MethodGet, "/api/conversations", token, nil)
	r.expect(t, http.StatusOK, "")
	r.decode(t, &items)
	for _, it := range items {
		if it.ID == id {
			if it.ReadSeq == nil || it.UnreadCount == nil {
				t.Fatalf("item %s lacks readSeq or unreadCount: %s", id, r.body)
			}
			return *it.ReadSeq, *it.UnreadCount
		}
	}
	t.Fatalf("GET /api/conversations lacks %s: %s", id, r.body)
	return 0, 0
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.token("u_alice"), e.token("u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	path := "/api/conversations/grp_team/read"
	for range 3 {
		e.send(bob, g, "hi")
	}
	e.send(alice, g, "mine")
	if rs, n := readView(t, e, alice, "grp_team"); rs != 0 || n != 3 {
		t.Fatalf("before: readSeq %d, unread %d; want 0, 3", rs, n)
	}

	steps := []struct {
		seq                int64
		wantRead, wantUnrd int64
	}{
		{2, 2, 1},
		{1, 2, 1},  // lower: accepted, changes nothing
		{99, 4, 0}, // past the end: clamped to lastSeq
		{0, 4, 0},
	}
	for _, s := range steps {
		r := e.do(http.MethodPost, path, alice, map[string]any{"seq": s.seq})
		r.expect(t, http.StatusNoContent, "")
		if len(r.body) != 0 {
			t.Errorf("204 with a body: %q", r.body)
		}
		if rs, n := readView(t, e, alice, "grp_team"); rs != s.wantRead || n != s.wantUnrd {
			t.Fatalf("after seq %d: readSeq %d, unread %d; want %d, %d", s.seq, rs, n, s.wantRead, s.wantUnrd)
		}
	}
	// Bob's position is his own.
	if rs, n := readView(t, e, bob, "grp_team"); rs != 0 || n != 1 {
		t.Fatalf("bob: readSeq %d, unread %d; want 0, 1", rs, n)
	}
	// A direct message is named by its id too.
	dm := e.seedDM("u_alice", "u_bob")
	e.send(bob, dm, "psst")
	e.do(http.MethodPost, "/api/conversations/"+string(dm.ID)+"/read", alice, `{"seq":1}`).expect(t, http.StatusNoContent, "")
	if rs, n := readView(t, e, alice, string(dm.ID)); rs != 1 || n != 0 {
		t.Fatalf("dm: readSeq %d, unread %d; want 1, 0", rs, n)
	}
}

func TestMarkReadRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedGroup("grp_team", "u_alice")
	notFound := e.do(http.MethodPost, "/api/conversations/grp_missing/read", e.token("u_alice"), `{"seq":1}`)
	notFound.expect(t, http.StatusNotFound, "not_found")
	tests := []struct {
		name, token, path, body string
		status                  int
		code                    string
	}{
		{"negative seq", "u_alice", "grp_team", `{"seq":-1}`, 400, "validation_failed"},
		{"seq missing", "u_alice", "grp_team", `{}`, 400, "validation_failed"},
		{"seq null", "u_alice", "grp_team", `{"seq":null}`, 400, "validation_failed"},
		{"seq a fraction", "u_alice", "grp_team", `{"seq":1.5}`, 400, "invalid_json"},
		{"seq a string", "u_alice", "grp_team", `{"seq":"1"}`, 400, "invalid_json"},
		{"seq too large", "u_alice", "grp_team", `{"seq":99999999999999999999}`, 400, "invalid_json"},
		{"unknown field", "u_alice", "grp_team", `{"seq":1,"all":true}`, 400, "invalid_json"},
		{"bad JSON", "u_alice", "grp_team", `{"seq":`, 400, "invalid_json"},
		{"empty body", "u_alice", "grp_team", ``, 400, "invalid_json"},
		{"not a member", "u_mallory", "grp_team", `{"seq":1}`, 404, "not_found"},
		{"service token, not a member", "svc", "grp_team", `{"seq":1}`, 404, "not_found"},
		{"missing conversation", "u_alice", "grp_missing", `{"seq":1}`, 404, "not_found"},
		{"an id of no kind", "u_alice", "team", `{"seq":1}`, 404, "not_found"},
		{"a DM id that names nothing", "u_alice", "dm_team", `{"seq":1}`, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token := e.token(tt.token)
			if tt.token == "svc" {
				token = e.admin("svc")
			}
			r := e.do(http.MethodPost, "/api/conversations/"+tt.path+"/read", token, tt.body)
			r.expect(t, tt.status, tt.code)
			// A non-member learns nothing a missing conversation would not tell.
			if tt.status == http.StatusNotFound && string(r.body) != string(notFound.body) {
				t.Errorf("body = %s; want the missing conversation's, %s", r.body, notFound.body)
			}
		})
	}
	e.do(http.MethodPost, "/api/conversations/grp_team/read", "", `{"seq":1}`).expect(t, http.StatusUnauthorized, "")
	e.do(http.MethodGet, "/api/conversations/grp_team/read", e.token("u_alice"), nil).expect(t, http.StatusMethodNotAllowed, "")
	big := `{"seq":1,"pad":"` + strings.Repeat("x", httpapi.DefaultMaxBodyBytes) + `"}`
	e.do(http.MethodPost, "/api/conversations/grp_team/read", e.token("u_alice"), big).expect(t, http.StatusRequestEntityTooLarge, "body_too_large")
}

func TestMarkReadRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{Read: slow(2)}))
	e.seedGroup("grp_team", "u_alice", "u_bob")
	path := "/api/conversations/grp_team/read"
	alice := e.token("u_alice")
	for range 2 {
		e.do(http.MethodPost, path, alice, `{"seq":0}`).expect(t, http.StatusNoContent, "")
	}
	r := e.do(http.MethodPost, path, alice, `{"seq":0}`)
	r.expect(t, http.StatusTooManyRequests, "rate_limited")
	expectRetryAfter(t, r.header, 1, 1000)
	// Bob has a bucket of his own.
	e.do(http.MethodPost, path, e.token("u_bob"), `{"seq":0}`).expect(t, http.StatusNoContent, "")
	if n := limitedCount(t, e, "read_rate"); n != 1 {
		t.Fatalf("relay_limited_total{limit=read_rate} = %v; want 1", n)
	}
}
