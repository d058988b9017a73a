package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
	"github.com/relaymsg/relay/domain"
)

// open opens a stream and fails the test unless it is 200; the stream is
// closed at cleanup and bounded by a generous timeout so that a broken
// test fails instead of hanging.
func (e *env) open(token string, channels []string, opts ssetest.Options) *ssetest.Client {
	e.t.Helper()
	c := e.openAny(token, channels, opts)
	if c.Response.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(c.Response.Body)
		e.t.Fatalf("stream status = %d; body %s", c.Response.StatusCode, body)
	}
	return c
}

func (e *env) openAny(token string, channels []string, opts ssetest.Options) *ssetest.Client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	opts.Token = token
	c, err := ssetest.Open(ctx, e.client, e.server.URL, channels, opts)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = c.Close()
		cancel()
	})
	return c
}

// next reads the next block of c, failing the test on error.
func next(t *testing.T, c *ssetest.Client) ssetest.Event {
	t.Helper()
	ev, err := c.Next()
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return ev
}

// nextEvent reads the next dispatched event of c.
func nextEvent(t *testing.T, c *ssetest.Client) ssetest.Event {
	t.Helper()
	ev, err := c.NextEvent()
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return ev
}

// preamble reads a stream's first two blocks, the retry and the ready
// event, checks them and returns the ready event.
func preamble(t *testing.T, c *ssetest.Client, channels ...string) ssetest.Event {
	t.Helper()
	retry := next(t, c)
	if retry.Raw != "retry: 2000\n\n" {
		t.Fatalf("first block = %q, want the retry", retry.Raw)
	}
	ready := next(t, c)
	if ready.Event != "ready" || !ready.HasID || ready.DataLines != 1 {
		t.Fatalf("second block = %q, want the ready event", ready.Raw)
	}
	if _, err := domain.ParseCursor(ready.ID); err != nil {
		t.Fatalf("ready id %q is not a cursor: %v", ready.ID, err)
	}
	var data struct {
		Channels []string `json:"channels"`
	}
	if err := json.Unmarshal([]byte(ready.Data), &data); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(data.Channels) != fmt.Sprint(channels) {
		t.Fatalf("ready channels = %v, want %v", data.Channels, channels)
	}
	return ready
}
