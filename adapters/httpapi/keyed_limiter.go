package httpapi

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepInterval is how often a keyedLimiter drops its full buckets, at the
// earliest: often enough that idle callers do not pile up, rarely enough
// that the O(keys) pass costs nothing next to the requests it rides on.
const sweepInterval = time.Minute

// keyedLimiter is one token bucket per key (a user, an IP address), made on
// a key's first request. A bucket that has refilled to its burst is exactly
// a fresh one, so it is dropped: memory follows the keys active in the last
// few refill times, not every key ever seen. The drop is lazy: the first
// request after sweepInterval pays for one pass over the map. It is safe
// for concurrent use.
type keyedLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// newKeyedLimiter returns the limiter of r; an unlimited r (Rate.off)
// returns nil, which lets everything through and stores nothing.
func newKeyedLimiter(r Rate) *keyedLimiter {
	if r.off() {
		return nil
	}
	return &keyedLimiter{limit: rate.Limit(r.PerSecond), burst: r.Burst, buckets: make(map[string]*rate.Limiter)}
}

// take takes one token of key's bucket at now. When none is left it takes
// nothing and returns how long until one will be: a refused request must
// not push the caller's next success further away.
func (k *keyedLimiter) take(key string, now time.Time) (ok bool, wait time.Duration) {
	if k == nil {
		return true, 0
	}
	res := k.bucket(key, now).ReserveN(now, 1)
	if !res.OK() {
		return false, time.Hour // a zero burst, which orDefault never leaves
	}
	if wait = res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// bucket returns key's bucket, making it if needed, and sweeps when due.
func (k *keyedLimiter) bucket(key string, now time.Time) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= sweepInterval {
		k.lastSweep = now
		for key, b := range k.buckets {
			if b.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, key)
			}
		}
	}
	b, ok := k.buckets[key]
	if !ok {
		b = rate.NewLimiter(k.limit, k.burst)
		k.buckets[key] = b
	}
	return b
}

// size returns how many buckets are held.
func (k *keyedLimiter) size() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// Rate is a token bucket's settings: PerSecond tokens come back each
// second, up to Burst. A zero PerSecond takes the limit's default; an
// infinite one (Unlimited) turns the limit off. A zero Burst is one
// second's worth.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Unlimited is a Rate that limits nothing.
var Unlimited = Rate{PerSecond: math.Inf(1)}

func (r Rate) off() bool { return math.IsInf(r.PerSecond, 1) }

func (r Rate) orDefault(def Rate) Rate {
	if r.PerSecond == 0 {
		return def
	}
	if r.Burst <= 0 && !r.off() {
		r.Burst = max(1, int(math.Ceil(r.PerSecond)))
	}
	return r
}
