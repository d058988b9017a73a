package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 5012
process_resident_memory_bytes 1.2345678e+08
relay_http_request_duration_seconds_bucket{method="GET",route="/api/sse",code="200",le="0.005"} 3
relay_sse_connections 5000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	s := snapshotOf(m)
	if s.Goroutines != 5012 || s.RSSBytes != 123456780 || s.SSEConnections != 5000 {
		t.Errorf("snapshot = %+v", s)
	}
	if _, ok := m["relay_http_request_duration_seconds_bucket"]; ok {
		t.Error("a labelled sample was kept")
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines many\n")); err == nil {
		t.Error("a sample that is not a number was accepted")
	}
}

func TestContentCarriesSendTime(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 10, 200, maxContentBytes} {
		sentAt := 1234567890 * time.Nanosecond
		c := encodeContent("run1", 42, sentAt, size)
		if len(c) < size || len(c) > max(size, 64) {
			t.Errorf("size %d: content is %d bytes", size, len(c))
		}
		if got, ok := decodeSentAt(c); !ok || got != sentAt {
			t.Errorf("size %d: decodeSentAt(%q) = %v, %v; want %v", size, c, got, ok, sentAt)
		}
	}
	if _, ok := decodeSentAt("hello"); ok {
		t.Error("a send time was found in foreign content")
	}
}
