package clustertest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogRecorder is a slog.Handler that keeps the messages it gets, so that a
// transport test can check that an outage is logged once, and in a verbose
// run shows them in the test's log.
type LogRecorder struct {
	t    *testing.T
	mu   sync.Mutex
	msgs []string
}

// NewLogRecorder returns a LogRecorder reporting to t.
func NewLogRecorder(t *testing.T) *LogRecorder { return &LogRecorder{t: t} }

// Enabled implements slog.Handler: every level is kept.
func (r *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (r *LogRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	if testing.Verbose() {
		var attrs []string
		rec.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a.String())
			return true
		})
		r.t.Logf("%s %s %s", rec.Level, rec.Message, strings.Join(attrs, " "))
	}
	return nil
}

// WithAttrs implements slog.Handler; attributes are not kept.
func (r *LogRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }

// WithGroup implements slog.Handler; groups are not kept.
func (r *LogRecorder) WithGroup(string) slog.Handler { return r }

// Count returns how many messages starting with prefix were logged.
func (r *LogRecorder) Count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}
