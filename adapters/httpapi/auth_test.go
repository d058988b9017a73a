package httpapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaymsg/relay/adapters/authtoken"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

func signClaims(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuthRejectsBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).Unix()
	expired, err := authtoken.Sign(testSecret, "u_alice", false, -time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"not bearer", "Basic dTpw"},
		{"bearer without token", "Bearer "},
		{"garbage", "Bearer not.a.jwt"},
		{"bad signature", "Bearer " + signClaims(t, jwt.SigningMethodHS256, []byte("another secret"), jwt.MapClaims{"sub": "u_alice", "exp": future})},
		{"alg none", "Bearer " + signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u_alice", "exp": future})},
		{"RS256", "Bearer " + signClaims(t, jwt.SigningMethodRS256, rsaKey, jwt.MapClaims{"sub": "u_alice", "exp": future})},
		{"HS512 with the right secret", "Bearer " + signClaims(t, jwt.SigningMethodHS512, testSecret, jwt.MapClaims{"sub": "u_alice", "exp": future})},
		{"expired", "Bearer " + expired},
		{"no sub", "Bearer " + signClaims(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"exp": future})},
		{"malformed sub", "Bearer " + signClaims(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u alice", "exp": future})},
		{"admin not a boolean", "Bearer " + signClaims(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u_alice", "admin": "yes"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, e.server.URL+"/api/conversations", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r := response{status: resp.StatusCode, header: resp.Header}
			r.body, _ = readAll(resp)
			r.expect(t, http.StatusUnauthorized, "unauthorized")
			if got := resp.Header.Get("WWW-Authenticate"); got == "" || got[:6] != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
		})
	}
}

func TestAuthAcceptsValidTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		header string
	}{
		{"signed by authtoken.Sign", "Bearer " + e.token("u_alice")},
		{"scheme in lower case", "bearer " + e.token("u_alice")},
		// A token without exp never expires (see the package doc).
		{"without exp", "Bearer " + signClaims(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u_alice"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, e.server.URL+"/api/conversations", nil)
			req.Header.Set("Authorization", tt.header)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := readAll(resp)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.StatusCode, body)
			}
		})
	}
}

// The access_token query parameter exists for EventSource only; anywhere
// else a token in a URL is refused, so that clients do not learn to leak
// tokens into logs.
func TestAccessTokenQueryOnlyOnSSE(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ch := e.seedDM("u_alice", "u_bob")
	tok := e.token("u_alice")

	r := e.do(http.MethodGet, "/api/conversations?access_token="+url.QueryEscape(tok), "", nil)
	r.expect(t, http.StatusUnauthorized, "unauthorized")
	r = e.do(http.MethodGet, "/api/sse/stats?access_token="+url.QueryEscape(e.admin("ops")), "", nil)
	r.expect(t, http.StatusUnauthorized, "unauthorized")

	c := e.open(tok, []string{ch.String()}, ssetest.Options{QueryToken: true})
	if ev := nextEvent(t, c); ev.Event != "ready" {
		t.Fatalf("first event = %q, want ready", ev.Event)
	}

	bad := e.openAny("not-a-token", []string{ch.String()}, ssetest.Options{QueryToken: true})
	if bad.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad query token: status = %d, want 401", bad.Response.StatusCode)
	}
}
