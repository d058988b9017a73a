package pgnotify

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/adapters/postgres"
	"github.com/relaymsg/relay/ports"
)

// Module provides the cross-instance notifier, a cluster.Notifier over
// PostgreSQL LISTEN/NOTIFY, as ports.Notifier, and the postgres.NotifyConfig
// with which postgres.Module's MessageRepository issues each message's
// NOTIFY in its transaction, both with one instance id. It replaces
// memory.Module (or redis.Module) and needs postgres.Module beside it, plus
// Options (whose empty DSN is postgres.Config's), memory.Options (the local
// hub's), cluster.Settings, a prometheus.Registerer and a *slog.Logger; it
// reads the channels' heads through postgres.Module's
// ports.ConversationRepository. The notifier starts
// receiving when the application starts, after the pool, without waiting
// for the listener (readiness fails until it listens), and closes when it
// stops, before the pool, ending every subscription.
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
	Notify   postgres.NotifyConfig
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
	p.Lifecycle.Append(fx.Hook{
		OnStart: n.Start,
		OnStop:  func(context.Context) error { return n.Close() },
	})
	return moduleResult{Notifier: n, Notify: opts.NotifyConfig(n.InstanceID())}, nil
}
