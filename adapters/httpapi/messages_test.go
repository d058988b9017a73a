package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/relaymsg/relay/domain"
)

func TestSendMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	g := e.seedGroup("grp_team", "u_alice", "u_bob")
	alice := e.token("u_alice")

	r := e.do(http.MethodPost, "/api/messages", alice, `{"directMessageId":"dm_u_alice_u_bob","content":"  hi  "}`)
	r.expect(t, http.StatusCreated, "")
	want := `{"id":"msg_1","channel":"dm:dm_u_alice_u_bob","seq":1,"directMessageId":"dm_u_alice_u_bob","groupId":null,` +
		`"senderId":"u_alice","personaId":null,"content":"hi","clientMessageId":null,"createdAt":"` + createdAt + `"}` + "\n"
	if string(r.body) != want {
		t.Fatalf("body = %s\nwant   %s", r.body, want)
	}

	body := `{"groupId":"grp_team","content":"hello","personaId":"p_42","clientMessageId":"c-1"}`
	r = e.do(http.MethodPost, "/api/messages", alice, body)
	r.expect(t, http.StatusCreated, "")
	want = `{"id":"msg_2","channel":"group:grp_team","seq":1,"directMessageId":null,"groupId":"grp_team",` +
		`"senderId":"u_alice","personaId":"p_42","content":"hello","clientMessageId":"c-1","createdAt":"` + createdAt + `"}` + "\n"
	if string(r.body) != want {
		t.Fatalf("body = %s\nwant   %s", r.body, want)
	}

	// A retry with the same clientMessageId is answered with the original
	// message, 200, and stores nothing.
	retry := e.do(http.MethodPost, "/api/messages", alice, body)
	retry.expect(t, http.StatusOK, "")
	if string(retry.body) != want {
		t.Fatalf("retry body = %s, want the original %s", retry.body, want)
	}
	if n := len(e.store.msgs[g]); n != 1 {
		t.Fatalf("the retry stored a message: %d in the group", n)
	}
	// The same key for another message is a conflict.
	e.do(http.MethodPost, "/api/messages", alice, `{"groupId":"grp_team","content":"other","clientMessageId":"c-1"}`).
		expect(t, http.StatusConflict, "conflict")

	// Only the two 201s count as sent.
	if got := metricValue(t, e, "relay_messages_sent_total"); got != 2 {
		t.Errorf("relay_messages_sent_total = %v, want 2", got)
	}
	_ = dm
}

func TestSendMessageRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDM("u_alice", "u_bob")
	e.seedGroup("grp_team", "u_alice")
	alice := e.token("u_alice")
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"both ids", `{"directMessageId":"dm_u_alice_u_bob","groupId":"grp_team","content":"x"}`, 400, "validation_failed"},
		{"neither id", `{"content":"x"}`, 400, "validation_failed"},
		{"content missing", `{"groupId":"grp_team"}`, 400, "validation_failed"},
		{"content blank", `{"groupId":"grp_team","content":" \n\t "}`, 400, "validation_failed"},
		{"content too long", fmt.Sprintf(`{"groupId":"grp_team","content":%q}`, strings.Repeat("é", 4001)), 400, "validation_failed"},
		{"clientMessageId too long", fmt.Sprintf(`{"groupId":"grp_team","content":"x","clientMessageId":%q}`, strings.Repeat("c", 65)), 400, "validation_failed"},
		{"content not a string", `{"groupId":"grp_team","content":1}`, 400, "invalid_json"},
		{"unknown field", `{"groupId":"grp_team","content":"x","channel":"y"}`, 400, "invalid_json"},
		{"not a member", `{"directMessageId":"dm_u_bob_u_carol","content":"x"}`, 404, "not_found"},
		{"unknown group", `{"groupId":"grp_nope","content":"x"}`, 404, "not_found"},
		{"malformed id", `{"groupId":"a:b","content":"x"}`, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e.do(http.MethodPost, "/api/messages", alice, tt.body).expect(t, tt.status, tt.code)
		})
	}
	// 4000 characters (not bytes) is within the limit.
	e.do(http.MethodPost, "/api/messages", alice, fmt.Sprintf(`{"groupId":"grp_team","content":%q}`, strings.Repeat("é", 4000))).
		expect(t, http.StatusCreated, "")
}

// A service token posts as its sub into any conversation.
func TestAdminSendsAnywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDM("u_alice", "u_bob")
	r := e.do(http.MethodPost, "/api/messages", e.admin("p_bot"), `{"directMessageId":"dm_u_alice_u_bob","content":"beep","personaId":"p_42"}`)
	r.expect(t, http.StatusCreated, "")
	var m map[string]any
	r.decode(t, &m)
	if m["senderId"] != "p_bot" {
		t.Fatalf("senderId = %v", m["senderId"])
	}
	e.do(http.MethodPost, "/api/messages", e.admin("p_bot"), `{"directMessageId":"dm_missing","content":"x"}`).
		expect(t, http.StatusNotFound, "not_found")
}

// Storage unavailable is 503, and nothing was accepted.
func TestSendMessageStoreUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDM("u_alice", "u_bob")
	e.store.setFail(fmt.Errorf("dial tcp: connection refused: %w", domain.ErrUnavailable))
	r := e.do(http.MethodPost, "/api/messages", e.token("u_alice"), `{"directMessageId":"dm_u_alice_u_bob","content":"x"}`)
	r.expect(t, http.StatusServiceUnavailable, "unavailable")
	if strings.Contains(string(r.body), "refused") {
		t.Errorf("503 body leaks the cause: %s", r.body)
	}
	e.store.setFail(nil)
	if n := len(e.store.msgs); n != 0 {
		t.Fatalf("messages stored: %d", n)
	}
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	alice := e.token("u_alice")
	path := "/api/messages?directMessageId=" + string(dm.ID)

	r := e.do(http.MethodGet, path, alice, nil)
	r.expect(t, http.StatusOK, "")
	if string(r.body) != "[]\n" {
		t.Fatalf("empty page = %q, want []", r.body)
	}

	var sent []string
	for i := 1; i <= 5; i++ {
		m := e.send(alice, dm, fmt.Sprintf("m%d", i))
		raw, _ := json.Marshal(m)
		sent = append(sent, string(raw))
	}
	seqs := func(r response) []int {
		var page []struct {
			Seq int `json:"seq"`
		}
		r.decode(t, &page)
		out := []int{}
		for _, m := range page {
			out = append(out, m.Seq)
		}
		return out
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{1, 2, 3, 4, 5}},
		{"&limit=2", []int{4, 5}},
		{"&limit=2&after=1", []int{2, 3}},
		{"&limit=2&before=4", []int{2, 3}},
		{"&after=5", []int{}},
		{"&limit=2&after=0", []int{1, 2}},
		{"&after=0", []int{1, 2, 3, 4, 5}},
		{"&before=0", []int{}},
		{"&before=1", []int{}},
		{"&limit=3&before=99", []int{3, 4, 5}},
		{"&limit=200", []int{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		r := e.do(http.MethodGet, path+tt.query, alice, nil)
		r.expect(t, http.StatusOK, "")
		if got := seqs(r); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: seqs %v, want %v", tt.query, got, tt.want)
		}
	}
	// History items are the same JSON as POST answers.
	var page []json.RawMessage
	e.do(http.MethodGet, path+"&limit=1&after=2", alice, nil).decode(t, &page)
	var got, want map[string]any
	_ = json.Unmarshal(page[0], &got)
	_ = json.Unmarshal([]byte(sent[2]), &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history item %v differs from the POST answer %v", got, want)
	}
}

func TestListMessagesRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDM("u_alice", "u_bob")
	e.seedGroup("grp_team", "u_alice")
	alice := e.token("u_alice")
	base := "/api/messages?directMessageId=dm_u_alice_u_bob"
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"limit 0", base + "&limit=0", 400, "validation_failed"},
		{"limit 201", base + "&limit=201", 400, "validation_failed"},
		{"limit negative", base + "&limit=-1", 400, "validation_failed"},
		{"limit not a number", base + "&limit=ten", 400, "validation_failed"},
		{"limit fractional", base + "&limit=1.5", 400, "validation_failed"},
		{"limit empty", base + "&limit=", 400, "validation_failed"},
		{"limit twice", base + "&limit=1&limit=2", 400, "validation_failed"},
		{"after negative", base + "&after=-1", 400, "validation_failed"},
		{"after not a number", base + "&after=x", 400, "validation_failed"},
		{"after and before", base + "&after=1&before=3", 400, "validation_failed"},
		{"no conversation", "/api/messages?limit=5", 400, "validation_failed"},
		{"both conversations", base + "&groupId=grp_team", 400, "validation_failed"},
		{"not a member", "/api/messages?directMessageId=dm_u_bob_u_carol", 404, "not_found"},
		{"unknown group", "/api/messages?groupId=grp_nope", 404, "not_found"},
		{"malformed id", "/api/messages?groupId=", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e.do(http.MethodGet, tt.path, alice, nil).expect(t, tt.status, tt.code)
		})
	}
	for _, limit := range []string{"1", "200"} {
		e.do(http.MethodGet, base+"&limit="+limit, alice, nil).expect(t, http.StatusOK, "")
	}
}

// TestListMessagesRejectMessages pins the body of each refusal of a page:
// the rules moved to domain.NewHistoryQuery, the answers stayed.
func TestListMessagesRejectMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seedDM("u_alice", "u_bob")
	alice := e.token("u_alice")
	base := "/api/messages?directMessageId=dm_u_alice_u_bob"
	limit := "limit: must be an integer from 1 to 200"
	for query, message := range map[string]string{
		"&limit=0": limit, "&limit=201": limit, "&limit=-1": limit, "&limit=ten": limit, "&limit=": limit,
		"&limit=1&limit=2": limit, "&limit=0&after=-1": limit,
		"&after=-1": "after: must be a non-negative integer", "&after=x": "after: must be a non-negative integer",
		"&before=-2": "before: must be a non-negative integer", "&after=1&after=2": "after: give it once",
		"&after=1&before=3": "after, before: give at most one",
		// Two faults: the first parameter's is the answer.
		"&limit=0&after=x": limit, "&limit=500&before=1&before=2": limit, "&after=-1&before=x": "after: must be a non-negative integer",
		"&after=x&before=-1": "after: must be a non-negative integer", "&after=-1&before=1": "after: must be a non-negative integer",
		"&limit=abc&after=-1": limit, "&after=1&before=1&before=2": "before: give it once",
	} {
		r := e.do(http.MethodGet, base+query, alice, nil)
		want := `{"error":{"code":"validation_failed","message":"` + message + `"}}`
		if r.status != http.StatusBadRequest || strings.TrimSpace(string(r.body)) != want {
			t.Errorf("GET …%s = %d %s; want 400 %s", query, r.status, r.body, want)
		}
	}
}
