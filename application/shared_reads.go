package application

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/relaymsg/relay/domain"
	"github.com/relaymsg/relay/ports"
)

// How long a page read for one stream may serve others, and how many such
// pages are kept. The streams of a channel usually stand at the same seq
// and react to the same event within a few milliseconds of each other, so
// a short window is enough; the bound keeps the memory at a few pages of
// messages however many channels are being caught up.
const (
	sharedPageTTL = 250 * time.Millisecond
	maxSharedPage = 256
)

// sharedReads lets the streams of a channel share their store reads. A
// thousand streams of one group that fill the same gap (a notifier
// outage, a reconnect storm after an instance died) would otherwise each
// send the store the same query; one read serves them all.
//
// A page serves a stream only if it covers what the stream asked for:
// every message after `after` up to seq upTo, a position the stream knows
// to be committed. A page read before upTo was committed ends short of it
// and is read again. Seqs are gap-free in commit order, so a page that
// reaches upTo (or is a full page) holds exactly the messages the stream's
// own read would have returned up to there.
type sharedReads struct {
	msgs ports.MessageRepository
	now  func() time.Time

	mu    sync.Mutex
	pages map[pageKey]*sharedPage
}

type pageKey struct {
	channel domain.ChannelID
	after   int64
}

// sharedPage is one read of a page; done is closed when msgs and err are
// set, after which they are only read.
type sharedPage struct {
	done   chan struct{}
	msgs   []domain.Message
	err    error
	readAt time.Time
}

func newSharedReads(msgs ports.MessageRepository) *sharedReads {
	return &sharedReads{msgs: msgs, now: time.Now, pages: make(map[pageKey]*sharedPage)}
}

// after returns the page of channel's messages after seq after (replayPage
// of them at most), from a read shared with other streams when one covers
// upTo. The caller only reads the page.
func (r *sharedReads) after(ctx context.Context, channel domain.ChannelID, after, upTo int64) ([]domain.Message, error) {
	key := pageKey{channel, after}
	r.mu.Lock()
	p, ok := r.pages[key]
	if ok && r.usable(p, upTo) {
		r.mu.Unlock()
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case p.err == nil && covers(p.msgs, upTo):
			return p.msgs, nil
		case p.err != nil && !isContextErr(p.err):
			return nil, p.err
		}
		// The page ends before upTo, or its reader gave up: read again.
		r.mu.Lock()
	}
	p = &sharedPage{done: make(chan struct{})}
	r.evict()
	r.pages[key] = p
	r.mu.Unlock()

	p.msgs, p.err = r.msgs.List(ctx, domain.HistoryAfter(channel, after, replayPage))
	p.readAt = r.now()
	close(p.done)
	return p.msgs, p.err
}

// usable reports whether p may serve a read up to upTo: it is still being
// read (whether it covers upTo is known when it ends), or it was read
// recently and covers upTo. Called with r.mu held.
func (r *sharedReads) usable(p *sharedPage, upTo int64) bool {
	select {
	case <-p.done:
	default:
		return true
	}
	return p.err == nil && r.now().Sub(p.readAt) < sharedPageTTL && covers(p.msgs, upTo)
}

// evict makes room for one more page: pages past their time go, and if
// that is not enough, any page that is not being read. Called with r.mu
// held.
func (r *sharedReads) evict() {
	if len(r.pages) < maxSharedPage {
		return
	}
	now := r.now()
	for k, p := range r.pages {
		select {
		case <-p.done:
			if now.Sub(p.readAt) >= sharedPageTTL || len(r.pages) >= maxSharedPage {
				delete(r.pages, k)
			}
		default:
		}
	}
}

// covers reports whether page, read for the messages after some seq,
// holds every one of them up to upTo: it is a full page (the caller reads
// on from its end), or its last message is at or past upTo.
func covers(page []domain.Message, upTo int64) bool {
	return len(page) >= replayPage || (len(page) > 0 && page[len(page)-1].Seq >= upTo)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
