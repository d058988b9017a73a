package httpapi

import (
	"net"
	"sync"
	"time"
)

// streamCloses tells the streams that took their connections over
// (takeOver) when their clients leave. Such a stream never reads its
// connection again, and writes only when it has something to say, so
// without it a client that left would be noticed only by the next
// heartbeat's write.
var streamCloses closeWatcher

// watchByReading is the portable way to notice a client leaving: a
// goroutine reads the connection (a stream client sends nothing more;
// whatever it sends is dropped) until the read fails, and then calls
// onClose, unless unwatch came first. unwatch ends the goroutine and waits
// for it; after it returns onClose is not called. It is safe to call more
// than once.
func watchByReading(conn net.Conn, onClose func()) (unwatch func()) {
	var (
		mu      sync.Mutex
		stopped bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			if _, err := conn.Read(buf); err != nil {
				break
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			onClose()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			stopped = true
			mu.Unlock()
			_ = conn.SetReadDeadline(time.Unix(1, 0)) // ends the read at once
		})
		<-done
	}
}
