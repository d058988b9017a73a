package httpapi_test

import (
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/httpapi"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestKeyedLimiterRefusesWithoutSpending(t *testing.T) {
	t.Parallel()
	k := httpapi.NewKeyedLimiter(httpapi.Rate{PerSecond: 1, Burst: 2})
	for i := range 2 {
		if ok, _ := k.Take("u_alice", t0); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	// Refused over and over: none of these may push the next token away.
	for range 5 {
		ok, wait := k.Take("u_alice", t0.Add(500*time.Millisecond))
		if ok || wait != 500*time.Millisecond {
			t.Fatalf("take past the burst = %v, wait %s; want refused, wait 500ms", ok, wait)
		}
	}
	if ok, _ := k.Take("u_alice", t0.Add(time.Second)); !ok {
		t.Fatal("a token one second later is refused: the refused takes spent tokens")
	}
	// Another key has its own bucket.
	if ok, _ := k.Take("u_bob", t0); !ok {
		t.Fatal("a second key shares the first one's bucket")
	}
}

func TestKeyedLimiterEvictsFullBuckets(t *testing.T) {
	t.Parallel()
	// Full again 200 s after a burst is spent: longer than a sweep interval.
	k := httpapi.NewKeyedLimiter(httpapi.Rate{PerSecond: 0.01, Burst: 2})
	k.Take("u_idle", t0) // one token: full again after 100 s
	k.Take("u_busy", t0)
	k.Take("u_busy", t0) // two: full again after 200 s
	if k.Size() != 2 {
		t.Fatalf("size = %d, want 2", k.Size())
	}
	// Within a sweep interval nothing is swept, even what is full.
	k.Take("u_new", t0.Add(httpapi.SweepInterval/2))
	if k.Size() != 3 {
		t.Fatalf("size before the sweep interval = %d, want 3", k.Size())
	}
	// At 150 s: u_idle and u_new are full again (equal to fresh buckets),
	// u_busy still owes half a token and must be kept.
	now := t0.Add(150 * time.Second)
	k.Take("u_other", now)
	if k.Size() != 2 {
		t.Fatalf("size after the sweep = %d, want 2 (u_busy and u_other)", k.Size())
	}
	// u_busy kept its debt: one token at 150 s, none after.
	if ok, _ := k.Take("u_busy", now); !ok {
		t.Fatal("u_busy: the token refilled by 150 s is refused")
	}
	if ok, _ := k.Take("u_busy", now); ok {
		t.Fatal("u_busy: its bucket was swept while not full, so it got a fresh burst")
	}
	// A swept key starts again with its whole burst.
	for i := range 2 {
		if ok, _ := k.Take("u_idle", now); !ok {
			t.Fatalf("u_idle after the sweep: take %d refused", i+1)
		}
	}
	// Long idle: everything is swept.
	k.Take("u_last", now.Add(time.Hour))
	if k.Size() != 1 {
		t.Fatalf("size after an hour idle = %d, want 1", k.Size())
	}
}

func TestKeyedLimiterUnlimitedStoresNothing(t *testing.T) {
	t.Parallel()
	k := httpapi.NewKeyedLimiter(httpapi.Unlimited)
	for range 1000 {
		if ok, _ := k.Take("u_alice", t0); !ok {
			t.Fatal("an unlimited limiter refused")
		}
	}
	if k.Size() != 0 {
		t.Fatalf("an unlimited limiter holds %d buckets", k.Size())
	}
}
