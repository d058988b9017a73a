package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	srv := httpapi.NewServer("127.0.0.1:0", e.handler, slog.New(slog.DiscardHandler))
	if err := srv.Stop(t.Context()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.Addr().String()

	// A second server on the same address fails to start, at once.
	busy := httpapi.NewServer(srv.Addr().String(), e.handler, nil)
	if err := busy.Start(t.Context()); err == nil {
		_ = busy.Stop(t.Context())
		t.Fatal("a second server started on a port in use")
	}

	resp, err := e.client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}

	// Open streams end when the server stops, and Stop does not have to
	// wait for its deadline to get there.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var streams []*ssetest.Client
	for range 3 {
		c, err := ssetest.Open(ctx, e.client, base, []string{dm.String()}, ssetest.Options{Token: e.token("u_alice")})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		preamble(t, c, dm.String())
		streams = append(streams, c)
	}
	stopCtx, stopCancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer stopCancel()
	if err := srv.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v (streams held the server until the deadline)", err)
	}
	for _, c := range streams {
		if _, err := c.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("stream after Stop: %v, want its end", err)
		}
	}
	if _, err := e.client.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	if err := srv.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
