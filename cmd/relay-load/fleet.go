package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
)

// fleet is every stream of the run, each read by its own goroutine, which
// the fleet owns: stop ends them and waits for them.
type fleet struct {
	streams []*stream
	hc      *http.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ready   chan error // one value per stream: nil once ready, or why it gave up
}

// newStreamClient returns the client of the streams: no keep-alive and no
// connection limit, so that every stream has a TCP connection of its own.
func newStreamClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		DisableKeepAlives:     true,
		DisableCompression:    true,
		ResponseHeaderTimeout: requestTimeout,
	}}
}

// startFleet starts the topology's streams (one per subscriber of every
// group, or one inbox per user), opening at most concurrency at a time;
// wait for them with waitReady.
func startFleet(ctx context.Context, a *api, t topology, env *streamEnv, concurrency int) (*fleet, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &fleet{hc: env.hc, cancel: cancel}
	for _, plan := range t.plans() {
		tok, err := a.token(plan.user)
		if err != nil {
			cancel()
			return nil, err
		}
		f.streams = append(f.streams, newStream(plan, tok, t.groups, env))
	}
	f.ready = make(chan error, len(f.streams))
	sem := make(chan struct{}, concurrency) // a slot per stream being opened
	for _, s := range f.streams {
		f.wg.Go(func() { f.runStream(ctx, s, sem) })
	}
	return f, nil
}

// runStream runs s once a slot of sem is free; the slot is given back when
// s is ready or gave up. The stream's set-up time runs from then to its
// first ready event: it leaves out the wait for a slot.
func (f *fleet) runStream(ctx context.Context, s *stream, sem chan struct{}) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	start := s.env.clock.now()
	var once sync.Once
	onReady := func(err error) {
		once.Do(func() {
			if err == nil {
				s.setup = s.env.clock.now() - start
			}
			<-sem
			f.ready <- err
		})
	}
	s.run(ctx, onReady)
}

// waitReady waits until every stream is ready, and fails when one gave up
// or timeout passed first.
func (f *fleet) waitReady(ctx context.Context, timeout time.Duration, progress *progress) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for n := 0; n < len(f.streams); {
		select {
		case err := <-f.ready:
			if err != nil {
				return fmt.Errorf("a stream could not open: %w", err)
			}
			n++
		case <-tick.C:
			progress.printf("%d of %d streams ready", n, len(f.streams))
		case <-deadline.C:
			return fmt.Errorf("only %d of %d streams were ready after %s", n, len(f.streams), timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitDelivered waits until every stream has received the final seq of
// each of its groups (by id in finals), or timeout passed; it reports
// whether they all did.
func (f *fleet) waitDelivered(ctx context.Context, finals map[string]int64, timeout time.Duration) bool {
	want := make([]int64, len(f.streams))
	for i, s := range f.streams {
		_, want[i] = s.finals(finals)
	}
	deadline := time.Now().Add(timeout)
	for {
		if f.delivered(want) {
			return true
		}
		if time.Now().After(deadline) || !backoff.Sleep(ctx, 10*time.Millisecond) {
			return false
		}
	}
}

// delivered reports whether each stream's progress reached want's: a
// stream's progress is the sum of its channels' highest seqs, none past
// its final, so it reaches the sum of the finals only once every channel
// reached its own.
func (f *fleet) delivered(want []int64) bool {
	for i, s := range f.streams {
		if s.progress.Load() < want[i] {
			return false
		}
	}
	return true
}

// progressed returns how many messages the streams received in order so
// far, all together.
func (f *fleet) progressed() int64 {
	var n int64
	for _, s := range f.streams {
		n += s.progress.Load()
	}
	return n
}

// stop ends every stream and waits for their goroutines. The streams'
// fields may be read once it returned.
func (f *fleet) stop() {
	f.cancel()
	f.wg.Wait()
	f.hc.CloseIdleConnections()
}
