package httpapi

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection: the server's
// (watched) and the client's.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		_ = server.Close()
		_ = client.Close()
	})
	return server, client
}

// closeSignal counts the calls of an onClose and tells of the first.
type closeSignal struct {
	calls atomic.Int32
	ch    chan struct{}
}

func newCloseSignal() *closeSignal { return &closeSignal{ch: make(chan struct{}, 1)} }

func (s *closeSignal) onClose() {
	if s.calls.Add(1) == 1 {
		s.ch <- struct{}{}
	}
}

func (s *closeSignal) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-s.ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no close seen after 10 s", what)
	}
}

// quiet checks that no close is reported for a while.
func (s *closeSignal) quiet(t *testing.T, what string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	if n := s.calls.Load(); n != 0 {
		t.Fatalf("%s: onClose called %d times", what, n)
	}
}

func waitStopped(t *testing.T, w *closeWatcher) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.isRunning(); {
		if time.Now().After(deadline) {
			t.Fatal("the watcher's loop still runs with nothing watched")
		}
		time.Sleep(time.Millisecond)
	}
}

// Each way of watching: the epoll watcher and the goroutine per connection.
var watchers = map[string]func(w *closeWatcher) func(net.Conn, func()) func(){
	"epoll":   func(w *closeWatcher) func(net.Conn, func()) func() { return w.watch },
	"reading": func(*closeWatcher) func(net.Conn, func()) func() { return watchByReading },
}

func TestCloseWatcher(t *testing.T) {
	t.Parallel()
	for name, mk := range watchers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("peer closes", func(t *testing.T) {
				var w closeWatcher
				srv, cli := tcpPair(t)
				s := newCloseSignal()
				unwatch := mk(&w)(srv, s.onClose)
				s.quiet(t, "open connection")
				_ = cli.Close()
				s.wait(t, "peer close")
				unwatch()
				unwatch()
				if n := s.calls.Load(); n != 1 {
					t.Fatalf("onClose called %d times", n)
				}
				waitStopped(t, &w)
			})
			t.Run("peer sends data, then resets", func(t *testing.T) {
				var w closeWatcher
				srv, cli := tcpPair(t)
				s := newCloseSignal()
				defer mk(&w)(srv, s.onClose)()
				if _, err := cli.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
					t.Fatal(err)
				}
				s.quiet(t, "data from the peer")
				_ = cli.(*net.TCPConn).SetLinger(0)
				_ = cli.Close()
				s.wait(t, "peer reset")
			})
			t.Run("unwatched first", func(t *testing.T) {
				var w closeWatcher
				srv, cli := tcpPair(t)
				s := newCloseSignal()
				mk(&w)(srv, s.onClose)()
				_ = cli.Close()
				s.quiet(t, "close after unwatch")
				waitStopped(t, &w)
			})
			t.Run("many", func(t *testing.T) {
				var w closeWatcher
				const n = 200
				signals := make([]*closeSignal, n)
				clients := make([]net.Conn, n)
				unwatches := make([]func(), n)
				for i := range n {
					srv, cli := tcpPair(t)
					signals[i], clients[i] = newCloseSignal(), cli
					unwatches[i] = mk(&w)(srv, signals[i].onClose)
				}
				for i := range n {
					if i%2 == 0 {
						_ = clients[i].Close()
					}
				}
				for i := range n {
					if i%2 == 0 {
						signals[i].wait(t, "peer close")
					}
				}
				for i := range n {
					unwatches[i]()
					if want := int32(1 - i%2); signals[i].calls.Load() != want {
						t.Fatalf("connection %d: onClose called %d times, want %d", i, signals[i].calls.Load(), want)
					}
				}
				waitStopped(t, &w)
			})
		})
	}
}

// A connection's fd is reused by the next one as soon as it closes: the
// new connection's watch is its own, and the old one's callback is never
// called for it.
func TestCloseWatcherFdReuse(t *testing.T) {
	var w closeWatcher
	keep, _ := tcpPair(t) // keeps the loop running throughout
	defer w.watch(keep, func() {})()
	for range 20 {
		a, acli := tcpPair(t)
		sa := newCloseSignal()
		unwatchA := w.watch(a, sa.onClose)
		unwatchA()
		_ = a.Close()
		b, bcli := tcpPair(t) // most likely a's fd again
		sb := newCloseSignal()
		unwatchB := w.watch(b, sb.onClose)
		_ = acli.Close()
		sb.quiet(t, "the old connection's peer closed")
		_ = bcli.Close()
		sb.wait(t, "the new connection's peer closed")
		unwatchB()
		if n := sa.calls.Load(); n != 0 {
			t.Fatalf("the unwatched connection's onClose was called %d times", n)
		}
	}
}
