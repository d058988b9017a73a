//go:build !linux

package httpapi

import "net"

// closeWatcher watches each connection with a goroutine of its own
// (watchByReading) where epoll is not available.
type closeWatcher struct{}

func (*closeWatcher) watch(conn net.Conn, onClose func()) (unwatch func()) {
	return watchByReading(conn, onClose)
}
