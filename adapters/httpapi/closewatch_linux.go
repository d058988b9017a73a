//go:build linux

package httpapi

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// closeWatcher learns from one epoll instance when the clients of many
// connections leave, with one goroutine for all of them instead of one
// reading each connection (watchByReading). Its zero value is ready.
//
// A connection is registered for EPOLLRDHUP only (EPOLLHUP and EPOLLERR
// come with it): the peer shut its side or reset the connection. Not for
// EPOLLIN: a client that sends bytes anyway must not wake the loop, again
// and again, for data nobody will read. Registrations are one-shot, and
// each carries a generation besides its fd, because an fd is reused as
// soon as its connection closes: an event that the loop received for a
// registration unwatched meanwhile, now maybe naming another connection's
// fd, is recognised and dropped.
//
// The loop runs only while something is watched, so that an idle process
// (and every test's goroutine-leak check) sees no goroutine of it.
type closeWatcher struct {
	mu       sync.Mutex
	epfd     int // valid once ready
	wakeR    int // read end of the pipe that wakes the loop
	wakeW    int
	ready    bool
	running  bool // a loop goroutine is running or about to
	gen      int32
	watching map[int32]watchEntry // by fd
}

type watchEntry struct {
	gen     int32
	onClose func()
}

const watchEvents = syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// watch calls onClose, once, from the watcher's goroutine, when conn's
// peer closes or resets it, unless unwatch was called first. Call unwatch
// (idempotent) before closing conn; onClose may already be running then,
// so it must tolerate being called late, and return quickly.
func (w *closeWatcher) watch(conn net.Conn, onClose func()) (unwatch func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return watchByReading(conn, onClose)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return watchByReading(conn, onClose)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.initLocked(); err != nil {
		return watchByReading(conn, onClose)
	}
	w.gen++
	if w.gen <= 0 { // wrapped; 0 is the wake pipe's
		w.gen = 1
	}
	gen := w.gen
	var (
		fd     int32
		addErr error
	)
	err = raw.Control(func(f uintptr) {
		fd = int32(f)
		ev := syscall.EpollEvent{Events: watchEvents, Fd: fd, Pad: gen}
		addErr = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(f), &ev)
	})
	if err != nil || addErr != nil {
		return watchByReading(conn, onClose)
	}
	w.watching[fd] = watchEntry{gen: gen, onClose: onClose}
	if !w.running {
		w.running = true
		go w.loop()
	}
	var once sync.Once
	return func() { once.Do(func() { w.unwatch(fd, gen) }) }
}

func (w *closeWatcher) initLocked() error {
	if w.ready {
		return nil
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return err
	}
	w.epfd, w.wakeR, w.wakeW = epfd, p[0], p[1]
	w.watching = make(map[int32]watchEntry)
	w.ready = true
	return nil
}

// unwatch drops the registration of fd, if it is still gen's; the last
// one wakes the loop, which then ends. The fd is still the connection's:
// its owner closes it only after unwatch.
func (w *closeWatcher) unwatch(fd, gen int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.watching[fd]; !ok || e.gen != gen {
		return // its close was seen already
	}
	delete(w.watching, fd)
	_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	if len(w.watching) == 0 {
		_, _ = syscall.Write(w.wakeW, []byte{0}) // full pipe: woken already
	}
}

// loop waits for closes and calls their onClose, until nothing is watched.
func (w *closeWatcher) loop() {
	events := make([]syscall.EpollEvent, 128)
	var closed []func()
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if err != nil {
			if err != syscall.EINTR {
				// Not expected of a valid epoll fd; do not spin on it.
				time.Sleep(10 * time.Millisecond)
			}
			n = 0
		}
		w.mu.Lock()
		for _, ev := range events[:n] {
			if ev.Fd == int32(w.wakeR) && ev.Pad == 0 {
				var buf [64]byte
				for {
					if k, err := syscall.Read(w.wakeR, buf[:]); k <= 0 || err != nil {
						break
					}
				}
				continue
			}
			e, ok := w.watching[ev.Fd]
			if !ok || e.gen != ev.Pad {
				continue // unwatched meanwhile; the fd may be another's now
			}
			delete(w.watching, ev.Fd)
			_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, int(ev.Fd), nil)
			closed = append(closed, e.onClose)
		}
		done := len(w.watching) == 0
		if done {
			w.running = false
		}
		w.mu.Unlock()
		for i, f := range closed {
			f()
			closed[i] = nil
		}
		closed = closed[:0]
		if done {
			return
		}
	}
}

// isRunning reports whether the loop goroutine runs (or is about to), for
// tests.
func (w *closeWatcher) isRunning() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
