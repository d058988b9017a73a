package main

import "testing"

func TestSeqChecker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		seqs                []int64
		final               int64
		want                []verdict
		gaps, dups, skipped int64
		missing             int64
	}{
		{name: "in order", seqs: []int64{1, 2, 3}, final: 3, want: []verdict{inOrder, inOrder, inOrder}},
		{name: "nothing received", final: 4, missing: 4},
		{name: "tail missing", seqs: []int64{1, 2}, final: 5, want: []verdict{inOrder, inOrder}, missing: 3},
		{name: "first seq missing", seqs: []int64{2, 3}, final: 3, want: []verdict{gap, inOrder},
			gaps: 1, skipped: 1, missing: 1},
		{name: "gap in the middle", seqs: []int64{1, 4, 5}, final: 5, want: []verdict{inOrder, gap, inOrder},
			gaps: 1, skipped: 2, missing: 2},
		{name: "duplicate", seqs: []int64{1, 2, 2, 3}, final: 3, want: []verdict{inOrder, inOrder, duplicate, inOrder},
			dups: 1},
		{name: "reordered", seqs: []int64{1, 3, 2}, final: 3, want: []verdict{inOrder, gap, duplicate},
			gaps: 1, skipped: 1, dups: 1, missing: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c seqChecker
			for i, seq := range tt.seqs {
				if got := c.observe(seq); got != tt.want[i] {
					t.Errorf("observe(%d) = %d, want %d", seq, got, tt.want[i])
				}
			}
			if c.gaps != tt.gaps || c.duplicates != tt.dups || c.skipped != tt.skipped {
				t.Errorf("gaps, duplicates, skipped = %d, %d, %d; want %d, %d, %d",
					c.gaps, c.duplicates, c.skipped, tt.gaps, tt.dups, tt.skipped)
			}
			if got := c.missing(tt.final); got != tt.missing {
				t.Errorf("missing(%d) = %d, want %d", tt.final, got, tt.missing)
			}
		})
	}
}

// TestChannelChecks: interleaved channels are checked each on its own, and
// a channel never received is missing whole.
func TestChannelChecks(t *testing.T) {
	t.Parallel()
	cc := make(channelChecks)
	steps := []struct {
		channel string
		seq     int64
		want    verdict
		advance int64
	}{
		{"group:a", 1, inOrder, 1},
		{"group:b", 1, inOrder, 1},
		{"group:a", 2, inOrder, 1},
		{"group:b", 3, gap, 2},
		{"group:a", 2, duplicate, 0},
		{"group:b", 2, duplicate, 0},
	}
	for _, s := range steps {
		if v, adv := cc.observe(s.channel, s.seq); v != s.want || adv != s.advance {
			t.Errorf("observe(%s, %d) = %d, %d; want %d, %d", s.channel, s.seq, v, adv, s.want, s.advance)
		}
	}
	if gaps, dups := cc.totals(); gaps != 1 || dups != 2 {
		t.Errorf("totals = %d gaps, %d duplicates; want 1, 2", gaps, dups)
	}
	// a: 1..3, one missing at the end; b: 2 skipped by the gap; c: never
	// received, 4 missing.
	if got := cc.missing(map[string]int64{"group:a": 3, "group:b": 3, "group:c": 4}); got != 6 {
		t.Errorf("missing = %d, want 6", got)
	}
}
