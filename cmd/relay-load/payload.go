package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxContentBytes keeps padded content under the API's 4000-character
// limit with room for the header.
const maxContentBytes = 3900

// sentAtMarker precedes the send time in a message's content.
const sentAtMarker = " t="

// clock reads this process's monotonic clock as a duration since the run
// started, so that send and receive times compare without wall-clock steps.
type clock struct{ start time.Time }

func newClock() clock { return clock{start: time.Now()} }

// now returns the time since the clock started.
func (c clock) now() time.Duration { return time.Since(c.start) }

// encodeContent returns the content of message n of run sent at sentAt,
// padded with 'x' to at least size bytes. The send time is last so that
// decodeSentAt finds it without parsing the rest.
func encodeContent(run string, n int, sentAt time.Duration, size int) string {
	head := fmt.Sprintf("relay-load %s #%d", run, n)
	tail := sentAtMarker + strconv.FormatInt(int64(sentAt), 10)
	if pad := size - len(head) - len(tail) - 1; pad > 0 {
		head += " " + strings.Repeat("x", pad)
	}
	return head + tail
}

// decodeSentAt returns the send time encodeContent put in content.
func decodeSentAt(content string) (time.Duration, bool) {
	i := strings.LastIndex(content, sentAtMarker)
	if i < 0 {
		return 0, false
	}
	ns, err := strconv.ParseInt(content[i+len(sentAtMarker):], 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ns), true
}
