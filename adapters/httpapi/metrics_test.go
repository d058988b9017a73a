package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymsg/relay/adapters/httpapi"
	"github.com/relaymsg/relay/domain"
)

// metricValue returns the value of the single-series counter or gauge
// name in e's registry.
func metricValue(t *testing.T, e *env, name string) float64 {
	t.Helper()
	families, err := e.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return m.Gauge.GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(http.MethodGet, "/api/conversations", e.token("u_alice"), nil).expect(t, http.StatusOK, "")
	e.do(http.MethodGet, "/no/such/route", "", nil).expect(t, http.StatusNotFound, "not_found")

	resp, err := e.client.Get(e.server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`relay_http_request_duration_seconds_count{code="200",method="GET",route="/api/conversations"} 1`,
		`relay_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		"relay_sse_connections 0",
		"relay_sse_subscriptions 0",
		"relay_messages_sent_total 0",
		"relay_messages_delivered_total 0",
		"relay_sse_cutoffs_total 0",
		"relay_stream_gap_fills_total 0",
		"relay_stream_gap_fill_messages_total 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// GapFilled is how streams report their store reads; both counters move.
func TestMetricsCountGapFills(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := httpapi.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.GapFilled(domain.DMChannel("dm_a"), 3)
	m.GapFilled(domain.DMChannel("dm_a"), 2)
	for name, want := range map[string]float64{"relay_stream_gap_fills_total": 2, "relay_stream_gap_fill_messages_total": 5} {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range families {
			if f.GetName() == name {
				found = true
				if got := f.GetMetric()[0].GetCounter().GetValue(); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		}
		if !found {
			t.Errorf("%s not registered", name)
		}
	}
}

// Registering the metrics twice is a wiring mistake, reported, not a panic.
func TestNewMetricsTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := httpapi.NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := httpapi.NewMetrics(reg); err == nil {
		t.Fatal("no error registering the metrics twice")
	}
}
