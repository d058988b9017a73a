package clustertest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections on loopback to a server (Redis,
// PostgreSQL) and can cut them (the server seems down: connections close,
// new ones are closed at once) or stall them (the network drops everything
// but no connection closes: a half-open connection). Tests put it between
// a transport and its server to cause outages that other tests sharing the
// server do not see.
type Proxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{} // both ends of every forwarded connection
	wg    sync.WaitGroup

	replies atomic.Int64 // reads from the target forwarded to a client
}

type proxyMode int

const (
	pass proxyMode = iota
	cut
	stall
)

// StartProxy starts a proxy to target (host:port) on a free loopback port.
// It forwards until t ends, when it closes every connection and waits for
// its goroutines.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr returns the host:port to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		// Checked and registered under one lock, so that Cut cannot miss
		// a connection accepted meanwhile.
		p.mu.Lock()
		if p.mode == cut {
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			continue
		}
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(server, client, nil) })
		p.wg.Go(func() { p.pipe(client, server, &p.replies) })
	}
}

// Replies returns how many reads from the target the proxy has forwarded
// to its clients so far. On an otherwise idle connection each answer to a
// health check is one, so a test can wait for checks instead of for time.
func (p *Proxy) Replies() int64 { return p.replies.Load() }

// pipe copies from src to dst, dropping what it reads while stalled, and
// counts the forwarded reads in forwarded when it is not nil.
func (p *Proxy) pipe(dst, src net.Conn, forwarded *atomic.Int64) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled := p.mode == stall
			p.mu.Unlock()
			if !stalled {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
				if forwarded != nil {
					forwarded.Add(1)
				}
			}
		}
		if err != nil {
			return // EOF, or closed by Cut, Restore or close
		}
	}
}

// closeAllLocked closes every forwarded connection; p.mu is held.
func (p *Proxy) closeAllLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Cut closes every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = cut
	p.closeAllLocked()
}

// Stall drops all traffic, without closing anything, until Restore.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = stall
}

// Restore forwards again. Connections that lived through a stall lost
// bytes, so they are closed, as a real network would eventually reset them.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == stall {
		p.closeAllLocked()
	}
	p.mode = pass
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closeAllLocked()
	p.mu.Unlock()
	p.wg.Wait()
}
