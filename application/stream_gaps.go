package application

import (
	"context"
	"slices"
	"time"

	"github.com/relaymsg/relay/domain"
)

// gapWait is how long a stream holds a message that arrived ahead of its
// predecessor before it reads the missing ones from the store. Senders of
// one channel race between commit and publish, so a notification often
// overtakes the one before it by a moment; waiting that long costs a little
// latency, where reading at once would cost the store one query per
// subscriber of the channel — a thousand for a group of a thousand.
const gapWait = 50 * time.Millisecond

// maxHeld bounds the messages held per channel; past it the gap is filled
// from the store at once.
const maxHeld = 64

// fillExpiredGaps reads from the store what the gap hold waited for in
// vain: the gaps did not close by themselves, so a notification was lost.
func (s *Stream) fillExpiredGaps(ctx context.Context, sink StreamSink) error {
	for _, gap := range s.gaps.expire() {
		if s.inbox != nil {
			// One catch-up names at most one more conversation, and the
			// gaps may be of any number of them: compact as often as
			// after a batch, or the cursor outgrows its bound.
			if err := s.inbox.compactIfDue(ctx, s); err != nil {
				return err
			}
		}
		if err := s.catchUp(ctx, gap.channel, gap.upTo, gapRead, sink); err != nil {
			return err
		}
	}
	return sink.Flush()
}

// gapHold keeps the messages that arrived ahead of a gap, per channel, until
// the gap closes by itself or gapWait passes. It also keeps the seqs that
// the store is known to have reached (domain.EventHead): a channel whose
// cursor does not reach its expected seq within gapWait is read from the
// store too. Only the goroutine running the stream uses it.
type gapHold struct {
	held   map[domain.ChannelID][]domain.Message // sorted by seq, unique
	expect map[domain.ChannelID]int64            // seq the store has reached, past the cursor
	timer  *time.Timer
	armed  bool
}

// hold keeps m and reports whether the channel's hold is over maxHeld.
func (g *gapHold) hold(m domain.Message) (full bool) {
	if g.held == nil {
		g.held = make(map[domain.ChannelID][]domain.Message)
	}
	list := g.held[m.Channel]
	i, found := slices.BinarySearchFunc(list, m.Seq, func(h domain.Message, seq int64) int {
		return int(h.Seq - seq)
	})
	if !found {
		list = slices.Insert(list, i, m)
		g.held[m.Channel] = list
	}
	g.arm()
	return len(list) > maxHeld
}

// awaitSeq records that the store holds channel's messages up to seq,
// which is past the cursor: unless they arrive within gapWait, they are
// read from the store.
func (g *gapHold) awaitSeq(channel domain.ChannelID, seq int64) {
	if g.expect == nil {
		g.expect = make(map[domain.ChannelID]int64)
	}
	g.expect[channel] = max(g.expect[channel], seq)
	g.arm()
}

func (g *gapHold) arm() {
	if g.armed {
		return
	}
	if g.timer == nil {
		g.timer = time.NewTimer(gapWait)
	} else {
		g.timer.Reset(gapWait)
	}
	g.armed = true
}

// next removes and returns the held message of channel with seq at+1, if
// any, dropping those at or before at.
func (g *gapHold) next(channel domain.ChannelID, at int64) (domain.Message, bool) {
	g.release(channel, at)
	list := g.held[channel]
	if len(list) == 0 || list[0].Seq != at+1 {
		return domain.Message{}, false
	}
	m := list[0]
	g.set(channel, list[1:])
	return m, true
}

// reach returns the furthest seq of channel that the store is known to
// hold: the latest held message's, or the seq a head announced.
func (g *gapHold) reach(channel domain.ChannelID) int64 {
	seq := g.expect[channel]
	if list := g.held[channel]; len(list) > 0 {
		seq = max(seq, list[len(list)-1].Seq)
	}
	return seq
}

// release forgets what is held and expected for channel at or before at,
// the cursor after a catch-up that reached what the store was known to
// hold.
func (g *gapHold) release(channel domain.ChannelID, at int64) {
	if seq, ok := g.expect[channel]; ok && seq <= at {
		delete(g.expect, channel)
	}
	list := g.held[channel]
	for len(list) > 0 && list[0].Seq <= at {
		list = list[1:]
	}
	g.set(channel, list)
}

// drop forgets what is held and expected for channel: the store has it
// all.
func (g *gapHold) drop(channel domain.ChannelID) {
	delete(g.expect, channel)
	g.set(channel, nil)
}

func (g *gapHold) set(channel domain.ChannelID, list []domain.Message) {
	if len(list) == 0 {
		delete(g.held, channel)
	} else {
		g.held[channel] = list
	}
	if len(g.held) == 0 && len(g.expect) == 0 && g.armed {
		g.timer.Stop()
		g.armed = false
	}
}

// expired fires when messages have been held for gapWait; nil when none
// are held.
func (g *gapHold) expired() <-chan time.Time {
	if !g.armed {
		return nil
	}
	return g.timer.C
}

// gapFill is a catch-up that the gap hold gave up waiting for: channel
// read from the store up to seq upTo, which it is known to hold.
type gapFill struct {
	channel domain.ChannelID
	upTo    int64
}

// expire is called when expired fires: it disarms the hold and returns
// the catch-ups due, one per channel with held or expected messages. The
// catch-ups release what they reach.
func (g *gapHold) expire() []gapFill {
	g.armed = false
	out := make([]gapFill, 0, len(g.held)+len(g.expect))
	for ch := range g.held {
		out = append(out, gapFill{channel: ch, upTo: g.reach(ch)})
	}
	for ch := range g.expect {
		if _, held := g.held[ch]; !held {
			out = append(out, gapFill{channel: ch, upTo: g.reach(ch)})
		}
	}
	return out
}

// stop releases the timer.
func (g *gapHold) stop() {
	if g.timer != nil {
		g.timer.Stop()
	}
	g.armed = false
}
