package main

// verdict is what seqChecker made of one seq.
type verdict int

const (
	inOrder   verdict = iota // the next seq
	gap                      // later than the next: seqs were skipped
	duplicate                // at or before the last seq: already seen, or late
)

// seqChecker checks the seqs of one channel as one stream receives them:
// each must be the previous one plus one, starting at 1 (the run's groups
// are new, so a stream's first message is the channel's first).
type seqChecker struct {
	last       int64 // the highest seq seen
	gaps       int64 // times a seq skipped ahead
	skipped    int64 // seqs jumped over by those gaps
	duplicates int64 // seqs at or before last
}

// observe records seq and classifies it.
func (c *seqChecker) observe(seq int64) verdict {
	switch {
	case seq == c.last+1:
		c.last = seq
		return inOrder
	case seq > c.last+1:
		c.gaps++
		c.skipped += seq - c.last - 1
		c.last = seq
		return gap
	default:
		c.duplicates++
		return duplicate
	}
}

// missing returns how many of the seqs 1..final this stream never got:
// those skipped by gaps and those after its last one.
func (c *seqChecker) missing(final int64) int64 {
	n := c.skipped
	if final > c.last {
		n += final - c.last
	}
	return n
}

// channelChecks checks every channel one stream carries, each with a
// seqChecker of its own: a group's stream carries one channel, an inbox
// stream each of its user's conversations, interleaved.
type channelChecks map[string]*seqChecker

// observe records seq of channel and classifies it; advance is how far the
// channel's highest seq moved (0 for a duplicate).
func (cc channelChecks) observe(channel string, seq int64) (v verdict, advance int64) {
	c := cc[channel]
	if c == nil {
		c = new(seqChecker)
		cc[channel] = c
	}
	before := c.last
	v = c.observe(seq)
	return v, c.last - before
}

// missing returns how many of the seqs 1..finals[ch] of each channel ch
// the stream never got.
func (cc channelChecks) missing(finals map[string]int64) int64 {
	var n int64
	for ch, final := range finals {
		if c := cc[ch]; c != nil {
			n += c.missing(final)
		} else {
			n += final
		}
	}
	return n
}

// totals adds up the gaps and duplicates of every channel.
func (cc channelChecks) totals() (gaps, duplicates int64) {
	for _, c := range cc {
		gaps += c.gaps
		duplicates += c.duplicates
	}
	return gaps, duplicates
}
