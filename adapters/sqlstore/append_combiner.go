package sqlstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/relaymsg/relay/domain"
)

// MaxAppendBatch bounds how many concurrent appends to one conversation
// are stored together.
const MaxAppendBatch = 64

// errLeftQueue: the caller's context ended before its request was taken
// into a batch; nothing was stored.
var errLeftQueue = errors.New("append: the caller left the queue")

// appendCombiner stores concurrent appends to one conversation together.
// Appends to a conversation are serial anyway (its lock is held until
// commit, and the commit waits for the disk), so while one batch is being
// stored the next requests queue, and then go in as one batch: one
// statement, one commit, one disk flush for all of them, in arrival
// order. A lone request is stored at once, alone: nothing waits on a
// timer.
//
// Per conversation, one caller leads at a time: it stores batches from the
// front of the queue until its own request is done, then hands the lead
// to the first request still queued, so that no caller serves the others
// for longer than its own turn.
type appendCombiner struct {
	run func(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error)

	mu     sync.Mutex
	queues map[domain.ChannelID]*appendQueue
}

type appendQueue struct {
	pending []*appendCall
	led     bool // a caller is leading this queue
}

type appendCall struct {
	ctx  context.Context
	req  AppendRequest
	lead chan struct{} // closed when the call is to lead
	done chan struct{} // closed when out and err are set
	// leader is set, under the combiner's lock, with lead closed.
	leader bool
	out    AppendOutcome
	err    error
}

func newAppendCombiner(run func(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error)) *appendCombiner {
	return &appendCombiner{run: run, queues: map[domain.ChannelID]*appendQueue{}}
}

// append stores req, alone or with others of its conversation, and returns
// its outcome. A caller whose ctx ends while its request is still queued
// gets errLeftQueue and nothing is stored; once its batch is running, it
// waits for the outcome (the batch runs under the callers' deadlines, not
// their cancellation).
func (c *appendCombiner) append(ctx context.Context, req AppendRequest) (AppendOutcome, error) {
	call := &appendCall{ctx: ctx, req: req, lead: make(chan struct{}), done: make(chan struct{})}
	ch := req.Message.Channel
	c.mu.Lock()
	q := c.queues[ch]
	if q == nil {
		q = &appendQueue{}
		c.queues[ch] = q
	}
	q.pending = append(q.pending, call)
	leads := !q.led
	if leads {
		q.led, call.leader = true, true
	}
	c.mu.Unlock()

	if !leads && !c.await(call, q) {
		return call.out, call.err
	}
	for !call.finished() {
		c.mu.Lock()
		batch := q.pending[:min(len(q.pending), MaxAppendBatch)]
		q.pending = q.pending[len(batch):]
		c.mu.Unlock()
		c.store(batch)
	}
	c.mu.Lock()
	if len(q.pending) > 0 {
		next := q.pending[0]
		next.leader = true
		close(next.lead)
	} else {
		delete(c.queues, ch)
	}
	c.mu.Unlock()
	return call.out, call.err
}

// await waits until call is done (false) or is to lead (true). A call
// whose context ends while it is queued leaves the queue.
func (c *appendCombiner) await(call *appendCall, q *appendQueue) (lead bool) {
	select {
	case <-call.done:
		return false
	case <-call.lead:
		return true
	case <-call.ctx.Done():
	}
	c.mu.Lock()
	if call.leader {
		c.mu.Unlock()
		return true // handed the lead meanwhile: the others wait on it
	}
	for i, p := range q.pending {
		if p == call {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			c.mu.Unlock()
			call.out, call.err = AppendOutcome{}, errLeftQueue
			return false
		}
	}
	c.mu.Unlock()
	// Taken into a batch already: its outcome is coming.
	select {
	case <-call.done:
		return false
	case <-call.lead:
		return true
	}
}

func (call *appendCall) finished() bool {
	select {
	case <-call.done:
		return true
	default:
		return false
	}
}

// store runs one batch and hands each call its outcome. A batch that
// fails for anything but an outage is stored again one request at a
// time, so that one bad request (a value the database refuses, a
// duplicate racing in from another instance) fails alone.
func (c *appendCombiner) store(batch []*appendCall) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	reqs := make([]AppendRequest, len(batch))
	for i, call := range batch {
		reqs[i] = call.req
	}
	out, err := c.run(ctx, reqs)
	if err != nil && len(batch) > 1 && !errors.Is(err, domain.ErrUnavailable) && ctx.Err() == nil {
		for _, call := range batch {
			c.store([]*appendCall{call})
		}
		return
	}
	for i, call := range batch {
		if err != nil {
			call.err = err
		} else {
			call.out = out[i]
		}
		close(call.done)
	}
}

// batchContext is the context a batch runs in: none of its callers'
// cancellations (the others still want their messages), but the latest
// of their deadlines, or none if one of them has none.
func batchContext(batch []*appendCall) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, call := range batch {
		d, ok := call.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}
