package system_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/adapters/system"
)

func TestClockIsUTC(t *testing.T) {
	t.Parallel()
	before := time.Now()
	now := system.NewClock().Now()
	after := time.Now()
	if now.Location() != time.UTC {
		t.Errorf("location = %v, want UTC", now.Location())
	}
	if now.Before(before) || now.After(after) {
		t.Errorf("Now() = %v, not between %v and %v", now, before, after)
	}
}

var idPattern = regexp.MustCompile(`^[0-7][0-9a-hjkmnp-tv-z]{25}$`)

func TestNewIDFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, wantStart string
	}{
		{"msg", "msg_"},
		{"dm", "dm_"},
		{"grp", "grp_"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			t.Parallel()
			id := system.NewIDGenerator().NewID(tt.prefix)
			rest, ok := strings.CutPrefix(id, tt.wantStart)
			if !ok {
				t.Fatalf("NewID(%q) = %q, want it to start with %q", tt.prefix, id, tt.wantStart)
			}
			if len(rest) != system.IDLength || !idPattern.MatchString(rest) {
				t.Fatalf("NewID(%q) = %q: %q is not 26 lower-case Crockford base32 characters", tt.prefix, id, rest)
			}
		})
	}
}

// decodeTime returns the millisecond timestamp held by the first 10
// characters of an id's random part.
func decodeTime(t *testing.T, s string) int64 {
	t.Helper()
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var ms int64
	for _, c := range s[:10] {
		i := strings.IndexRune(alphabet, c)
		if i < 0 {
			t.Fatalf("%q holds %q, not base32", s, c)
		}
		ms = ms<<5 | int64(i)
	}
	return ms
}

func TestNewIDEncodesCreationTime(t *testing.T) {
	t.Parallel()
	// The example of the ULID specification.
	at := time.UnixMilli(1469918176385)
	id := system.NewIDGeneratorAt(func() time.Time { return at }).NewID("msg")
	if got, want := id[len("msg_"):][:10], "01aryz6s41"; got != want {
		t.Fatalf("time part = %q, want %q", got, want)
	}

	before := time.Now().UnixMilli()
	id = system.NewIDGenerator().NewID("")
	after := time.Now().UnixMilli()
	if ms := decodeTime(t, id); ms < before || ms > after {
		t.Fatalf("id %q holds time %d, not between %d and %d", id, ms, before, after)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var prev string
	for ms := range 100 {
		at := base.Add(time.Duration(ms*ms) * time.Millisecond)
		id := system.NewIDGeneratorAt(func() time.Time { return at }).NewID("msg")
		if id <= prev {
			t.Fatalf("id %q made later sorts before %q", id, prev)
		}
		prev = id
	}
}

func TestNewIDUnique(t *testing.T) {
	t.Parallel()
	const (
		workers = 4
		each    = 2500
	)
	gen := system.NewIDGenerator()
	var (
		mu   sync.Mutex
		seen = make(map[string]bool, workers*each)
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = gen.NewID("msg")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if seen[id] {
					t.Errorf("duplicate id %q", id)
				}
				seen[id] = true
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids, want %d", len(seen), workers*each)
	}
}

func BenchmarkNewID(b *testing.B) {
	gen := system.NewIDGenerator()
	b.ReportAllocs()
	for b.Loop() {
		_ = gen.NewID("msg")
	}
}
