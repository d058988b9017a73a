package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// deadlineRecorder is a ResponseWriter that records the write deadlines
// set on it.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// TestEventWriterArmsTheDeadlineSparingly: a stream flushing often sets
// its write deadline once per half timeout, and every write has at least
// half the timeout before it.
func TestEventWriterArmsTheDeadlineSparingly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Second
		rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
		var w http.ResponseWriter = rec
		ew := newEventWriter(w, timeout)
		start := time.Now()
		for range 100 { // 100 flushes over 9.9 s
			if err := ew.event("AQ", "message", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if err := ew.flush(); err != nil {
				t.Fatal(err)
			}
			if left := time.Until(ew.deadline); left < timeout/2 {
				t.Fatalf("a write with %s of its deadline left, want at least %s", left, timeout/2)
			}
			time.Sleep(99 * time.Millisecond)
		}
		// Armed at the first flush, then once less than half was left.
		if len(rec.deadlines) != 2 || !rec.deadlines[0].Equal(start.Add(timeout)) {
			t.Fatalf("deadlines %v over 100 flushes, want 2, the first at %v", rec.deadlines, start.Add(timeout))
		}
	})
}
