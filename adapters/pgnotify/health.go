package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lib/pq"
)

// Phases of the listener connection.
const (
	phaseConnecting = iota // not yet connected since Start
	phaseUp
	phaseDown
)

// connState is what the transport knows of its listener. The Transport's
// mutex guards it.
type connState struct {
	phase     int
	lastErr   error
	downSince time.Time
	// listening is set once the LISTEN has been acknowledged: lib/pq then
	// repeats it on every reconnect, before it reports the reconnect.
	listening bool
	listenErr error
	// stalled says why the transport closed the connection itself, for
	// the log of the outage that follows.
	stalled error
	// outages counts the times the connection went down, so that the
	// receive loop can tell a loss it has not reported from one that a
	// later Reconnected already covered.
	outages int
}

// ready reports whether events committed from now on will arrive.
func (s connState) ready() bool { return s.listening && s.phase == phaseUp }

// err says why the transport is not ready, or nil.
func (s connState) err() error {
	switch {
	case s.phase == phaseConnecting:
		return errors.New("postgres listener: not connected yet")
	case s.phase == phaseDown:
		return fmt.Errorf("postgres listener connection down for %v: %w",
			time.Since(s.downSince).Round(time.Millisecond), s.lastErr)
	case s.listenErr != nil:
		return fmt.Errorf("postgres listener: %w", s.listenErr)
	case !s.listening:
		return errors.New("postgres listener: LISTEN not acknowledged yet")
	}
	return nil
}

// Ping fails while the listener connection is not up and LISTENing, if it
// does not answer a ping within PingTimeout, or if the pool does not.
func (t *Transport) Ping(ctx context.Context) error {
	t.mu.Lock()
	l, d, err := t.listener, t.dialer, t.conn.err()
	t.mu.Unlock()
	switch {
	case l == nil:
		return errors.New("postgres listener: not started")
	case err != nil:
		return err
	}
	if err := t.pingListener(l, d); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.pingTimeout)
	defer cancel()
	if err := t.db.PingContext(ctx); err != nil {
		return fmt.Errorf("postgres pool: %w", err)
	}
	return nil
}

// healthLoop pings the listener connection every HealthInterval while it
// is up, so that one that stopped answering is found and replaced.
func (t *Transport) healthLoop(ctx context.Context, l *pq.Listener, d *dialer) {
	tick := time.NewTicker(t.healthInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		ready := t.conn.ready()
		t.mu.Unlock()
		if ready {
			_ = t.pingListener(l, d) // a failure shows as a lost connection
		}
	}
}

// pingListener pings the listener connection. lib/pq waits for the answer
// without a deadline, holding the listener's lock: on a half-open
// connection that lasts until TCP gives up, many minutes. So a ping not
// answered within PingTimeout closes the socket, which ends the wait and
// makes lib/pq reconnect.
func (t *Transport) pingListener(l *pq.Listener, d *dialer) error {
	stall := time.AfterFunc(t.pingTimeout, func() {
		t.mu.Lock()
		t.conn.stalled = fmt.Errorf("no answer to a ping within %v: closed the connection", t.pingTimeout)
		t.mu.Unlock()
		d.closeAll()
	})
	err := l.Ping()
	if !stall.Stop() {
		return fmt.Errorf("postgres listener connection: no answer within %v: reconnecting", t.pingTimeout)
	}
	if err != nil {
		return fmt.Errorf("postgres listener connection: %w", err)
	}
	return nil
}

// onEvent follows the listener connection's state. lib/pq calls it from
// its goroutine, in order.
func (t *Transport) onEvent(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected, pq.ListenerEventReconnected:
		t.markUp()
	case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
		t.markDown(err)
	}
}

// markUp records that the listener is connected. Once the LISTEN is known,
// lib/pq has repeated it before reporting the connection, so every watched
// channel resyncs: anything committed while the connection was down is in
// the store.
func (t *Transport) markUp() {
	t.mu.Lock()
	prev, since := t.conn.phase, t.conn.downSince
	t.conn.phase, t.conn.lastErr = phaseUp, nil
	listening, closed := t.conn.listening, t.closed
	t.mu.Unlock()
	if listening {
		signal(t.resyncAll)
	}
	if prev == phaseDown && !closed {
		t.logger.LogAttrs(context.Background(), slog.LevelInfo, "postgres listener connection restored",
			slog.Duration("outage", time.Since(since).Round(time.Millisecond)))
	}
}

// markDown records that the listener connection failed, logging only the
// first failure of an outage.
func (t *Transport) markDown(err error) {
	if err == nil {
		err = errors.New("connection lost")
	}
	t.mu.Lock()
	if t.conn.stalled != nil {
		err = fmt.Errorf("%w: %w", t.conn.stalled, err)
		t.conn.stalled = nil
	}
	prev := t.conn.phase
	t.conn.phase, t.conn.lastErr = phaseDown, err
	if prev != phaseDown {
		t.conn.downSince = time.Now()
		t.conn.outages++
	}
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return
	}
	if prev != phaseDown {
		signal(t.lost)
	}
	ctx := context.Background()
	switch prev {
	case phaseUp:
		t.logger.LogAttrs(ctx, slog.LevelWarn, "postgres listener connection lost: reconnecting", slog.Any("error", err))
	case phaseConnecting:
		t.logger.LogAttrs(ctx, slog.LevelWarn, "postgres listener connection failed: retrying", slog.Any("error", err))
	}
}
