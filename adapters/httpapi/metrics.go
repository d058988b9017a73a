package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// Metrics are the HTTP adapter's Prometheus metrics.
type Metrics struct {
	requestDuration   *prometheus.HistogramVec
	sseConnections    prometheus.Gauge
	sseSubscriptions  prometheus.Gauge
	messagesSent      prometheus.Counter
	messagesDelivered prometheus.Counter
	sseCutoffs        prometheus.Counter
	gapFills          prometheus.Counter
	gapFillMessages   prometheus.Counter
	limited           *prometheus.CounterVec
	inboxHeldBack     prometheus.Counter
}

var _ ports.StreamObserver = (*Metrics)(nil)

// NewMetrics creates the metrics and registers them with reg; a nil reg
// leaves them unregistered (tests, or a service without /metrics). It
// fails when reg already holds metrics of the same names, which means the
// adapter was wired twice.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relay_http_request_duration_seconds",
			Help:    "Duration of HTTP requests by method, route template and status code; SSE streams count until they end.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "code"}),
		sseConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_sse_connections",
			Help: "Open SSE streams on this instance.",
		}),
		sseSubscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_sse_subscriptions",
			Help: "Channel subscriptions across the open SSE streams of this instance.",
		}),
		messagesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_messages_sent_total",
			Help: "Messages created through POST /api/messages (idempotent retries excluded).",
		}),
		messagesDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_messages_delivered_total",
			Help: "Message events written to SSE streams.",
		}),
		sseCutoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_sse_cutoffs_total",
			Help: "SSE streams ended because the subscriber fell behind and its delivery queue overflowed.",
		}),
		gapFills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_stream_gap_fills_total",
			Help: "Times a stream read messages from the store because their notifications did not arrive in time (lost or long overtaken).",
		}),
		gapFillMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_stream_gap_fill_messages_total",
			Help: "Messages streams recovered from the store by gap fills.",
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_limited_total",
			Help: "Requests refused by a per-instance limit (a 429, or a stream told to retry), by limit.",
		}, []string{"limit"}),
		inboxHeldBack: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relay_inbox_held_back_total",
			Help: "Inbox streams ended (or not started) with a retry because a long PostgreSQL transaction holds the commit watermark back and their id would outgrow its bound.",
		}),
	}
	for _, l := range limitNames {
		// Present at 0 from the start, so that a rate over them works
		// before the first refusal.
		m.limited.WithLabelValues(l)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requestDuration, m.sseConnections, m.sseSubscriptions,
		m.messagesSent, m.messagesDelivered, m.sseCutoffs, m.gapFills, m.gapFillMessages, m.limited, m.inboxHeldBack} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// GapFilled counts a stream's gap fill; it implements ports.StreamObserver.
func (m *Metrics) GapFilled(_ domain.ChannelID, recovered int) {
	m.gapFills.Inc()
	m.gapFillMessages.Add(float64(recovered))
}

// knownMethods bounds the method label: a client can send any token as a
// method, and each would otherwise become a new time series.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func (m *Metrics) observeRequest(method, route string, status int, elapsed time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.requestDuration.WithLabelValues(method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
}
