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
	"os"
	"strings"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/adapters/httpapi/ssetest"
)

// clientPatience is how long a raw client waits for an answer the server
// owes it promptly; a server that keeps it waiting longer has hung.
const clientPatience = 5 * time.Second

// startServer serves e's handler on a real listener with opts.
func startServer(t *testing.T, e *env, opts ...httpapi.ServerOption) string {
	t.Helper()
	srv := httpapi.NewServer("127.0.0.1:0", e.handler, slog.New(slog.DiscardHandler), opts...)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(t.Context()) })
	return srv.Addr().String()
}

// rawConn dials addr and gives the exchange clientPatience to finish.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(clientPatience)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readAnswer reads one response from conn; a connection the server
// closed without an answer is a nil response and io.EOF (or a reset).
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, error) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer and the connection still open after %s: the server hangs", clientPatience)
	}
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// A POST without a token whose body never comes is answered 401 at once,
// and the server closes the connection instead of waiting to drain the
// body it will not read.
func TestUnauthenticatedStalledBodyIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := startServer(t, e)
	conn := rawConn(t, addr)
	fmt.Fprintf(conn, "POST /api/messages HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
	resp, err := readAnswer(t, conn)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", resp.StatusCode)
	}
	if !resp.Close {
		t.Fatal("the answer does not close the connection; the server would wait for the unread body")
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("after the answer: %v, want the connection closed", err)
	}
}

// An authenticated request whose body stalls is cut once the read timeout
// passes: 408, or the connection closed.
func TestStalledBodyIsCutAfterReadTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	const timeout = 300 * time.Millisecond
	addr := startServer(t, e, httpapi.WithReadTimeout(timeout))
	start := time.Now() // before the server can start its clock
	conn := rawConn(t, addr)
	body := fmt.Sprintf(`{"directMessageId":%q,"content":"`, strings.TrimPrefix(dm.String(), "dm:"))
	fmt.Fprintf(conn, "POST /api/messages HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n%s",
		e.token("u_alice"), body)
	resp, err := readAnswer(t, conn)
	elapsed := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status = %d, want 408 or the connection closed", resp.StatusCode)
	}
	if elapsed < timeout {
		t.Fatalf("cut after %s, before the read timeout of %s", elapsed, timeout)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// The read timeout bounds requests, not streams: a stream outlives it.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	e := newEnv(t, func(o *envOptions) { o.heartbeat = timeout / 4 })
	dm := e.seedDM("u_alice", "u_bob")
	addr := startServer(t, e, httpapi.WithReadTimeout(timeout))
	ctx, cancel := context.WithTimeout(t.Context(), clientPatience)
	defer cancel()
	c, err := ssetest.Open(ctx, e.client, "http://"+addr, []string{dm.String()}, ssetest.Options{Token: e.token("u_alice")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	preamble(t, c, dm.String())
	start := time.Now()
	// Heartbeats until well past the timeout, then a message: the stream
	// is still there and its context was not cancelled.
	for time.Since(start) < 3*timeout {
		if ev := next(t, c); ev.Raw != ": ping\n\n" {
			t.Fatalf("block = %q, want the heartbeat", ev.Raw)
		}
	}
	e.send(e.token("u_bob"), dm, "still there")
	for {
		ev := next(t, c)
		if ev.IsDispatched() {
			if ev.Event != "message" {
				t.Fatalf("event = %q, want the message", ev.Event)
			}
			return
		}
	}
}

// A client that sends its headers a byte at a time, each byte in time but
// the whole slower than the header timeout, is cut off.
func TestSlowlorisHeadersAreCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const timeout = 300 * time.Millisecond
	addr := startServer(t, e, httpapi.WithReadHeaderTimeout(timeout))
	start := time.Now() // before the server can start its clock
	conn := rawConn(t, addr)
	closed := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		closed <- err
	}()
	headers := "GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: " + strings.Repeat("a", 10000)
	tick := time.NewTicker(timeout / 10)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case err := <-closed:
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the slow client still connected after %s", time.Since(start))
			}
			if elapsed := time.Since(start); elapsed < timeout {
				t.Fatalf("cut after %s, before the header timeout of %s", elapsed, timeout)
			}
			return
		case <-tick.C:
			if i < len(headers) {
				// A write may fail once the server has closed; the read
				// above reports that.
				_, _ = conn.Write([]byte{headers[i]})
			}
		}
	}
}

// sendRaw writes req on a fresh connection while it reads the answer, so
// that a server answering before it has read everything is still heard.
// It returns once the server has closed the connection, which it does
// after a rejected request (so that no server goroutine outlives a test).
func sendRaw(t *testing.T, addr, req string) (*http.Response, error) {
	t.Helper()
	conn := rawConn(t, addr)
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = io.WriteString(conn, req)
	}()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer and the connection still open after %s: the server hangs", clientPatience)
	}
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server did not close the connection after its answer")
			}
		}
	}
	conn.Close()
	<-written
	return resp, err
}

// Headers over the server's limit are 431, well before the 1 MiB that
// net/http allows by default.
func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := startServer(t, e)
	for _, size := range []int{100 << 10, 1 << 20} {
		resp, err := sendRaw(t, addr, "GET /api/conversations HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer "+e.token("u_alice")+
			"\r\nX-Big: "+strings.Repeat("a", size)+"\r\n\r\n")
		if err != nil {
			t.Fatalf("%d-byte header: no answer: %v", size, err)
		}
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%d-byte header: status = %d, want 431", size, resp.StatusCode)
		}
	}
}

// A request line too long is a client error too, not a hang or a crash.
func TestQueryTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dm := e.seedDM("u_alice", "u_bob")
	addr := startServer(t, e)
	query := "directMessageId=" + strings.TrimPrefix(dm.String(), "dm:") + "&after=" + strings.Repeat("A", 100<<10)
	resp, err := sendRaw(t, addr, "GET /api/messages?"+query+" HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer "+e.token("u_alice")+"\r\n\r\n")
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("status = %d, want a 4xx", resp.StatusCode)
	}
	// The server still serves.
	if r := e.do(http.MethodGet, "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("healthz = %d", r.status)
	}
}
