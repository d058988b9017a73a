package backoff_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
)

func TestNext(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name string
		b    backoff.Backoff
		want []time.Duration
	}{
		{"doubles up to the cap", backoff.Backoff{Min: 50 * ms, Max: 300 * ms},
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 300 * ms, 300 * ms}},
		{"no cap: constant", backoff.Backoff{Min: 500 * ms},
			[]time.Duration{500 * ms, 500 * ms, 500 * ms}},
		{"a cap below Min wins", backoff.Backoff{Min: 40 * time.Second, Max: 30 * time.Second},
			[]time.Duration{30 * time.Second, 30 * time.Second}},
		{"zero value", backoff.Backoff{}, []time.Duration{0, 0}},
		{"a huge cap does not overflow", backoff.Backoff{Min: time.Hour, Max: 1<<63 - 1},
			[]time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}},
		{"doubling past a huge cap stops at it", backoff.Backoff{Min: 1 << 61, Max: 1<<63 - 1},
			[]time.Duration{1 << 61, 1 << 62, 1<<63 - 1, 1<<63 - 1}},
		{"jitter takes at most its share off", backoff.Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 0.5,
			Rand: func(n int64) int64 { return 0 }},
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 200 * ms}},
		{"jitter at its top is the full delay", backoff.Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 0.5,
			Rand: func(n int64) int64 { return n - 1 }},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.b
			for i, w := range tt.want {
				if got := b.Next(); got != w {
					t.Fatalf("delay %d = %v, want %v", i, got, w)
				}
			}
			if b.Failures() != len(tt.want) {
				t.Fatalf("Failures = %d, want %d", b.Failures(), len(tt.want))
			}
			b.Reset()
			if got := b.Next(); got != tt.want[0] {
				t.Fatalf("after Reset: %v, want %v", got, tt.want[0])
			}
		})
	}
}

// TestJitterStaysInRange draws with the real source: every delay lies in
// [d/2, d] for Jitter 0.5, and they are not all the same.
func TestJitterStaysInRange(t *testing.T) {
	t.Parallel()
	seen := make(map[time.Duration]bool)
	for range 200 {
		b := backoff.Backoff{Min: time.Second, Max: time.Second, Jitter: 0.5}
		d := b.Next()
		if d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("delay %v outside [500ms, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("200 jittered delays were all equal")
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := backoff.Backoff{Min: time.Second, Max: 4 * time.Second}
		start := time.Now()
		for _, want := range []time.Duration{time.Second, 3 * time.Second, 7 * time.Second} {
			if !b.Wait(t.Context()) {
				t.Fatal("Wait ended early without a cancelled context")
			}
			if got := time.Since(start); got != want {
				t.Fatalf("waited until %v, want %v", got, want)
			}
		}
	})
}

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if backoff.Sleep(ctx, time.Hour) {
			t.Fatal("Sleep reported the hour passed")
		}
		if got := time.Since(start); got != time.Second {
			t.Fatalf("Sleep returned after %v, want 1s (the context's end)", got)
		}
		if backoff.Sleep(ctx, 0) {
			t.Fatal("Sleep(0) on a done context reported true")
		}
		if !backoff.Sleep(t.Context(), 0) {
			t.Fatal("Sleep(0) reported false")
		}
	})
}
