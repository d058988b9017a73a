package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
)

func devMode(o *envOptions) { o.cfg.DevTokens = true }

func TestDevTokenIssuesAWorkingUserToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devMode)
	r := e.do(http.MethodPost, "/dev/token", "", map[string]any{"sub": "u_alice"})
	r.expect(t, http.StatusOK, "")
	var body struct {
		Token, Sub, ExpiresAt string
	}
	r.decode(t, &body)
	if body.Sub != "u_alice" || body.Token == "" {
		t.Fatalf("body %s, want a token for u_alice", r.body)
	}
	exp, err := time.Parse(time.RFC3339, body.ExpiresAt)
	if err != nil || time.Until(exp) > httpapi.DevTokenTTL || time.Until(exp) < httpapi.DevTokenTTL-time.Hour {
		t.Fatalf("expiresAt %q (%v), want about %v from now", body.ExpiresAt, err, httpapi.DevTokenTTL)
	}
	// It authenticates alice, and only as a user: the stats need a
	// service token.
	e.do(http.MethodGet, "/api/conversations", body.Token, nil).expect(t, http.StatusOK, "")
	e.do(http.MethodGet, "/api/sse/stats", body.Token, nil).expect(t, http.StatusForbidden, "forbidden")
}

func TestDevTokenRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, devMode)
	tests := []struct {
		name string
		body any
		code string
	}{
		{"no sub", map[string]any{}, "validation_failed"},
		{"empty sub", map[string]any{"sub": ""}, "validation_failed"},
		{"sub with a space", map[string]any{"sub": "u alice"}, "validation_failed"},
		{"admin asked for", map[string]any{"sub": "u_alice", "admin": true}, "invalid_json"},
		{"not JSON", "sub=u_alice", "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(http.MethodPost, "/dev/token", "", tt.body).expect(t, http.StatusBadRequest, tt.code)
		})
	}
}

// TestNoDevTokenOutsideDevMode: the route does not exist unless asked
// for, whatever the method.
func TestNoDevTokenOutsideDevMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		e.do(method, "/dev/token", "", map[string]any{"sub": "u_alice"}).expect(t, http.StatusNotFound, "not_found")
	}
}
