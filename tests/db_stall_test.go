package tests

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/cluster/clustertest"
	"github.com/relaymsg/relay/adapters/postgres/pgtest"
	"github.com/relaymsg/relay/cmd/relay/app"
)

// A database link that drops everything (no error, no close) does not
// hang requests: past REQUEST_TIMEOUT they are 503 with Retry-After, and a
// stream that cannot start is told to retry.
func TestStalledDatabaseAnswersUnavailable(t *testing.T) {
	t.Parallel()
	pgtest.SkipIfShort(t)
	_, dsn := pgtest.NewDatabase(t)
	proxy := clustertest.StartProxy(t, hostOf(t, dsn))
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = proxy.Addr()
	const timeout = 500 * time.Millisecond
	a := startAppOn(t, u.String(), nil, func(c *app.Config) { c.RequestTimeout = timeout })
	alice := newUser(t, "u_alice")
	dm := a.createDM(t, alice, "u_bob")
	a.send(t, alice, dm, "before the stall")

	proxy.Stall()
	defer proxy.Restore()
	start := time.Now()
	r, err := a.request(http.MethodPost, "/api/messages", alice.token, messageBody(dm, "during the stall"))
	if err != nil {
		t.Fatalf("POST during the stall: %v", err)
	}
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("POST during the stall = %s (Retry-After %q), want 503 with Retry-After", r, r.header.Get("Retry-After"))
	}
	if elapsed := time.Since(start); elapsed > waitTimeout/2 {
		t.Fatalf("answered after %s", elapsed)
	}

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/api/sse?channel="+dm.channel(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+alice.token)
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatalf("GET /api/sse during the stall: %v", err)
	}
	defer resp.Body.Close()
	body := new(strings.Builder)
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body.String(), "retry:") || strings.Contains(body.String(), "event:") {
		t.Fatalf("GET /api/sse during the stall = %d %q, want 200 with only retry:", resp.StatusCode, body)
	}
}
