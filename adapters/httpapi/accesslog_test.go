package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// No token ever reaches the logs: not from the Authorization header, not
// from an access_token parameter, valid or not, parsable or not.
func TestAccessLogRedactsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ch := e.seedDM("u_alice", "u_bob")
	good, bad := e.token("u_alice"), "not-a-valid-token-but-secret"

	e.do(http.MethodGet, "/api/conversations", good, nil).expect(t, http.StatusOK, "")
	e.do(http.MethodGet, "/api/sse?channel="+url.QueryEscape(ch.String())+"&access_token="+bad, "", nil).
		expect(t, http.StatusUnauthorized, "unauthorized")
	e.do(http.MethodGet, "/api/sse?channel=x&ACCESS_TOKEN="+bad+"&lastEventId=%zz", "", nil).
		expect(t, http.StatusUnauthorized, "unauthorized")
	c := e.openAny(good, []string{ch.String()}, ssetest.Options{QueryToken: true})
	nextEvent(t, c)
	_ = c.Close()
	// Shutting down waits for every request and stream, and so for its log line.
	e.shutdown()

	logs := e.logs.String()
	for _, secret := range []string{good, bad} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a token was logged:\n%s", logs)
		}
	}
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("access log lines = %d, want 4:\n%s", len(lines), logs)
	}
	first := lines[0]
	for _, key := range []string{"method", "route", "status", "duration_ms", "bytes", "url"} {
		if _, ok := first[key]; !ok {
			t.Errorf("access log lacks %q: %v", key, first)
		}
	}
	if first["route"] != "/api/conversations" || first["status"] != float64(200) || first["user_id"] != "u_alice" {
		t.Errorf("access log = %v", first)
	}
	if u := lines[1]["url"].(string); !strings.Contains(u, "access_token=REDACTED") {
		t.Errorf("url = %q, want the token redacted", u)
	}
	if u := lines[2]["url"].(string); strings.Contains(u, "ACCESS_TOKEN") || !strings.Contains(u, "unparsable") {
		t.Errorf("url = %q, want the unparsable query dropped", u)
	}
}
