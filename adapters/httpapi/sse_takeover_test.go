package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// eventually waits (up to 10 s) for cond, failing the test with what
// otherwise.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A stream that took its connection over ends as soon as its client
// leaves, though it writes nothing (the heartbeat is an hour away) and
// nobody reads the connection: its subscription and its slot are given
// back.
func TestStreamEndsWhenItsClientLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	var streams []*ssetest.Client
	for range 3 {
		c := e.open(e.token("u_alice"), []string{dm.String()}, ssetest.Options{})
		preamble(t, c, dm.String())
		streams = append(streams, c)
	}
	if n := e.notifier.count(); n != 3 {
		t.Fatalf("%d subscriptions, want 3", n)
	}
	_ = streams[0].Close()
	eventually(t, "the stream of the client that left is still subscribed", func() bool { return e.notifier.count() == 2 })
	for _, c := range streams[1:] {
		_ = c.Close()
	}
	eventually(t, "streams still subscribed after their clients left", func() bool { return e.notifier.count() == 0 })
	eventually(t, "relay_sse_connections is not back to 0", func() bool { return metricValue(t, e, "relay_sse_connections") == 0 })
}

// rawStream sends a stream request by hand over TCP, in the given HTTP
// version, and returns the connection and a reader of the response.
func rawStream(t *testing.T, e *env, proto, channel string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = fmt.Fprintf(conn, "GET /api/sse?channel=%s %s\r\nHost: relay\r\nAuthorization: Bearer %s\r\n\r\n",
		url.QueryEscape(channel), proto, e.token("u_bob"))
	if err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// A stream's response is whole and well framed on the connection it took
// over, for HTTP/1.1 and HTTP/1.0 clients alike: a status line, the
// stream's headers, no length and no chunking (the body ends when the
// connection closes, as "Connection: close" says), the preamble, live
// events, and the end of the body when the instance closes its streams.
func TestStreamResponseOnItsOwnConnection(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dm := e.seedDM("u_alice", "u_bob")
			_, br := rawStream(t, e, proto, dm.String())
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" {
				t.Fatalf("status line: %s %s", resp.Proto, resp.Status)
			}
			for name, want := range map[string]string{
				"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
			} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if !resp.Close || resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 {
				t.Errorf("close %v, length %d, transfer encoding %v: want a body delimited by the connection's close",
					resp.Close, resp.ContentLength, resp.TransferEncoding)
			}
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
				t.Errorf("Date = %q: %v", resp.Header.Get("Date"), err)
			}
			c := ssetest.NewReader(resp.Body)
			if ev, err := c.NextEvent(); err != nil || ev.Event != "ready" {
				t.Fatalf("first event %+v, %v; want ready", ev, err)
			}
			r := e.do(http.MethodPost, "/api/messages", e.token("u_alice"), `{"directMessageId":"dm_u_alice_u_bob","content":"over the wire"}`)
			r.expect(t, http.StatusCreated, "")
			ev, err := c.NextEvent()
			if err != nil || ev.Event != "message" || ev.Data+"\n" != string(r.body) {
				t.Fatalf("message event %+v, %v; want the message %s", ev, err, r.body)
			}
			e.handler.CloseStreams()
			if ev, err := c.NextEvent(); !errors.Is(err, io.EOF) {
				t.Fatalf("after CloseStreams: %+v, %v; want the end of the body", ev, err)
			}
		})
	}
}

// Server.Stop waits for the streams that took their connections over, and
// cuts the writes of those still blocked (a client that stopped reading)
// when its context ends, instead of waiting for their write timeout.
func TestStopWaitsForTakenOverStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(httpapi.Limits{Publish: httpapi.Unlimited}), func(o *envOptions) {
		o.cfg.WriteTimeout = time.Hour
		o.queue = 8
	})
	dm := e.seedDM("u_alice", "u_bob")
	srv := httpapi.NewServer("127.0.0.1:0", e.handler, slog.New(slog.DiscardHandler))
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.server.URL = "http://" + srv.Addr().String()

	reading := e.open(e.token("u_bob"), []string{dm.String()}, ssetest.Options{})
	preamble(t, reading, dm.String())
	// The other stream's client reads its preamble and then nothing: large
	// messages fill the sockets' buffers until the stream blocks in a write
	// and the notifier cuts it off (it is then the only one of the two
	// whose queue overflowed).
	stuck, br := rawStream(t, e, "HTTP/1.1", dm.String())
	if _, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet}); err != nil {
		t.Fatal(err)
	}
	_ = stuck
	eventually(t, "two subscriptions", func() bool { return e.notifier.count() == 2 })
	body := fmt.Sprintf(`{"directMessageId":"dm_u_alice_u_bob","content":%q}`, strings.Repeat("😀", 4000))
	go func() {
		for {
			ev, err := reading.NextEvent()
			if err != nil || ev.Event != "message" {
				return
			}
		}
	}()
	eventually(t, "the stream whose client stopped reading was never cut off", func() bool {
		e.do(http.MethodPost, "/api/messages", e.token("u_alice"), body).expect(t, http.StatusCreated, "")
		return e.notifier.count() == 1
	})

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want its deadline (a stream was blocked in a write)", err)
	}
	// Every stream ended before Stop returned.
	if n := e.notifier.count(); n != 0 {
		t.Errorf("%d subscriptions left after Stop", n)
	}
	if got := metricValue(t, e, "relay_sse_connections"); got != 0 {
		t.Errorf("relay_sse_connections = %v after Stop", got)
	}
}
