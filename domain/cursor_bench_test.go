package domain_test

import (
	"strconv"
	"testing"

	"github.com/relaymsg/relay/domain"
)

// BenchmarkCursor: what a stream pays per delivered message for its id:
// moving one channel's position (With) and encoding the whole cursor
// (String), for a stream of 1 channel and of 100 (the most /api/sse takes).
func BenchmarkCursor(b *testing.B) {
	for _, channels := range []int{1, 100} {
		positions := make([]domain.Position, channels)
		for i := range positions {
			positions[i] = domain.Position{Number: int64(1000 + 7*i), Seq: int64(50_000 + i)}
		}
		c := domain.NewCursor(positions...)
		b.Run("channels="+strconv.Itoa(channels)+"/with", func(b *testing.B) {
			b.ReportAllocs()
			seq := int64(60_000)
			for b.Loop() {
				seq++
				c = c.With(positions[channels/2].Number, seq)
			}
		})
		b.Run("channels="+strconv.Itoa(channels)+"/advance-in-place", func(b *testing.B) {
			b.ReportAllocs()
			own := c.Clone()
			seq := int64(60_000)
			for b.Loop() {
				seq++
				own.AdvanceInPlace(positions[channels/2].Number, seq)
			}
		})
		b.Run("channels="+strconv.Itoa(channels)+"/string", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.String()
			}
		})
		inbox := domain.InboxCursor{UserSeq: 42, Watermark: 1 << 33, Except: domain.NewCursor(positions[:min(channels, 8)]...)}
		b.Run("channels="+strconv.Itoa(channels)+"/inbox-string", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = inbox.String()
			}
		})
	}
}
