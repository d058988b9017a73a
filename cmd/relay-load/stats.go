package main

import (
	"math"
	"slices"
	"time"
)

// latencySummary describes a set of latencies, in milliseconds for JSON.
type latencySummary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// summarize sorts samples in place and returns their percentiles.
func summarize(samples []time.Duration) latencySummary {
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	s := latencySummary{Count: len(samples)}
	if len(samples) == 0 {
		return s
	}
	s.P50 = ms(percentile(samples, 50))
	s.P90 = ms(percentile(samples, 90))
	s.P99 = ms(percentile(samples, 99))
	s.Max = ms(samples[len(samples)-1])
	return s
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest sample that at least p% of the samples
// do not exceed. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
