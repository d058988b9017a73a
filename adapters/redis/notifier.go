package redis

import (
	"fmt"

	"github.com/relaymsg/relay/adapters/cluster"
)

// NewNotifier returns a cluster.Notifier over a new Transport configured
// by opts. The notifier is not started: call Start, and Close when done
// (which closes the transport too). A nil notifier Logger is opts.Logger.
func NewNotifier(opts Options, notifier cluster.Options) (*cluster.Notifier, error) {
	if notifier.Logger == nil {
		notifier.Logger = opts.Logger
	}
	t, err := NewTransport(opts)
	if err != nil {
		return nil, err
	}
	n, err := cluster.NewNotifier(t, notifier)
	if err != nil {
		_ = t.Close() // never started: only releases the client
		return nil, fmt.Errorf("redis notifier: %w", err)
	}
	return n, nil
}
