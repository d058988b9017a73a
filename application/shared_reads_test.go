package application

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// listStore is a MessageRepository whose List answers channel g's messages
// 1..last, counts its calls and may block them until released.
type listStore struct {
	ports.MessageRepository // only List is called

	mu      sync.Mutex
	last    int64
	err     error
	calls   atomic.Int32
	gate    chan struct{} // when set, List waits for it to close (or its ctx)
	entered chan struct{} // when set, List signals it on entry
}

func (s *listStore) List(ctx context.Context, q domain.HistoryQuery) ([]domain.Message, error) {
	s.calls.Add(1)
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var page []domain.Message
	for seq := q.Seq + 1; seq <= s.last && len(page) < q.Limit; seq++ {
		page = append(page, domain.Message{Channel: q.Channel, Seq: seq})
	}
	return page, nil
}

func (s *listStore) commit(last int64) {
	s.mu.Lock()
	s.last = last
	s.mu.Unlock()
}

var g = domain.GroupChannel("grp_shared")

func lastSeq(page []domain.Message) int64 {
	if len(page) == 0 {
		return 0
	}
	return page[len(page)-1].Seq
}

func TestSharedReadsOneReadForStreamsAtOneSeq(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		store := &listStore{last: 10, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
		r := newSharedReads(store)

		const streams = 50
		results := make([]int64, streams)
		var wg sync.WaitGroup
		for i := range streams {
			wg.Go(func() {
				page, err := r.after(t.Context(), g, 4, 10)
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
				}
				results[i] = lastSeq(page)
			})
		}
		synctest.Wait() // one reader is in the store, the others wait for its page
		<-store.entered
		close(store.gate)
		wg.Wait()
		if n := store.calls.Load(); n != 1 {
			t.Errorf("%d store reads for %d streams at one seq, want 1", n, streams)
		}
		for i, last := range results {
			if last != 10 {
				t.Errorf("reader %d got a page up to %d, want 10", i, last)
			}
		}
		// A stream arriving just after is served by the finished page too.
		if page, err := r.after(t.Context(), g, 4, 8); err != nil || lastSeq(page) != 10 {
			t.Errorf("late reader: page up to %d, %v; want 10", lastSeq(page), err)
		}
		if n := store.calls.Load(); n != 1 {
			t.Errorf("%d store reads after a late reader, want 1", n)
		}
	})
}

// A page read before upTo was committed ends short of it: serving it would
// make the stream think the store ends there.
func TestSharedReadsNeverServesAPageShortOfUpTo(t *testing.T) {
	t.Parallel()
	store := &listStore{last: 6}
	r := newSharedReads(store)
	if page, err := r.after(t.Context(), g, 4, 6); err != nil || lastSeq(page) != 6 {
		t.Fatalf("first read: up to %d, %v; want 6", lastSeq(page), err)
	}
	store.commit(9)
	if page, err := r.after(t.Context(), g, 4, 9); err != nil || lastSeq(page) != 9 {
		t.Fatalf("read up to 9 got a page up to %d, %v", lastSeq(page), err)
	}
	if n := store.calls.Load(); n != 2 {
		t.Errorf("%d store reads, want 2", n)
	}
	// Other seqs and other channels are other reads.
	if _, err := r.after(t.Context(), g, 5, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := r.after(t.Context(), domain.GroupChannel("grp_other"), 4, 9); err != nil {
		t.Fatal(err)
	}
	if n := store.calls.Load(); n != 4 {
		t.Errorf("%d store reads, want 4", n)
	}
}

func TestSharedReadsExpire(t *testing.T) {
	t.Parallel()
	store := &listStore{last: 6}
	r := newSharedReads(store)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	for range 2 {
		if _, err := r.after(t.Context(), g, 4, 6); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(sharedPageTTL)
	if _, err := r.after(t.Context(), g, 4, 6); err != nil {
		t.Fatal(err)
	}
	if n := store.calls.Load(); n != 2 {
		t.Errorf("%d store reads (two within the window, one after), want 2", n)
	}
}

func TestSharedReadsErrors(t *testing.T) {
	t.Parallel()
	t.Run("a failed read is not kept", func(t *testing.T) {
		t.Parallel()
		store := &listStore{last: 6, err: domain.ErrUnavailable}
		r := newSharedReads(store)
		if _, err := r.after(t.Context(), g, 4, 6); !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		store.mu.Lock()
		store.err = nil
		store.mu.Unlock()
		if page, err := r.after(t.Context(), g, 4, 6); err != nil || lastSeq(page) != 6 {
			t.Fatalf("after the store recovered: up to %d, %v; want 6", lastSeq(page), err)
		}
	})
	t.Run("a reader that gives up does not fail the others", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			store := &listStore{last: 6, gate: make(chan struct{}), entered: make(chan struct{}, 2)}
			r := newSharedReads(store)
			leader, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := r.after(leader, g, 4, 6)
				done <- err
			}()
			<-store.entered
			var page []domain.Message
			var err error
			waited := make(chan struct{})
			go func() {
				defer close(waited)
				page, err = r.after(t.Context(), g, 4, 6)
			}()
			synctest.Wait() // the second reader waits for the first's page
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("leader: %v, want context.Canceled", err)
			}
			<-store.entered // the second reader reads for itself
			close(store.gate)
			<-waited
			if err != nil || lastSeq(page) != 6 {
				t.Fatalf("second reader: up to %d, %v; want 6", lastSeq(page), err)
			}
		})
	})
}

func TestSharedReadsBounded(t *testing.T) {
	t.Parallel()
	store := &listStore{last: 6}
	r := newSharedReads(store)
	for i := range 3 * maxSharedPage {
		if _, err := r.after(t.Context(), domain.GroupChannel(domain.ConversationID(fmt.Sprint("grp_", i))), 4, 6); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.pages); n > maxSharedPage {
		t.Errorf("%d pages kept, want at most %d", n, maxSharedPage)
	}
}
