package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff hands out the delays of consecutive failed attempts: Min for the
// first, doubling for each failure after it up to Max. The zero value waits
// nothing; set Min (and Max for growth). A Backoff is not safe for
// concurrent use: it belongs to the loop that retries.
type Backoff struct {
	// Min is the first delay, the one after a Reset.
	Min time.Duration
	// Max caps every delay. Zero means the delay does not grow: it stays
	// Min.
	Max time.Duration
	// Jitter is the fraction of each delay (0 to 1) that is drawn at
	// random: a delay d becomes one in [d-Jitter·d, d]. Jitter spreads the
	// reconnections of many clients that failed together (a restart), so
	// that they do not all come back at once. Zero gives exact delays.
	Jitter float64
	// Rand returns a number in [0, n); nil selects math/rand/v2's Int64N.
	// Tests set it to pin the jitter.
	Rand func(n int64) int64

	failures int
}

// Next returns the delay before the next attempt and counts a failure.
func (b *Backoff) Next() time.Duration {
	d := b.delay(b.failures)
	b.failures++
	return d
}

// Reset starts over from Min: the last attempt succeeded.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures reports how many delays Next handed out since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

// Wait waits for Next's delay or until ctx is done, and reports whether the
// delay passed.
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// delay is the delay after failures earlier failures in a row.
func (b *Backoff) delay(failures int) time.Duration {
	d := max(b.Min, 0)
	if b.Max > 0 {
		for i := 0; i < failures && d < b.Max; i++ {
			if d > b.Max/2 {
				d = b.Max // doubling would pass the cap (or overflow)
				break
			}
			d *= 2
		}
		d = min(d, b.Max)
	}
	if b.Jitter <= 0 || d <= 0 {
		return d
	}
	j := time.Duration(float64(d) * min(b.Jitter, 1))
	rnd := b.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	return d - j + time.Duration(rnd(int64(j)+1))
}

// Sleep waits for d or until ctx is done, and reports whether d passed. A
// d of zero or less returns at once (false only if ctx is done).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
