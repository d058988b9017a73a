package cluster

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the notifier's cluster-level figures. They always exist, so
// the hot paths need no nil checks; they are registered only when Options
// name a Registerer.
type metrics struct {
	lag             prometheus.Histogram
	resyncs         prometheus.Counter
	publishFailures prometheus.Counter
	pending         prometheus.Gauge
	pendingDropped  prometheus.Counter
	rejected        prometheus.Counter
	watched         prometheus.Gauge
	unconfirmed     prometheus.Counter
	heads           prometheus.Counter
	headFailures    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "relay_notifier_lag_seconds",
			Help: "Time from a message's commit on another instance (when its publisher sent it) to its hand-over to this instance's subscribers.",
			// 0.5 ms to about 16 s: Redis on a LAN is around a millisecond;
			// seconds mean a backlog or clocks that disagree.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_resyncs_total",
			Help: "Resync events handed to local subscribers of a channel (new or restored upstream subscription, partial or unreadable envelope).",
		}),
		publishFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_publish_failures_total",
			Help: "Events the transport failed to publish, or that were queued while it was failing; each is re-published later.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_notifier_pending_events",
			Help: "Events waiting to be re-published: per channel the latest message, plus each member removal.",
		}),
		pendingDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_pending_dropped_total",
			Help: "Events dropped from a full re-publish set; other instances learn of such a message only from the channel's next one.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_rejected_envelopes_total",
			Help: "Envelopes received that could not be decoded (malformed or of an unknown version).",
		}),
		watched: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_notifier_watched_channels",
			Help: "Channels with at least one local subscriber, which this instance receives from the transport.",
		}),
		unconfirmed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_unconfirmed_publishes_total",
			Help: "Local messages handed to local subscribers guarded (delivered only if no member was removed since the stream checked access, else after a new check) because the transport was not receiving their channel.",
		}),
		heads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_heads_total",
			Help: "Channel heads (last seq, member removals) read from the store and handed to local subscribers, which catch up if notifications were lost.",
		}),
		headFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_notifier_head_check_failures_total",
			Help: "Periodic head checks that could not read the store.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lag, m.resyncs, m.publishFailures, m.pending, m.pendingDropped, m.rejected, m.watched, m.unconfirmed, m.heads, m.headFailures} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				err = fmt.Errorf("%w (one cluster notifier per registry)", err)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
