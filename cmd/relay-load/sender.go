package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
)

// sender posts messages at a fixed rate, round-robin over the groups, with
// a pool of posting users that each have one request in flight at most.
type sender struct {
	api    *api
	clock  clock
	run    string
	groups []string
	tokens []string // one per posting user
	size   int
	errs   *errorLog
	posted atomic.Int64 // messages stored so far, for the progress lines
}

// sendResult is what a sending phase did.
type sendResult struct {
	Sent      int // messages stored (201)
	Failed    int // posts that failed
	Latencies []time.Duration
	Elapsed   time.Duration // from the first scheduled send to the last answer
}

// send posts rate messages a second for d. Message n is due at n/rate
// after the start. When every posting user is busy the schedule slips
// rather than piling up requests, and sending stops once d has passed
// whatever the count, so that an overloaded server shows as fewer messages
// sent (and a lower achieved rate), never as a longer run.
func (s *sender) send(ctx context.Context, rate float64, d time.Duration) sendResult {
	interval := time.Duration(float64(time.Second) / rate)
	jobs := make(chan int)
	results := make([]sendResult, len(s.tokens))
	start := time.Now()
	var wg sync.WaitGroup
	for w := range s.tokens {
		wg.Go(func() { results[w] = s.work(ctx, s.tokens[w], jobs) })
	}
	// Only the schedule stops at the deadline: posts in flight finish.
	schedCtx, cancel := context.WithDeadline(ctx, start.Add(d))
	s.schedule(schedCtx, jobs, int(rate*d.Seconds()), start, interval)
	cancel()
	wg.Wait()
	out := sendResult{Elapsed: time.Since(start)}
	for _, r := range results {
		out.Sent += r.Sent
		out.Failed += r.Failed
		out.Latencies = append(out.Latencies, r.Latencies...)
	}
	return out
}

// schedule hands out message numbers 0 to total-1 at their due times, or
// until ctx is done, then closes jobs.
func (s *sender) schedule(ctx context.Context, jobs chan<- int, total int, start time.Time, interval time.Duration) {
	defer close(jobs)
	for n := 0; n < total && ctx.Err() == nil; n++ {
		if wait := time.Until(start.Add(time.Duration(n) * interval)); wait > 0 && !backoff.Sleep(ctx, wait) {
			return
		}
		select {
		case jobs <- n:
		case <-ctx.Done():
			return
		}
	}
}

// work posts the messages numbered on jobs as the user of token.
func (s *sender) work(ctx context.Context, token string, jobs <-chan int) sendResult {
	var r sendResult
	for n := range jobs {
		group := s.groups[n%len(s.groups)]
		sentAt := s.clock.now()
		content := encodeContent(s.run, n, sentAt, s.size)
		_, err := s.api.postMessage(ctx, token, group, content, fmt.Sprintf("%s-%d", s.run, n))
		if err != nil {
			if ctx.Err() == nil {
				r.Failed++
				s.errs.add("post", err)
			}
			continue
		}
		r.Sent++
		s.posted.Add(1)
		r.Latencies = append(r.Latencies, s.clock.now()-sentAt)
	}
	return r
}
