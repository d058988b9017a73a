package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/authtoken"
)

func TestSendMessageAnswer(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team")

	tests := []struct {
		name string
		conv conversation
		body map[string]any
		want map[string]any // every field of the answer but id and createdAt
	}{
		{
			name: "DM with persona and client id",
			conv: dm,
			body: map[string]any{"directMessageId": dm.ID, "content": "hi", "personaId": "p_42", "clientMessageId": "c-123"},
			want: map[string]any{"channel": "dm:" + dm.ID, "seq": 1.0, "directMessageId": dm.ID, "groupId": nil,
				"senderId": "u_alice", "personaId": "p_42", "content": "hi", "clientMessageId": "c-123"},
		},
		{
			name: "group without the optional fields",
			conv: g,
			body: map[string]any{"groupId": g.ID, "content": "hello"},
			want: map[string]any{"channel": "group:" + g.ID, "seq": 1.0, "directMessageId": nil, "groupId": g.ID,
				"senderId": "u_alice", "personaId": nil, "content": "hello", "clientMessageId": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(t, http.MethodPost, "/api/messages", alice.token, tt.body)
			var got map[string]any
			expect(t, r, http.StatusCreated, &got)
			for k, v := range tt.want {
				gv, ok := got[k]
				if !ok {
					t.Fatalf("the answer %s lacks %q (absent values must be null)", r, k)
				}
				if gv != v {
					t.Fatalf("the answer's %s is %#v, want %#v", k, gv, v)
				}
			}
			id, _ := got["id"].(string)
			createdAt, _ := got["createdAt"].(string)
			if !strings.HasPrefix(id, "msg_") {
				t.Fatalf("id %q: want a msg_ id", id)
			}
			wantTime(t, "createdAt", createdAt)

			// The answer comes after the commit: a read right after it
			// sees the very same message.
			page := a.do(t, http.MethodGet, "/api/messages?"+tt.conv.idField()+"="+tt.conv.ID, alice.token, nil)
			expect(t, page, http.StatusOK, nil)
			if want := "[" + string(bytes.TrimSpace(r.body)) + "]"; string(bytes.TrimSpace(page.body)) != want {
				t.Fatalf("history right after the POST is %s, want %s", page.body, want)
			}
		})
	}
}

func TestSendMessageValidation(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	g := a.createGroup(t, alice, "Team")

	accepted := []struct {
		name, content, want string
	}{
		{"trimmed", " \t\n hi there \r\n ", "hi there"},
		{"4000 characters", strings.Repeat("a", 4000), strings.Repeat("a", 4000)},
		{"4000 characters after trimming", "  " + strings.Repeat("a", 4000) + "\n", strings.Repeat("a", 4000)},
		{"4000 two-byte characters", strings.Repeat("é", 4000), strings.Repeat("é", 4000)},
		{"4000 four-byte characters", strings.Repeat("😀", 4000), strings.Repeat("😀", 4000)},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			if m := a.send(t, alice, dm, tt.content); m.Content != tt.want {
				t.Fatalf("content stored as %q (%d bytes), want %q", m.Content, len(m.Content), tt.want)
			}
		})
	}

	refused := []struct {
		name string
		body any
		code string // "" when the contract names none
	}{
		{"empty content", map[string]any{"directMessageId": dm.ID, "content": ""}, ""},
		{"white space content", map[string]any{"directMessageId": dm.ID, "content": " \t\r\n "}, ""},
		{"4001 characters", map[string]any{"directMessageId": dm.ID, "content": strings.Repeat("a", 4001)}, ""},
		{"4001 two-byte characters", map[string]any{"directMessageId": dm.ID, "content": strings.Repeat("é", 4001)}, ""},
		{"no content", map[string]any{"directMessageId": dm.ID}, ""},
		{"neither conversation", map[string]any{"content": "hi"}, ""},
		{"both conversations", map[string]any{"directMessageId": dm.ID, "groupId": g.ID, "content": "hi"}, ""},
		{"unknown field", map[string]any{"directMessageId": dm.ID, "content": "hi", "colour": "red"}, ""},
		{"wrong type", map[string]any{"directMessageId": dm.ID, "content": 42}, ""},
		{"client id over 64 characters", map[string]any{"directMessageId": dm.ID, "content": "hi", "clientMessageId": strings.Repeat("c", 65)}, ""},
		{"bad JSON", `{"directMessageId": "` + dm.ID + `", "content": "hi"`, "invalid_json"},
		{"not JSON", `content=hi`, "invalid_json"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, a.do(t, http.MethodPost, "/api/messages", alice.token, tt.body), http.StatusBadRequest, tt.code)
		})
	}

	t.Run("body over the limit", func(t *testing.T) {
		body := `{"directMessageId": "` + dm.ID + `", "content": "` + strings.Repeat("a", int(a.cfg.MaxBodyBytes)) + `"}`
		wantError(t, a.do(t, http.MethodPost, "/api/messages", alice.token, body), http.StatusRequestEntityTooLarge, "")
	})

	// Only the accepted messages were stored.
	if got := find(t, a.conversations(t, alice), dm.ID).LastSeq; got != int64(len(accepted)) {
		t.Fatalf("lastSeq %d after %d accepted messages", got, len(accepted))
	}
}

func TestSendMessageAuthorization(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice, carol := newUser(t, "u_alice"), newUser(t, "u_carol")
	g := a.createGroup(t, alice, "Team", "u_bob")

	// A non-member's post answers like one into a missing conversation.
	got := a.do(t, http.MethodPost, "/api/messages", carol.token, messageBody(g, "let me in"))
	wantError(t, got, http.StatusNotFound, "")
	absent := a.do(t, http.MethodPost, "/api/messages", carol.token, messageBody(conversation{ID: "grp_missing"}, "let me in"))
	wantError(t, absent, http.StatusNotFound, "")
	if !bytes.Equal(got.body, absent.body) {
		t.Fatalf("a non-member's post answers %s, a missing group %s: they must not differ", got, absent)
	}

	// A service token posts into any conversation as its sub, and reads
	// and subscribes to it.
	bot := newAdmin(t, "svc_persona")
	s := a.openStream(t, bot, []string{g.channel()}, streamOpts{})
	m := a.send(t, bot, g, "I am a bot")
	if m.SenderID != "svc_persona" || m.Seq != 1 {
		t.Fatalf("the service's message is %+v, want senderId svc_persona, seq 1", m)
	}
	if live, _ := s.nextMessage(t); live.ID != m.ID {
		t.Fatalf("the service's stream got %+v, want %s", live, m.ID)
	}
	if page := a.history(t, bot, g, ""); len(page) != 1 || page[0].ID != m.ID {
		t.Fatalf("the service reads %+v", page)
	}
	if page := a.history(t, alice, g, ""); len(page) != 1 || page[0].ID != m.ID {
		t.Fatalf("the members read %+v", page)
	}
	if got := find(t, a.conversations(t, alice), g.ID).LastSeq; got != 1 {
		t.Fatalf("lastSeq %d: carol's refused post must not have been stored", got)
	}
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	a := startApp(t)
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")

	otherSecret, err := signWith([]byte("another-secret-of-at-least-32-bytes!!"), "u_alice")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{
		"expired":          sign(t, "u_alice", false, -time.Minute),
		"wrong secret":     otherSecret,
		"garbage":          "not.a.jwt",
		"tampered payload": tamper(alice.token),
	}
	requests := []struct{ method, path string }{
		{http.MethodGet, "/api/conversations"},
		{http.MethodPost, "/api/messages"},
		{http.MethodGet, "/api/messages?directMessageId=" + dm.ID},
		{http.MethodGet, "/api/sse?channel=" + dm.channel()},
		{http.MethodPost, "/api/dms"},
		{http.MethodGet, "/api/sse/stats"},
	}
	for _, rq := range requests {
		var body any
		if rq.method == http.MethodPost {
			body = messageBody(dm, "hi")
		}
		wantError(t, a.do(t, rq.method, rq.path, "", body), http.StatusUnauthorized, "")
		for name, tok := range tokens {
			r := a.do(t, rq.method, rq.path, tok, body)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("%s %s with a %s token: got %s, want 401", rq.method, rq.path, name, r)
			}
			wantError(t, r, http.StatusUnauthorized, "")
		}
	}
	// A scheme other than Bearer is no token either.
	req, err := http.NewRequest(http.MethodGet, a.url+"/api/conversations", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+alice.token)
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a Basic authorization: status %d, want 401", resp.StatusCode)
	}
	if got := find(t, a.conversations(t, alice), dm.ID).LastSeq; got != 0 {
		t.Fatalf("lastSeq %d: an unauthenticated post was stored", got)
	}
}

func signWith(secret []byte, sub string) (string, error) {
	return authtoken.Sign(secret, sub, false, time.Hour, time.Now())
}

// tamper returns tok with its payload changed to claim admin rights and
// its signature kept.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	claims["admin"] = true
	raw, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}
