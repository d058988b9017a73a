package redis

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/relaymsg/relay/adapters/cluster"
	"github.com/relaymsg/relay/adapters/memory"
	"github.com/relaymsg/relay/ports"
)

// Module provides the cross-instance notifier, a cluster.Notifier over
// Redis, as ports.Notifier: the replacement of memory.Module when Relay
// runs as several instances. It needs Options, memory.Options (the local
// hub's), cluster.Settings, a ports.ConversationRepository (read for the
// channels' heads), a prometheus.Registerer and a *slog.Logger. The notifier starts
// receiving when the application starts, without waiting for Redis
// (readiness fails until it is connected), and closes when it stops,
// ending every subscription.
var Module = fx.Module("redis",
	fx.Provide(fx.Annotate(newModuleNotifier, fx.As(new(ports.Notifier)))),
)

type moduleParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Options    Options
	Hub        memory.Options
	Settings   cluster.Settings `optional:"true"` // zero: the defaults
	Store      ports.ConversationRepository
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func newModuleNotifier(p moduleParams) (*cluster.Notifier, error) {
	opts, lc := p.Options, p.Lifecycle
	if opts.Logger == nil {
		opts.Logger = p.Logger
	}
	n, err := NewNotifier(opts, cluster.Options{
		Hub: p.Hub, Store: p.Store, HeadInterval: p.Settings.HeadInterval,
		Logger: p.Logger, Registerer: p.Registerer,
	})
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: n.Start,
		OnStop:  func(context.Context) error { return n.Close() },
	})
	return n, nil
}
