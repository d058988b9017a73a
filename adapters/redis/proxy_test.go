package redis_test

import (
	"net"
	"sync"
	"testing"
)

// faultProxy forwards TCP connections on loopback to a Redis server, and
// can cut them (the server seems down: connections close, new ones are
// closed at once) or stall them (the network drops everything but no
// connection closes: a half-open connection).
type faultProxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{} // both ends of every forwarded connection
	wg    sync.WaitGroup
}

type proxyMode int

const (
	pass proxyMode = iota
	cut
	stall
)

func startProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{target: target, ln: ln, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) accept() {
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
		// Checked and registered under one lock, so that cut cannot miss
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
		p.wg.Go(func() { p.pipe(server, client) })
		p.wg.Go(func() { p.pipe(client, server) })
	}
}

// pipe copies from src to dst, dropping what it reads while stalled.
func (p *faultProxy) pipe(dst, src net.Conn) {
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
			}
		}
		if err != nil {
			return // EOF, or closed by cut, restore or close
		}
	}
}

// closeAllLocked closes every forwarded connection; p.mu is held.
func (p *faultProxy) closeAllLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// cut closes every connection and refuses new ones until restore.
func (p *faultProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = cut
	p.closeAllLocked()
}

// stall drops all traffic, without closing anything, until restore.
func (p *faultProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = stall
}

// restore forwards again. Connections that lived through a stall lost
// bytes, so they are closed, as a real network would eventually reset them.
func (p *faultProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == stall {
		p.closeAllLocked()
	}
	p.mode = pass
}

func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closeAllLocked()
	p.mu.Unlock()
	p.wg.Wait()
}
