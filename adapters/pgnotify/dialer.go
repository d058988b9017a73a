package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/relaymsg/relay/adapters/postgres"
)

// dialer is the pq.Dialer of the listener. It gives the transport a hold
// on lib/pq's connections, which lib/pq's Listener does not: its dials end
// when the transport closes, and closeAll closes the sockets it opened,
// which unblocks whatever waits on them. The sockets themselves are the
// pool's (postgres.Dialer: connect timeout, keepalive, TCP_USER_TIMEOUT).
type dialer struct {
	ctx  context.Context // done when the transport closes
	base *postgres.Dialer

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

var _ pq.DialerContext = (*dialer)(nil)

func newDialer(ctx context.Context, base *postgres.Dialer) *dialer {
	return &dialer{ctx: ctx, base: base, conns: make(map[*trackedConn]struct{})}
}

// Dial connects to address.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout connects to address within timeout.
func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext connects to address, giving up when ctx or the transport
// ends.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.ctx, cancel)
	defer stop()
	c, err := d.base.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Checked under the lock that closeAll takes: a connection made after
	// closeAll would otherwise stay open.
	if d.ctx.Err() != nil {
		_ = c.Close()
		return nil, fmt.Errorf("dial %s: %w", address, net.ErrClosed)
	}
	tc := &trackedConn{Conn: c, d: d}
	d.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every connection the dialer opened that is still open.
func (d *dialer) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.conns {
		_ = c.Conn.Close()
	}
	clear(d.conns)
}

// trackedConn is a connection that leaves the dialer's set when closed.
type trackedConn struct {
	net.Conn
	d *dialer
}

func (c *trackedConn) Close() error {
	c.d.mu.Lock()
	delete(c.d.conns, c)
	c.d.mu.Unlock()
	return c.Conn.Close()
}

// listenerDSN returns dsn with the listener's connection name, so that an
// operator tells it apart in pg_stat_activity, and with connectTimeout
// unless dsn sets one: without it a handshake with a server that stopped
// answering would wait forever, holding the lib/pq lock that Close needs.
// It checks dsn without quoting it in errors: a DSN may hold a password.
func listenerDSN(dsn, name string, connectTimeout time.Duration) (string, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err
		}
		return "", fmt.Errorf("malformed DSN: %w", err)
	}
	params := map[string]string{"application_name": name}
	if cfg.ConnectTimeout <= 0 {
		// connect_timeout counts whole seconds.
		params["connect_timeout"] = strconv.Itoa(int(max(connectTimeout.Round(time.Second), time.Second) / time.Second))
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("malformed DSN: not a valid URL")
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	// In a key=value DSN a later key overrides an earlier one.
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	for k, v := range params {
		dsn += " " + k + "='" + quote.Replace(v) + "'"
	}
	return dsn, nil
}
