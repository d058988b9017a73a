package pgnotify

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/adapters/sqlstore"
	"github.com/relaymsg/relay/ports"
)

// Module provides the cross-instance notifier, a cluster.Notifier over
// PostgreSQL LISTEN/NOTIFY, as ports.Notifier, and the hook that issues each
// message's NOTIFY in the transaction that stores it, both with one
// instance id. It replaces memory.Module (or redis.Module) and needs
// postgres.Module beside it, plus Options (whose empty DSN is
// postgres.Config's), memory.Options (the local hub's), cluster.Settings, a
// prometheus.Registerer and a *slog.Logger; it reads the channels' heads
// through postgres.Module's ports.ConversationRepository. The notifier
// starts receiving when the application starts, after the pool, without
// waiting for the listener (readiness fails until it listens), and closes
// when it stops, before the pool, ending every subscription.
//
// The hook goes to the store as a plain sqlstore.AfterAppend value, which
// postgres.Module takes if one is provided (an optional dependency): the
// store so depends on a neutral type of sqlstore, never on this package,
// and an application without Module gets a repository without a hook. Only
// one AfterAppend may be provided; a second would be a second notifier.
var Module = fx.Module("pgnotify",
	fx.Provide(newModuleNotifier),
)

type moduleParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Options    Options
	Store      postgres.Config
	DB         *sqlx.DB
	Hub        memory.Options
	Settings   cluster.Settings `optional:"true"` // zero: the defaults
	Convs      ports.ConversationRepository
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

type moduleResult struct {
	fx.Out
	Notifier ports.Notifier
	// AfterAppend is postgres.Module's MessageRepository hook: WithNotify's.
	AfterAppend sqlstore.AfterAppend
}

func newModuleNotifier(p moduleParams) (moduleResult, error) {
	opts := p.Options
	if opts.DSN == "" {
		opts.DSN = p.Store.DSN
	}
	if opts.Logger == nil {
		opts.Logger = p.Logger
	}
	// The repository sends every message's NOTIFY, with this notifier's
	// instance id as its origin (below), so the transport sends none.
	opts.StoreNotifies = true
	n, err := NewNotifier(p.DB, opts, cluster.Options{
		Hub: p.Hub, Store: p.Convs, HeadInterval: p.Settings.HeadInterval,
		Logger: p.Logger, Registerer: p.Registerer,
	})
	if err != nil {
		return moduleResult{}, err
	}
	notify := opts.NotifyConfig(n.InstanceID())
	// Checked here, at start-up, rather than failing every Append.
	if err := notify.Validate(); err != nil {
		return moduleResult{}, fmt.Errorf("message repository: %w", err)
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: n.Start,
		OnStop:  func(context.Context) error { return n.Close() },
	})
	return moduleResult{Notifier: n, AfterAppend: notify.afterAppend()}, nil
}
