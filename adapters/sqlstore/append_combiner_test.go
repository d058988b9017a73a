package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

// fakeStore is a combiner's run function over an in-memory channel: it
// records each batch, gives seqs in order, and can be held (to let a
// queue build up) or made to fail.
type fakeStore struct {
	mu      sync.Mutex
	batches [][]string // the message ids of each batch run
	seq     map[domain.ChannelID]int64
	hold    chan struct{} // while open, a batch waits for it to close
	fail    func(reqs []AppendRequest) error
}

func newFakeStore() *fakeStore { return &fakeStore{seq: map[domain.ChannelID]int64{}} }

func (f *fakeStore) run(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error) {
	f.mu.Lock()
	hold, fail := f.hold, f.fail
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		ids[i] = r.Message.ID
	}
	f.batches = append(f.batches, ids)
	if fail != nil {
		if err := fail(reqs); err != nil {
			return nil, err
		}
	}
	out := make([]AppendOutcome, len(reqs))
	for i, r := range reqs {
		f.seq[r.Message.Channel]++
		out[i] = AppendOutcome{Status: AppendStored, Seq: f.seq[r.Message.Channel]}
	}
	return out, nil
}

func req(ch domain.ChannelID, id string) AppendRequest {
	return AppendRequest{Message: domain.Message{ID: id, Channel: ch}}
}

var chA, chB = domain.GroupChannel("grp_a"), domain.GroupChannel("grp_b")

// waitQueued waits until a caller leads ch and n more calls are queued.
func waitQueued(t *testing.T, c *appendCombiner, ch domain.ChannelID, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		q := c.queues[ch]
		got := -1 // no queue, no leader
		if q != nil {
			got = len(q.pending)
		}
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued on %s, want %d", got, ch, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCombinerLoneAppendRunsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFakeStore()
	c := newAppendCombiner(f.run)
	out, err := c.append(t.Context(), req(chA, "m1"))
	if err != nil || out.Seq != 1 || out.Status != AppendStored {
		t.Fatalf("append = %+v, %v", out, err)
	}
	if len(c.queues) != 0 {
		t.Fatalf("queues left behind: %v", c.queues)
	}
}

// TestCombinerBatchesWhileOneRuns: requests that arrive while a batch of
// their channel is being stored go in together next, in arrival order;
// another channel is not held up.
func TestCombinerBatchesWhileOneRuns(t *testing.T) {
	t.Parallel()
	f := newFakeStore()
	f.hold = make(chan struct{})
	c := newAppendCombiner(f.run)

	var wg sync.WaitGroup
	results := make([]AppendOutcome, 5)
	wg.Go(func() { results[0], _ = c.append(t.Context(), req(chA, "m0")) })
	waitQueued(t, c, chA, 0) // m0 taken into its batch, which is held
	for i := 1; i < 5; i++ {
		wg.Go(func() { results[i], _ = c.append(t.Context(), req(chA, fmt.Sprintf("m%d", i))) })
		waitQueued(t, c, chA, i) // arrival order is the queue's order
	}
	close(f.hold)
	wg.Wait()

	if want := [][]string{{"m0"}, {"m1", "m2", "m3", "m4"}}; !slices.EqualFunc(f.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", f.batches, want)
	}
	for i, r := range results {
		if r.Seq != int64(i+1) {
			t.Fatalf("m%d got seq %d, want %d (arrival order)", i, r.Seq, i+1)
		}
	}
}

// TestCombinerChannelsAreIndependent: while a batch of one channel is
// held, another channel's append is stored at once.
func TestCombinerChannelsAreIndependent(t *testing.T) {
	t.Parallel()
	f := newFakeStore()
	release := make(chan struct{})
	defer close(release)
	c := newAppendCombiner(func(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error) {
		if reqs[0].Message.Channel == chA {
			<-release // held until the test ends
		}
		return f.run(ctx, reqs)
	})
	go func() { _, _ = c.append(t.Context(), req(chA, "held")) }()
	for {
		c.mu.Lock()
		_, busy := c.queues[chA]
		c.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if out, err := c.append(t.Context(), req(chB, "b1")); err != nil || out.Seq != 1 {
		t.Fatalf("append to B while A is busy = %+v, %v", out, err)
	}
}

// TestCombinerHandsTheLeadOn: the leader returns once its own request is
// stored; the first request still queued leads the rest.
func TestCombinerHandsTheLeadOn(t *testing.T) {
	t.Parallel()
	f := newFakeStore()
	f.hold = make(chan struct{})
	c := newAppendCombiner(f.run)
	first := make(chan error, 1)
	go func() { _, err := c.append(t.Context(), req(chA, "m0")); first <- err }()
	waitQueued(t, c, chA, 0)
	second := make(chan error, 1)
	go func() { _, err := c.append(t.Context(), req(chA, "m1")); second <- err }()
	waitQueued(t, c, chA, 1)

	// Let m0's batch finish, then hold m1's: the leader (m0) must return
	// while m1's batch is still held, led by m1's caller.
	f.mu.Lock()
	release := f.hold
	f.hold = make(chan struct{})
	f.mu.Unlock()
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		t.Fatalf("m1 done (%v) while its batch is held", err)
	default:
	}
	close(f.hold)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// TestCombinerQueuedCallerLeaves: a caller whose context ends while its
// request waits leaves the queue, and nothing of it is stored.
func TestCombinerQueuedCallerLeaves(t *testing.T) {
	t.Parallel()
	f := newFakeStore()
	f.hold = make(chan struct{})
	c := newAppendCombiner(f.run)
	go func() { _, _ = c.append(t.Context(), req(chA, "m0")) }()
	waitQueued(t, c, chA, 0)
	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() { _, err := c.append(ctx, req(chA, "gone")); left <- err }()
	waitQueued(t, c, chA, 1)
	cancel()
	if err := <-left; !errors.Is(err, errLeftQueue) {
		t.Fatalf("append of a caller that left = %v, want errLeftQueue", err)
	}
	close(f.hold)
	if out, err := c.append(t.Context(), req(chA, "m1")); err != nil || out.Seq != 2 {
		t.Fatalf("next append = %+v, %v; want seq 2", out, err)
	}
	for _, b := range f.batches {
		if slices.Contains(b, "gone") {
			t.Fatalf("the request of a caller that left was stored: %v", f.batches)
		}
	}
}

// TestCombinerBatchFailure: a batch that fails is retried a request at a
// time, so only the bad one fails; an outage fails the batch as it is.
func TestCombinerBatchFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		err       error
		wantSplit bool
	}{
		{"invalid value", domain.ErrInvalid, true},
		{"outage", fmt.Errorf("append: %w", domain.ErrUnavailable), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStore()
			f.fail = func(reqs []AppendRequest) error {
				for _, r := range reqs {
					if r.Message.ID == "bad" {
						return tc.err
					}
				}
				return nil
			}
			f.hold = make(chan struct{})
			c := newAppendCombiner(f.run)
			go func() { _, _ = c.append(t.Context(), req(chA, "m0")) }()
			waitQueued(t, c, chA, 0)
			errs := make([]error, 3)
			var wg sync.WaitGroup
			for i, id := range []string{"m1", "bad", "m2"} {
				wg.Go(func() { _, errs[i] = c.append(t.Context(), req(chA, id)) })
				waitQueued(t, c, chA, i+1)
			}
			close(f.hold)
			wg.Wait()
			if !errors.Is(errs[1], tc.err) {
				t.Fatalf("the bad request's error = %v, want %v", errs[1], tc.err)
			}
			if tc.wantSplit && (errs[0] != nil || errs[2] != nil) {
				t.Fatalf("good requests failed with the bad one: %v", errs)
			}
			if !tc.wantSplit && (errs[0] == nil || errs[2] == nil) {
				t.Fatalf("an outage was retried a request at a time: %v, batches %v", errs, f.batches)
			}
		})
	}
}
