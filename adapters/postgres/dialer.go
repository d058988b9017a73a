package postgres

import (
	"context"
	"net"
	"time"

	"github.com/lib/pq"
)

// Defaults applied to the zero fields of DialConfig. Together they bound
// how long a connection outlives a peer that vanished without a FIN or RST
// (a host gone, a black-holed route): an idle connection is found dead
// after DefaultKeepAliveIdle plus DefaultKeepAliveCount probes
// DefaultKeepAliveInterval apart (30 s), and one with a query in flight
// after DefaultUserTimeout of unacknowledged data. Without them the kernel
// retransmits for about 15 minutes, and a connect to a black-holed address
// waits out the SYN retries (2 minutes or more).
const (
	DefaultConnectTimeout    = 5 * time.Second
	DefaultKeepAliveIdle     = 15 * time.Second
	DefaultKeepAliveInterval = 5 * time.Second
	DefaultKeepAliveCount    = 3
	DefaultUserTimeout       = 30 * time.Second
)

// DialConfig sets how connections to PostgreSQL are made. Zero fields take
// the defaults above.
type DialConfig struct {
	// ConnectTimeout bounds a connect when the caller sets no deadline. A
	// pool also gives it to lib/pq as connect_timeout unless the DSN sets
	// one, which then bounds the startup handshake as well.
	ConnectTimeout time.Duration
	// KeepAliveIdle, KeepAliveInterval and KeepAliveCount are the TCP
	// keepalive settings: idle time before the first probe, time between
	// probes, and unanswered probes before the connection is dropped.
	KeepAliveIdle     time.Duration
	KeepAliveInterval time.Duration
	KeepAliveCount    int
	// UserTimeout is TCP_USER_TIMEOUT (Linux only, ignored elsewhere): how
	// long written data may stay unacknowledged before the connection is
	// dropped, so that a query to a vanished server fails instead of
	// waiting for the kernel's retransmissions to give up.
	UserTimeout time.Duration
}

func (c DialConfig) withDefaults() DialConfig {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.KeepAliveIdle <= 0 {
		c.KeepAliveIdle = DefaultKeepAliveIdle
	}
	if c.KeepAliveInterval <= 0 {
		c.KeepAliveInterval = DefaultKeepAliveInterval
	}
	if c.KeepAliveCount <= 0 {
		c.KeepAliveCount = DefaultKeepAliveCount
	}
	if c.UserTimeout <= 0 {
		c.UserTimeout = DefaultUserTimeout
	}
	return c
}

// Dialer is the pq.Dialer of Relay's connections to PostgreSQL, the pool's
// and pgnotify's listener's, so that both survive a dead link the same way.
// Create it with NewDialer.
type Dialer struct {
	timeout time.Duration
	net     net.Dialer
}

var _ pq.DialerContext = (*Dialer)(nil)

// NewDialer returns a Dialer configured by cfg.
func NewDialer(cfg DialConfig) *Dialer {
	cfg = cfg.withDefaults()
	return &Dialer{
		timeout: cfg.ConnectTimeout,
		net: net.Dialer{
			KeepAliveConfig: net.KeepAliveConfig{
				Enable:   true,
				Idle:     cfg.KeepAliveIdle,
				Interval: cfg.KeepAliveInterval,
				Count:    cfg.KeepAliveCount,
			},
			Control: userTimeoutControl(cfg.UserTimeout),
		},
	}
}

// Dial connects to address within the connect timeout.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout connects to address within timeout.
func (d *Dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext connects to address before ctx ends, and within the connect
// timeout if ctx has no deadline: lib/pq passes one when the DSN sets
// connect_timeout, which is then honoured as it is, longer or shorter.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	return d.net.DialContext(ctx, network, address)
}
