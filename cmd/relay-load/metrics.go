package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// snapshot is the part of the server's /metrics the report uses.
type snapshot struct {
	RSSBytes        float64 `json:"rssBytes"`
	HeapInuseBytes  float64 `json:"heapInuseBytes"`
	StackInuseBytes float64 `json:"stackInuseBytes"`
	Goroutines      float64 `json:"goroutines"`
	OpenFDs         float64 `json:"openFds"`
	CPUSeconds      float64 `json:"cpuSeconds"`
	SSEConnections  float64 `json:"sseConnections"`
	SSECutoffs      float64 `json:"sseCutoffs"`
	Delivered       float64 `json:"delivered"`
}

// snapshotOf picks the report's samples out of parsed metrics; a missing
// one reads 0.
func snapshotOf(m map[string]float64) snapshot {
	return snapshot{
		RSSBytes:        m["process_resident_memory_bytes"],
		HeapInuseBytes:  m["go_memstats_heap_inuse_bytes"],
		StackInuseBytes: m["go_memstats_stack_inuse_bytes"],
		Goroutines:      m["go_goroutines"],
		OpenFDs:         m["process_open_fds"],
		CPUSeconds:      m["process_cpu_seconds_total"],
		SSEConnections:  m["relay_sse_connections"],
		SSECutoffs:      m["relay_sse_cutoffs_total"],
		Delivered:       m["relay_messages_delivered_total"],
	}
}

// parseMetrics reads the Prometheus text format and returns the samples
// without labels, by name. Labelled samples and comments are skipped:
// everything the report needs is unlabelled.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := make(map[string]float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.ContainsRune(fields[0], '{') {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: sample %q: %w", fields[0], err)
		}
		out[fields[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return out, nil
}
