package httpapi

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/relaymsg/relay/domain"
)

// discardWriter is a ResponseWriter (and Flusher) that drops what it is
// given, so that the benchmark times the SSE writer alone.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkSSEWriter: one message event written to a stream, framed once
// per message (the message cache) and put behind each stream's id; flushed
// per event, or once per burst of 16 as a busy stream does.
func BenchmarkSSEWriter(b *testing.B) {
	cache := newMessageCache(messageCacheSlots)
	m := domain.Message{ID: "msg_01jbench", Channel: domain.GroupChannel("grp_bench"), Seq: 1, SenderID: "u_alice",
		Content: "hello, world — a message of about the size chat messages have", CreatedAt: time.Now().UTC()}
	id := domain.NewCursor(domain.Position{Number: 4242, Seq: 123_456}).String()
	for _, burst := range []int{1, 16} {
		b.Run("burst="+strconv.Itoa(burst), func(b *testing.B) {
			w := newEventWriter(&discardWriter{header: http.Header{}}, time.Minute)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				body, err := cache.frame(m)
				if err != nil {
					b.Fatal(err)
				}
				if err := w.framed(id, body); err != nil {
					b.Fatal(err)
				}
				if (i+1)%burst == 0 {
					if err := w.flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
		})
	}
}
