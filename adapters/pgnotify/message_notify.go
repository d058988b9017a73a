package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/adapters/wire"
	"github.com/relaymsg/relay/domain"
)

// NotifyMaxPayload is the largest NOTIFY payload Relay sends. PostgreSQL
// refuses payloads of 8000 bytes or more (in its default build); the margin
// leaves room for a server encoding that is not UTF-8. A message whose
// envelope is larger goes out partial, and receivers read it from the store.
const NotifyMaxPayload = 7900

// NotifyConfig makes the MessageRepository's Append (adapters/sqlstore, on
// PostgreSQL) issue a NOTIFY for each message it stores. The zero value
// means no NOTIFY.
type NotifyConfig struct {
	// Channel is the PostgreSQL channel the instances LISTEN on, one for
	// all of Relay's channels. Empty disables the NOTIFY.
	Channel string
	// Origin is the instance id that the envelope carries. It must be the
	// InstanceID of this instance's cluster.Notifier: that is how the
	// instance recognizes its own message when the NOTIFY comes back, and
	// drops it, since the notifier's hub delivered it locally already.
	Origin string
}

// Enabled reports whether c asks for a NOTIFY.
func (c NotifyConfig) Enabled() bool { return c.Channel != "" }

// Validate reports a configuration PostgreSQL would refuse on every
// Append, or one whose notifications would come back to their own
// instance as if another had sent them.
func (c NotifyConfig) Validate() error {
	switch {
	case !c.Enabled():
		return nil
	case len(c.Channel) > maxChannelName:
		return fmt.Errorf("notify channel %q: longer than %d bytes", c.Channel, maxChannelName)
	case c.Origin == "":
		return errors.New("notify: no origin (the notifier's instance id)")
	}
	return nil
}

// WithNotify makes the Append of a MessageRepository
// (postgres.NewMessageRepository) issue `SELECT pg_notify(channel,
// envelope)` in the transaction that stores the message, after the INSERT:
// PostgreSQL delivers it when, and only if, the transaction commits, in
// commit order, so the other instances hear of every stored message and of
// nothing else, in seq order per channel. A zero cfg is no NOTIFY.
func WithNotify(cfg NotifyConfig) sqlstore.MessageOption {
	return sqlstore.WithAfterAppend(cfg.afterAppend())
}

// afterAppend is the MessageRepository's hook that issues the NOTIFY, or
// nil (no hook) when c asks for none.
func (c NotifyConfig) afterAppend() sqlstore.AfterAppend {
	if !c.Enabled() {
		return nil
	}
	return c.notifyStored
}

// notifyStored issues the NOTIFY of m, which tx has just stored: the
// MessageRepository's AfterAppend hook.
func (c NotifyConfig) notifyStored(ctx context.Context, tx *sqlx.Tx, m domain.Message) error {
	payload, err := notifyPayload(m, c.Origin)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, c.Channel, string(payload))
	return err
}

// notifyPayload returns the envelope of m, partial if the whole one does
// not fit a NOTIFY.
func notifyPayload(m domain.Message, origin string) ([]byte, error) {
	// Sent just before the commit that delivers it: the receivers' lag
	// then covers the commit itself too.
	payload, err := wire.EncodeLimited(domain.MessageEvent(m), origin, NotifyMaxPayload, time.Now())
	if err == nil {
		return payload, nil
	}
	// The envelope refuses what its receivers could not decode; the store
	// took the message all the same, so receivers are told to read the
	// channel from the store instead of the message being refused here.
	payload, resyncErr := wire.Encode(domain.Event{Kind: domain.EventResync, Channel: m.Channel}, origin)
	if resyncErr != nil {
		return nil, fmt.Errorf("notify: %w", errors.Join(err, resyncErr))
	}
	return payload, nil
}
