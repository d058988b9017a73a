package main

import (
	"maps"
	"slices"
	"sync"
)

// errorLog counts the run's failures by kind and keeps the first message
// of each kind as a sample. It is safe for concurrent use.
type errorLog struct {
	mu      sync.Mutex
	counts  map[string]int
	samples map[string]string
}

func newErrorLog() *errorLog {
	return &errorLog{counts: make(map[string]int), samples: make(map[string]string)}
}

// add records one failure of kind.
func (l *errorLog) add(kind string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[kind]++
	if _, ok := l.samples[kind]; !ok {
		l.samples[kind] = err.Error()
	}
}

// errorKind is one kind of failure in the summary.
type errorKind struct {
	Kind   string `json:"kind"`
	Count  int    `json:"count"`
	Sample string `json:"sample"`
}

// kinds returns the failures recorded so far, by kind name.
func (l *errorLog) kinds() []errorKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]errorKind, 0, len(l.counts))
	for _, k := range slices.Sorted(maps.Keys(l.counts)) {
		out = append(out, errorKind{Kind: k, Count: l.counts[k], Sample: l.samples[k]})
	}
	return out
}
