package postgres_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/relaymsg/relay/adapters/postgres"
)

// The options the Dialer asks for are on the socket.
func TestDialerSetsSocketOptions(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := postgres.NewDialer(postgres.DialConfig{
		KeepAliveIdle:     7 * time.Second,
		KeepAliveInterval: 3 * time.Second,
		KeepAliveCount:    4,
		UserTimeout:       1500 * time.Millisecond,
	})
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := []struct {
		name       string
		level, opt int
		value      int
	}{
		{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 7},
		{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 3},
		{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 4},
		{"TCP_USER_TIMEOUT", unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 1500},
	}
	raw := rawConn(t, c)
	for _, w := range want {
		var got int
		var gerr error
		if err := raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), w.level, w.opt) }); err != nil {
			t.Fatal(err)
		}
		if gerr != nil {
			t.Fatalf("getsockopt %s: %v", w.name, gerr)
		}
		if got != w.value {
			t.Errorf("%s = %d, want %d", w.name, got, w.value)
		}
	}
}

// A connect whose SYN is never answered (here: a listener whose accept
// queue is full, so the kernel drops the SYNs, as a black-holed route
// does) fails within the connect timeout rather than the kernel's SYN
// retries, and a longer deadline of the caller's (lib/pq's, from the DSN's
// connect_timeout) is honoured instead.
func TestDialerConnectTimesOut(t *testing.T) {
	t.Parallel()
	addr := fullListener(t)
	tests := []struct {
		name     string
		deadline time.Duration // of the caller's context; 0 for none
		min, max time.Duration
	}{
		{name: "connect timeout", min: 250 * time.Millisecond, max: 2 * time.Second},
		{name: "the caller's longer deadline", deadline: 1200 * time.Millisecond, min: 1100 * time.Millisecond, max: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := postgres.NewDialer(postgres.DialConfig{ConnectTimeout: 300 * time.Millisecond})
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			c, err := d.DialContext(ctx, "tcp", addr)
			elapsed := time.Since(start)
			if err == nil {
				c.Close()
				t.Fatal("connected to a listener that drops SYNs")
			}
			if elapsed < tt.min || elapsed > tt.max {
				t.Fatalf("failed after %s (%v), want between %s and %s", elapsed, err, tt.min, tt.max)
			}
		})
	}
}

// A write to a peer that stops acknowledging fails after TCP_USER_TIMEOUT
// instead of waiting for the kernel's retransmissions (about 15 minutes).
// A peer that never reads (zero window, Linux 5.6 and later) stands in
// for a vanished one: the kernel applies the user timeout to both.
func TestDialerUserTimeoutEndsStalledWrite(t *testing.T) {
	t.Parallel()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
	}}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := postgres.NewDialer(postgres.DialConfig{UserTimeout: time.Second})
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer, err := ln.Accept() // and never read from
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := c.SetWriteDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	buf := make([]byte, 64<<10)
	for {
		if _, err = c.Write(buf); err != nil {
			break
		}
	}
	elapsed := time.Since(start)
	if !errors.Is(err, unix.ETIMEDOUT) {
		t.Fatalf("write failed after %s with %v, want ETIMEDOUT from TCP_USER_TIMEOUT", elapsed, err)
	}
	if elapsed > 10*time.Second {
		t.Fatalf("write failed after %s", elapsed)
	}
}

func rawConn(t *testing.T, c net.Conn) syscall.RawConn {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T is not a syscall.Conn", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// fullListener returns the address of a loopback socket that listens with
// a backlog of 0 and never accepts, its queue filled by one connection:
// the kernel drops further SYNs.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}).String()
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("fill the accept queue: %v", err)
	}
	t.Cleanup(func() { _ = filler.Close() })
	return addr
}
