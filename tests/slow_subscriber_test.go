package tests

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaymsg/relay/cmd/relay/app"
)

// TestSlowSubscriberIsCutOffAndResumes fills a non-reading client's
// connection and its small delivery queue: the server must end that stream
// (and count the cut-off) without holding back a client that reads, and the
// slow client's reconnect from its last cursor must recover the rest.
func TestSlowSubscriberIsCutOffAndResumes(t *testing.T) {
	t.Parallel()
	a := startApp(t, func(c *app.Config) {
		c.QueueSize = 16
		// The slow client must start reading before a write to it times
		// out, however slow the machine: then it is the queue's overflow
		// that ends its stream.
		c.SSEWriteTimeout = time.Minute
	})
	alice := newUser(t, "u_alice")
	g := a.createGroup(t, alice, "Firehose")
	channels := []string{g.channel()}
	cutoffs := a.metric(t, "relay_sse_cutoffs_total")

	fast := a.openStream(t, alice, channels, streamOpts{})
	slow := smallReceiveBuffer(t, a.url).openStream(t, alice, channels, streamOpts{paused: true})

	total := floodSize(t)
	// One sender, so that notifications come in seq order: the slow
	// stream then cannot fill a gap from the store, and holds back at most
	// what its queue held when it was cut off.
	var wg sync.WaitGroup
	var postErr error
	wg.Go(func() {
		for i := range total {
			if _, _, err := a.postMessage(alice, g, bigContent(i)); err != nil {
				postErr = err
				return
			}
		}
	})
	// The fast client reads while the messages are sent, and gets them all.
	got, _ := fast.messages(t, int(total))
	wg.Wait()
	if postErr != nil {
		t.Fatal(postErr)
	}
	wantSeqs(t, "the fast client", seqs(got), seqRange(1, total))

	// Only now does the slow client read: what was buffered for it, then
	// the end of its stream.
	slow.start()
	slow.readPreamble(t)
	blocks, err := slow.waitEnd(t)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the slow stream ended with %v, want a clean end", err)
	}
	var received []int64
	var cursor string
	for _, b := range blocks {
		if !b.IsDispatched() {
			continue
		}
		if b.Event != "message" {
			t.Fatalf("the slow stream got %q", b.Raw)
		}
		var m message
		mustUnmarshal(t, b.Data, &m)
		received = append(received, m.Seq)
		cursor = b.ID
	}
	n := int64(len(received))
	if n >= total {
		t.Fatalf("the slow client received all %d messages: it was never cut off", total)
	}
	t.Logf("the slow client got %d of %d messages before the cut-off", n, total)
	wantSeqs(t, "the slow client before the cut-off", received, seqRange(1, n))
	if after := a.metric(t, "relay_sse_cutoffs_total"); after != cutoffs+1 {
		t.Fatalf("relay_sse_cutoffs_total went from %v to %v, want one cut-off", cutoffs, after)
	}

	// Resuming recovers the rest, exactly once, in order.
	opts := streamOpts{lastEventID: cursor}
	if cursor == "" {
		opts.lastEventID = slow.readyID
	}
	resumed := a.openStream(t, alice, channels, opts)
	rest, _ := resumed.messages(t, int(total-n))
	wantSeqs(t, "the slow client's resume", seqs(rest), seqRange(n+1, total))
	m := a.send(t, alice, g, "after")
	if next, _ := resumed.nextMessage(t); next.ID != m.ID {
		t.Fatalf("after the resumed messages got seq %d, want the next live one", next.Seq)
	}
}

// TestStalledSubscriberCutOffIsCounted: a client that stops reading for good
// overflows its queue as surely as a slow one; its stream ends (by the write
// timeout) and relay_sse_cutoffs_total, "SSE streams ended because the
// subscriber fell behind and its delivery queue overflowed", must count it.
func TestStalledSubscriberCutOffIsCounted(t *testing.T) {
	t.Parallel()
	a := startApp(t, func(c *app.Config) {
		c.QueueSize = 16
		c.SSEWriteTimeout = time.Second
	})
	alice, ops := newUser(t, "u_alice"), newAdmin(t, "svc_ops")
	g := a.createGroup(t, alice, "Firehose")
	cutoffs := a.metric(t, "relay_sse_cutoffs_total")
	smallReceiveBuffer(t, a.url).openStream(t, alice, []string{g.channel()}, streamOpts{paused: true})

	for i := range floodSize(t) {
		a.send(t, alice, g, bigContent(i))
	}
	waitFor(t, "the stalled stream to end", func() bool {
		var stats struct{ Connections int }
		expect(t, a.do(t, http.MethodGet, "/api/sse/stats", ops.token, nil), http.StatusOK, &stats)
		return stats.Connections == 0
	})
	if after := a.metric(t, "relay_sse_cutoffs_total"); after != cutoffs+1 {
		t.Fatalf("relay_sse_cutoffs_total went from %v to %v, want the stalled subscriber's cut-off counted", cutoffs, after)
	}
}

// floodSize is how many messages of bigContent a stream that is not read
// cannot hold: more than its connection's socket buffers (the server's send
// buffer, at most the maximum of net.ipv4.tcp_wmem, and the client's receive
// buffer) plus a 16-event queue, with a margin.
func floodSize(t *testing.T) int64 {
	const size = 16_000 // a little less than bigContent's message
	return (maxSendBuffer(t)+2*slowReceiveBuffer+64<<10)/size + 16 + 64
}

// bigContent is the content of message i of a flood: 4000 characters,
// nearly all four-byte ones, about 16 kB.
func bigContent(i int64) string {
	return fmt.Sprintf("%04d %s", i, strings.Repeat("😀", 3995))
}

// slowReceiveBuffer is the receive buffer of the slow client's socket.
const slowReceiveBuffer = 32 << 10

// smallReceiveBuffer returns a client of the service at url whose sockets
// have a fixed receive buffer of slowReceiveBuffer, so that what a stream it
// does not read can buffer is bounded.
func smallReceiveBuffer(t *testing.T, url string) *api {
	c := newAPI(t, url)
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, slowReceiveBuffer)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c.client.Transport = &http.Transport{DialContext: d.DialContext}
	return c
}

// maxSendBuffer is the most a TCP send buffer can grow to on this machine
// (the maximum of net.ipv4.tcp_wmem): the server's socket of a stream the
// client does not read holds at most that much.
func maxSendBuffer(t *testing.T) int64 {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		t.Skipf("cannot size the slow subscriber's backlog without net.ipv4.tcp_wmem: %v", err)
	}
	fields := strings.Fields(string(raw))
	n, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		t.Fatalf("net.ipv4.tcp_wmem %q: %v", raw, err)
	}
	return n
}
