package pgnotify

import (
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/relaymsg/relay/adapters/cluster"
)

// NewNotifier returns a cluster.Notifier over a new Transport on db
// configured by opts. The notifier is not started: call Start, and Close
// when done (which closes the transport too, not db). A nil notifier
// Logger is opts.Logger.
//
// With opts.StoreNotifies, the MessageRepository must notify for it:
// WithNotify(opts.NotifyConfig(n.InstanceID())). Module does that.
func NewNotifier(db *sqlx.DB, opts Options, notifier cluster.Options) (*cluster.Notifier, error) {
	if notifier.Logger == nil {
		notifier.Logger = opts.Logger
	}
	t, err := NewTransport(db, opts)
	if err != nil {
		return nil, err
	}
	n, err := cluster.NewNotifier(t, notifier)
	if err != nil {
		// The transport was never started: it holds nothing to release.
		return nil, fmt.Errorf("postgres notifier: %w", err)
	}
	return n, nil
}
