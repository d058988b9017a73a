package repotest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

func watermarkTests() []contractTest {
	return []contractTest{
		{"Append gives keys that grow with seq in each channel", testKeysGrowWithSeq},
		{"Append from concurrent senders gives keys that grow with seq", testKeysConcurrent},
		{"PrefixAt is the highest seq below the watermark", testPrefixAt},
		{"StableWatermark never goes back and passes every commit", testWatermarkAdvances},
		{"the messages below a stable watermark never change", testWatermarkIsStable},
	}
}

// keyed is a message as Append stored it, with its commit key.
type keyed struct {
	channel domain.ChannelID
	seq     int64
	key     int64
}

// appendKeyed appends a message of sender to ch and returns it with its
// key; it is safe to call from several goroutines.
func (f *fixture) appendKeyed(t *testing.T, ch domain.ChannelID, sender domain.UserID) (keyed, error) {
	m, head, err := f.msgs.Append(t.Context(), f.message(ch, sender, "m "+f.newID("c"), ""), ports.AppendOptions{})
	if err != nil {
		return keyed{}, fmt.Errorf("Append(%s): %w", ch, err)
	}
	if head.Channel != ch || head.LastSeq != m.Seq {
		return keyed{}, fmt.Errorf("Append(%s) head = %+v; want the channel at seq %d", ch, head, m.Seq)
	}
	return keyed{channel: ch, seq: m.Seq, key: head.LastKey}, nil
}

// checkKeysGrow fails the test unless, in each channel, the keys of msgs
// strictly grow with seq and the seqs are 1..n.
func checkKeysGrow(t *testing.T, msgs []keyed) {
	t.Helper()
	byChannel := map[domain.ChannelID][]keyed{}
	for _, m := range msgs {
		byChannel[m.channel] = append(byChannel[m.channel], m)
	}
	for ch, ms := range byChannel {
		slices.SortFunc(ms, func(a, b keyed) int { return int(a.seq - b.seq) })
		for i, m := range ms {
			if m.seq != int64(i+1) {
				t.Fatalf("%s: seqs %v are not 1..%d", ch, ms, len(ms))
			}
			if i > 0 && m.key <= ms[i-1].key {
				t.Fatalf("%s: seq %d has key %d, not above seq %d's %d", ch, m.seq, m.key, ms[i-1].seq, ms[i-1].key)
			}
		}
	}
}

// prefixAt calls PrefixAt and fails the test if it fails.
func (f *fixture) prefixAt(t *testing.T, channels []domain.ChannelID, w int64) map[domain.ChannelID]int64 {
	t.Helper()
	got, err := f.msgs.PrefixAt(t.Context(), channels, w)
	if err != nil {
		t.Fatalf("PrefixAt(%v, %d): %v", channels, w, err)
	}
	return got
}

// watermark calls StableWatermark and fails the test if it fails.
func (f *fixture) watermark(t *testing.T) int64 {
	t.Helper()
	w, err := f.msgs.StableWatermark(t.Context())
	if err != nil {
		t.Fatalf("StableWatermark: %v", err)
	}
	return w
}

func testKeysGrowWithSeq(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob).Channel()
	g := f.createGroup(t, "team", alice).Channel()
	var msgs []keyed
	for i := range 12 {
		ch := dm
		if i%3 == 0 {
			ch = g
		}
		m, err := f.appendKeyed(t, ch, alice)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	checkKeysGrow(t, msgs)
}

func testKeysConcurrent(t *testing.T, f *fixture) {
	const channels, senders, each = 3, 3, 10
	users := make([]domain.UserID, senders)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("sender%d", i))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  []keyed
		errs []error
	)
	for i := range channels {
		ch := f.createGroup(t, fmt.Sprintf("busy %d", i), users...).Channel()
		for _, u := range users {
			wg.Go(func() {
				for range each {
					m, err := f.appendKeyed(t, ch, u)
					mu.Lock()
					got, errs = append(got, m), append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkKeysGrow(t, got)
}

func testPrefixAt(t *testing.T, f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	dm := f.createDM(t, alice, bob).Channel()
	g := f.createGroup(t, "team", alice).Channel()
	empty := f.createGroup(t, "quiet", alice).Channel()
	missing := domain.GroupChannel(domain.ConversationID(f.newID("grp")))
	otherKind := domain.ChannelID{Kind: domain.KindDM, ID: g.ID}
	all := []domain.ChannelID{dm, g, empty, missing, otherKind, dm}

	var msgs []keyed
	for i := range 8 {
		ch := dm
		if i%2 == 1 {
			ch = g
		}
		m, err := f.appendKeyed(t, ch, alice)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// want is PrefixAt(w) worked out from the keys Append returned.
	want := func(w int64) map[domain.ChannelID]int64 {
		out := map[domain.ChannelID]int64{dm: 0, g: 0, empty: 0, missing: 0, otherKind: 0}
		for _, m := range msgs {
			if m.key < w {
				out[m.channel] = max(out[m.channel], m.seq)
			}
		}
		return out
	}
	ws := []int64{-1 << 62, msgs[0].key, 1 << 62}
	for _, m := range msgs {
		ws = append(ws, m.key, m.key+1)
	}
	for _, w := range ws {
		if got := f.prefixAt(t, all, w); !maps.Equal(got, want(w)) {
			t.Fatalf("PrefixAt(w = %d) = %v; want %v (keys %v)", w, got, want(w), msgs)
		}
	}
	if got := f.prefixAt(t, nil, 1<<62); len(got) != 0 {
		t.Fatalf("PrefixAt(no channels) = %v; want empty", got)
	}
}

func testWatermarkAdvances(t *testing.T, f *fixture) {
	alice := f.user("alice")
	g := f.createGroup(t, "team", alice).Channel()
	prev := f.watermark(t)
	for range 3 {
		m, err := f.appendKeyed(t, g, alice)
		if err != nil {
			t.Fatal(err)
		}
		// A committed message falls below the watermark, though perhaps
		// not at once: on PostgreSQL a transaction open anywhere in the
		// cluster (another test's) holds the watermark back until it ends.
		deadline := time.Now().Add(10 * time.Second)
		for {
			w := f.watermark(t)
			if w < prev {
				t.Fatalf("StableWatermark went back from %d to %d", prev, w)
			}
			prev = w
			if w > m.key {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("StableWatermark = %d 10 s after key %d committed; want it above", w, m.key)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := f.prefixAt(t, []domain.ChannelID{g}, prev)[g]; got != m.seq {
			t.Fatalf("PrefixAt(watermark %d) = %d; want the seq %d just committed", prev, got, m.seq)
		}
	}
}

// sample is one reading of the store at a stable watermark.
type sample struct {
	w      int64
	prefix map[domain.ChannelID]int64
}

// testWatermarkIsStable is the property the watermark is for: while
// appenders write to several channels, a reader repeatedly takes a
// watermark w and reads the messages below it. Once w was taken, that set
// never grows: every message with a key below w is already visible, and
// every later one gets a key of at least w. At the end, the keys Append
// returned and a second PrefixAt must give back each sample exactly.
func testWatermarkIsStable(t *testing.T, f *fixture) {
	const channels, senders, each = 3, 2, 15
	users := make([]domain.UserID, senders)
	for i := range users {
		users[i] = f.user(fmt.Sprintf("sender%d", i))
	}
	chans := make([]domain.ChannelID, channels)
	for i := range chans {
		chans[i] = f.createGroup(t, fmt.Sprintf("busy %d", i), users...).Channel()
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		got     []keyed
		errs    []error
		writing atomic.Int64
	)
	writing.Store(channels * senders)
	for _, ch := range chans {
		for _, u := range users {
			wg.Go(func() {
				defer writing.Add(-1)
				for range each {
					m, err := f.appendKeyed(t, ch, u)
					mu.Lock()
					got, errs = append(got, m), append(errs, err)
					mu.Unlock()
				}
			})
		}
	}

	var samples []sample
	var readErr error
	wg.Go(func() {
		for readErr == nil && (writing.Load() > 0 || len(samples) < 3) {
			var s sample
			s, readErr = f.readAtWatermark(t, chans)
			samples = append(samples, s)
		}
	})
	wg.Wait()
	if err := errors.Join(append(errs, readErr)...); err != nil {
		t.Fatal(err)
	}
	checkKeysGrow(t, got)

	for i, s := range samples {
		want := map[domain.ChannelID]int64{}
		for _, ch := range chans {
			want[ch] = 0
		}
		for _, m := range got {
			if m.key < s.w {
				want[m.channel] = max(want[m.channel], m.seq)
			}
		}
		if !maps.Equal(s.prefix, want) {
			t.Fatalf("sample %d of %d at w = %d read %v; the keys Append returned put %v below it",
				i, len(samples), s.w, s.prefix, want)
		}
		if again := f.prefixAt(t, chans, s.w); !maps.Equal(again, s.prefix) {
			t.Fatalf("sample %d of %d: PrefixAt(%d) = %v at the end; it was %v", i, len(samples), s.w, again, s.prefix)
		}
	}
	t.Logf("%d samples, watermarks %d..%d", len(samples), samples[0].w, samples[len(samples)-1].w)
}

// readAtWatermark takes a stable watermark, reads PrefixAt at it, and
// checks that each channel's history already holds that prefix.
func (f *fixture) readAtWatermark(t *testing.T, chans []domain.ChannelID) (sample, error) {
	w, err := f.msgs.StableWatermark(t.Context())
	if err != nil {
		return sample{}, fmt.Errorf("StableWatermark: %w", err)
	}
	prefix, err := f.msgs.PrefixAt(t.Context(), chans, w)
	if err != nil {
		return sample{}, fmt.Errorf("PrefixAt: %w", err)
	}
	for _, ch := range chans {
		page, err := f.msgs.List(t.Context(), domain.HistoryAfter(ch, 0, 10_000))
		if err != nil {
			return sample{}, fmt.Errorf("List(%s): %w", ch, err)
		}
		if !slices.Equal(seqs(page), seqRange(1, int64(len(page)))) || int64(len(page)) < prefix[ch] {
			return sample{}, fmt.Errorf("at w = %d, PrefixAt(%s) = %d but List has seqs %v", w, ch, prefix[ch], seqs(page))
		}
	}
	return sample{w: w, prefix: prefix}, nil
}
