package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", p: 50, want: 0},
		{name: "one sample", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "median of two is the lower", sorted: []time.Duration{1, 2}, p: 50, want: 1},
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p90 of 1..100", sorted: hundred, p: 90, want: 90 * time.Millisecond},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "tiny p is the min", sorted: hundred, p: 0.001, want: time.Millisecond},
		{name: "p99 of 10 is the max", sorted: hundred[:10], p: 99, want: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSorts(t *testing.T) {
	t.Parallel()
	got := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	want := latencySummary{Count: 3, P50: 2, P90: 3, P99: 3, Max: 3}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if empty := summarize(nil); empty != (latencySummary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", empty)
	}
}
