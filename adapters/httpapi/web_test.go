package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/httpapi/web"
)

func TestDemoPageIsServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/app.js"`},
		{"/app.js", "text/javascript; charset=utf-8", "new EventSource("},
		{"/style.css", "text/css; charset=utf-8", "@media"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.do(http.MethodGet, tt.path, "", nil)
			r.expect(t, http.StatusOK, "")
			if got := r.header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := r.header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if got := r.header.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy = %q, want %q", got, web.ContentSecurityPolicy)
			}
			if !strings.Contains(string(r.body), tt.contains) {
				t.Errorf("body of %s does not contain %q", tt.path, tt.contains)
			}
			if head := e.do(http.MethodHead, tt.path, "", nil); head.status != http.StatusOK || len(head.body) != 0 ||
				head.header.Get("Content-Type") != tt.contentType {
				t.Errorf("HEAD %s: %d, %q, %d body bytes; want 200 with the type and no body",
					tt.path, head.status, head.header.Get("Content-Type"), len(head.body))
			}
		})
	}
}

// TestDemoPageLoadsOnlyItsOwnFiles: the policy admits nothing but the
// page's origin, and the page names no other origin.
func TestDemoPageLoadsOnlyItsOwnFiles(t *testing.T) {
	t.Parallel()
	if !strings.HasPrefix(web.ContentSecurityPolicy, "default-src 'self';") ||
		strings.ContainsAny(strings.ReplaceAll(web.ContentSecurityPolicy, "'self'", ""), "*:") ||
		strings.Contains(web.ContentSecurityPolicy, "unsafe") {
		t.Fatalf("Content-Security-Policy %q allows more than 'self'", web.ContentSecurityPolicy)
	}
	e := newEnv(t)
	for _, p := range web.Paths() {
		body := string(e.do(http.MethodGet, p, "", nil).body)
		for _, remote := range []string{"http://", "https://", "//cdn", "innerHTML"} {
			// The SVG's xmlns is a name, not a load.
			if strings.Contains(strings.ReplaceAll(body, `xmlns="http://www.w3.org/2000/svg"`, ""), remote) {
				t.Errorf("%s contains %q", p, remote)
			}
		}
	}
}

func TestDemoPageRevalidatesWithItsETag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	etag := e.do(http.MethodGet, "/app.js", "", nil).header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /app.js")
	}
	req, err := http.NewRequest(http.MethodGet, e.server.URL+"/app.js", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("GET /app.js with its ETag: %d, want 304", resp.StatusCode)
	}
}

// TestDemoPageShadowsNothing: paths next to the page's are still the API's
// JSON 404, and the API's own routes still answer as before.
func TestDemoPageShadowsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/index.html", "/app.js/", "/static/app.js", "/nope", "/api", "/api/", "/dev/token", "/favicon.ico"} {
		e.do(http.MethodGet, p, "", nil).expect(t, http.StatusNotFound, "not_found")
	}
	e.do(http.MethodPost, "/", "", "{}").expect(t, http.StatusMethodNotAllowed, "")
	e.do(http.MethodGet, "/healthz", "", nil).expect(t, http.StatusOK, "")
	e.do(http.MethodGet, "/api/conversations", "", nil).expect(t, http.StatusUnauthorized, "")
	if ct := e.do(http.MethodGet, "/metrics", "", nil).header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics Content-Type %q, want the Prometheus text format", ct)
	}
}
