//go:build !linux

package postgres

import (
	"syscall"
	"time"
)

// userTimeoutControl returns nil: TCP_USER_TIMEOUT is Linux's. Elsewhere a
// connection with data in flight to a vanished server lasts until the
// kernel's retransmissions give up.
func userTimeoutControl(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
