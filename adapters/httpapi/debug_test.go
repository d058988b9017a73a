package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/relaymsg/relay/adapters/httpapi"
)

func TestDebugHandlerServesProfiles(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(httpapi.NewDebugHandler())
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ path, want string }{
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/heap?debug=1", "heap profile"},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile"},
		{"/debug/pprof/cmdline", ""},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: %d, body without %q:\n%.300s", tc.path, resp.StatusCode, tc.want, body)
		}
	}
	resp, err := http.Get(srv.URL + "/api/conversations")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the debug listener answers an API path with %d, want 404", resp.StatusCode)
	}
}
