package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/postgres/pgtest"
)

// TestLogsHoldNoSecrets runs a whole session against the built binary at
// LOG_LEVEL=debug — tokens in the header and in access_token, posts, a
// stream, refusals and errors — and checks that its output holds no token,
// no part of a token's signature, not the secret and no message content:
// logs are read by more people than messages are.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	relayBinary(t)
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	p := startRelay(t, map[string]string{
		"DATABASE_URL": dsn,
		"AUTH_SECRET":  string(testSecret),
		"LOG_LEVEL":    "debug",
	})
	alice, bob := newUser(t, "u_alice"), newUser(t, "u_bob")
	expired := user{id: "u_alice", token: sign(t, "u_alice", false, -time.Minute)}
	forged := user{id: "u_alice", token: alice.token[:len(alice.token)-4] + "AAAA"}
	secrets := map[string]string{
		"the secret":         string(testSecret),
		"alice's token":      alice.token,
		"bob's token":        bob.token,
		"an expired token":   expired.token,
		"a forged token":     forged.token,
		"alice's signature":  alice.token[strings.LastIndexByte(alice.token, '.')+1:],
		"bob's signature":    bob.token[strings.LastIndexByte(bob.token, '.')+1:],
		"a message":          "content-3f9a-hello-bob",
		"a refused message":  "content-77c1-refused",
		"a retried message":  "content-b2e4-retried",
		"a conflict content": "content-c0de-conflict",
	}

	dm := p.createDM(t, alice, bob.id)
	group := p.createGroup(t, alice, "log audit", bob.id)
	// Bob follows the DM with the token in the query (as browsers do) and
	// the group with the header.
	dmStream := p.openStream(t, bob, []string{dm.channel()}, streamOpts{queryToken: true})
	groupStream := p.openStream(t, bob, []string{group.channel()}, streamOpts{})

	sent := p.send(t, alice, dm, secrets["a message"])
	if got, _ := dmStream.nextMessage(t); got.ID != sent.ID {
		t.Fatalf("bob's DM stream got %s, want %s", got.ID, sent.ID)
	}
	retry := messageBody(group, secrets["a retried message"])
	retry["clientMessageId"] = "c-audit-1"
	for range 2 {
		if r := p.do(t, http.MethodPost, "/api/messages", alice.token, retry); r.status != http.StatusCreated && r.status != http.StatusOK {
			t.Fatalf("post: %s", r)
		}
	}
	groupStream.nextMessage(t)
	conflict := messageBody(group, secrets["a conflict content"])
	conflict["clientMessageId"] = "c-audit-1"
	wantError(t, p.do(t, http.MethodPost, "/api/messages", alice.token, conflict), http.StatusConflict, "conflict")

	// Refusals: bad tokens on every way in, a non-member, bad input.
	for _, tok := range []string{expired.token, forged.token} {
		wantError(t, p.do(t, http.MethodPost, "/api/messages", tok, messageBody(dm, secrets["a refused message"])),
			http.StatusUnauthorized, "unauthorized")
		r, err := p.request(http.MethodGet, "/api/sse?channel="+dm.channel()+"&access_token="+tok, "", nil)
		if err != nil || r.status != http.StatusUnauthorized {
			t.Fatalf("stream with a bad token in the query: %v %v, want 401", r, err)
		}
	}
	carol := newUser(t, "u_carol")
	wantError(t, p.do(t, http.MethodPost, "/api/messages", carol.token, messageBody(dm, secrets["a refused message"])),
		http.StatusNotFound, "not_found")
	r, err := p.request(http.MethodGet, "/api/sse?channel="+dm.channel()+"&access_token="+carol.token, "", nil)
	if err != nil || r.status != http.StatusNotFound {
		t.Fatalf("a non-member's stream: %v %v, want 404", r, err)
	}
	wantError(t, p.do(t, http.MethodPost, "/api/messages", alice.token, map[string]any{"groupId": group.ID, "content": 42}),
		http.StatusBadRequest, "invalid_json")
	p.history(t, bob, dm, "&limit=10")

	dmStream.close()
	groupStream.close()
	// The streams' end is logged when their handlers return.
	waitFor(t, "the streams' end in the log", func() bool {
		ended := 0
		for line := range strings.Lines(p.logs.String()) {
			if strings.Contains(line, `"route":"/api/sse","url"`) && strings.Contains(line, `"status":200`) {
				ended++
			}
		}
		return ended == 2
	})

	logs := p.logs.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Fatalf("no debug line was written; the audit would prove nothing:\n%s", logs)
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %s (%q)", what, s)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}
