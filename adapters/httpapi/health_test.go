package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	check := func(name string, err error) httpapi.ReadinessCheck {
		return httpapi.ReadinessCheck{Name: name, Check: func(context.Context) error { return err }}
	}
	hang := httpapi.ReadinessCheck{Name: "notifier", Check: func(ctx context.Context) error {
		<-ctx.Done() // a dependency that never answers, until the timeout
		return ctx.Err()
	}}
	tests := []struct {
		name   string
		checks []httpapi.ReadinessCheck
		status int
		want   string
	}{
		{"no checks", nil, 200, ""},
		{"all pass", []httpapi.ReadinessCheck{check("store", nil), check("notifier", nil)}, 200, ""},
		{"one fails", []httpapi.ReadinessCheck{check("store", errors.New("dial 10.0.0.5:5432: refused")), check("notifier", nil)}, 503, "not ready: store"},
		{"one hangs", []httpapi.ReadinessCheck{check("store", nil), hang}, 503, "not ready: notifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *envOptions) {
				o.readiness = tt.checks
				o.cfg.ReadinessTimeout = 50 * time.Millisecond
			})
			e.do(http.MethodGet, "/healthz", "", nil).expect(t, http.StatusOK, "")
			r := e.do(http.MethodGet, "/readyz", "", nil)
			if tt.status == http.StatusOK {
				r.expect(t, http.StatusOK, "")
				return
			}
			r.expect(t, tt.status, "not_ready")
			var body struct{ Error struct{ Message string } }
			r.decode(t, &body)
			if body.Error.Message != tt.want {
				t.Errorf("message = %q, want %q", body.Error.Message, tt.want)
			}
			if strings.Contains(string(r.body), "10.0.0.5") {
				t.Errorf("body leaks the check's error: %s", r.body)
			}
		})
	}
}

// A draining instance is not ready, so that the load balancer moves on.
func TestNotReadyOnceClosing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(http.MethodGet, "/readyz", "", nil).expect(t, http.StatusOK, "")
	e.handler.CloseStreams()
	e.do(http.MethodGet, "/readyz", "", nil).expect(t, http.StatusServiceUnavailable, "not_ready")
	e.do(http.MethodGet, "/healthz", "", nil).expect(t, http.StatusOK, "")
}
