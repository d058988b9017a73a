package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sseBufferSize is the write buffer of a burst: its events reach the
// connection in a few large writes, not one per event.
const sseBufferSize = 16 << 10

// bufferPool holds the burst buffers. A stream borrows one from its first
// write to its flush only, so that memory follows the streams that are
// writing, not the (far more numerous) idle ones.
var bufferPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, sseBufferSize) }}

// clientWriteError is a failure to write to the client: it went away or
// stopped reading. It ends a stream quietly; nothing is wrong on our side.
type clientWriteError struct{ err error }

func (e *clientWriteError) Error() string { return "write to client: " + e.err.Error() }
func (e *clientWriteError) Unwrap() error { return e.err }

var errBadField = errors.New("sse: an id, event name or comment holds CR, LF or NUL")

// eventWriter renders Server-Sent Events into a buffer and pushes them to
// the client on flush. Every write that reaches the connection has a
// deadline at least half the write timeout away (see armDeadline), because
// the server has no global write timeout (it would end every stream): a
// client that stops reading is dropped within one write timeout instead of
// pinning the handler forever.
//
// Framing can never be broken by a payload: ids, event names and comments
// holding a line break are refused, and data is split into one `data:`
// line per line of the payload, which is exactly how the client's parser
// joins it back (CR, LF and CRLF all end an SSE line and come back as LF).
// The JSON payloads Relay sends never contain a raw line break, so in
// practice every data field is one line.
type eventWriter struct {
	conn    streamOut
	out     deadlineWriter
	buf     *bufio.Writer // borrowed from bufferPool between a write and a flush
	timeout time.Duration
	// deadline is the write deadline armed last (zero: none yet). It is
	// moved on only once less than half the timeout is left, so that a
	// busy stream sets it about twice per timeout rather than twice per
	// flush, and every write still has at least half the timeout.
	deadline time.Time
}

// newEventWriter returns a writer of events to w, through net/http.
func newEventWriter(w http.ResponseWriter, timeout time.Duration) *eventWriter {
	return newStreamWriter(newResponseOut(w), timeout)
}

// newStreamWriter returns a writer of events to out.
func newStreamWriter(out streamOut, timeout time.Duration) *eventWriter {
	e := &eventWriter{conn: out, timeout: timeout}
	e.out = deadlineWriter{e: e}
	return e
}

// b returns the burst buffer, borrowing one if needed.
func (e *eventWriter) b() *bufio.Writer {
	if e.buf == nil {
		e.buf = bufferPool.Get().(*bufio.Writer)
		e.buf.Reset(e.out)
	}
	return e.buf
}

// setStreamHeaders sets the headers of every 200 answer of /api/sse and
// /api/sse/inbox that net/http writes.
func setStreamHeaders(w http.ResponseWriter, r *http.Request) {
	setStreamHeaderValues(w.Header(), r.ProtoMajor == 1)
}

// setStreamHeaderValues sets the stream headers in hdr. On HTTP/1.x
// "Connection: close" makes the stream the last response of its
// connection: the per-write deadlines set on the connection would
// otherwise still be armed for whatever request came next on it, and a
// stream that took its connection over (takeOver) ends its body by
// closing it.
func setStreamHeaderValues(hdr http.Header, http1 bool) {
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	if http1 {
		hdr.Set("Connection", "close")
	}
}

// retry writes the reconnection delay.
func (e *eventWriter) retry(d time.Duration) error {
	b := e.b()
	b.WriteString("retry: ")
	b.WriteString(strconv.FormatInt(d.Milliseconds(), 10))
	return e.end("\n\n")
}

// event writes one event; an empty id writes no id field, so that the
// client keeps the last one it saw.
func (e *eventWriter) event(id, name string, data []byte) error {
	if !validField(id) || !validField(name) {
		return fmt.Errorf("event %q: %w", name, errBadField)
	}
	b := e.b()
	writeID(b, id)
	b.Write(appendEventBody(b.AvailableBuffer(), name, data))
	return e.end("")
}

// framed writes an event whose body (appendEventBody's, shared by every
// stream of a message) is ready, with the id in front: a cursor, which is
// base64url and never holds a line break.
func (e *eventWriter) framed(id string, body []byte) error {
	b := e.b()
	writeID(b, id)
	b.Write(body)
	return e.end("")
}

func writeID(b *bufio.Writer, id string) {
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(id)
		b.WriteByte('\n')
	}
}

// appendEventBody appends an event's name and data fields and the blank
// line that ends it: one data line per line of data, split at CR, LF or
// CRLF as a client's parser joins them back.
func appendEventBody(dst []byte, name string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, '\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = appendData(dst, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = appendData(dst, data)
	return append(dst, '\n')
}

func appendData(dst, line []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, line...)
	return append(dst, '\n')
}

// comment writes a comment line, which clients ignore: the heartbeat.
func (e *eventWriter) comment(text string) error {
	if !validField(text) {
		return errBadField
	}
	b := e.b()
	b.WriteString(": ")
	b.WriteString(text)
	return e.end("\n\n")
}

// end writes the last bytes of a block and reports the first error of
// any write since the buffer broke (bufio.Writer keeps it).
func (e *eventWriter) end(s string) error {
	if _, err := e.b().WriteString(s); err != nil {
		return &clientWriteError{err}
	}
	return nil
}

// flush pushes everything buffered to the client.
func (e *eventWriter) flush() error {
	if buf := e.buf; buf != nil {
		e.buf = nil
		err := buf.Flush()
		buf.Reset(nil) // drop the error and the response before sharing it
		bufferPool.Put(buf)
		if err != nil {
			return &clientWriteError{err}
		}
	}
	if err := e.armDeadline(); err != nil {
		return &clientWriteError{err}
	}
	if err := e.conn.Flush(); err != nil {
		return &clientWriteError{err}
	}
	return nil
}

func (e *eventWriter) armDeadline() error {
	now := time.Now()
	if !e.deadline.IsZero() && e.deadline.Sub(now) >= e.timeout/2 {
		return nil
	}
	e.deadline = now.Add(e.timeout)
	return e.conn.SetWriteDeadline(e.deadline)
}

// deadlineWriter arms the write deadline before each write the buffer
// hands to the connection.
type deadlineWriter struct {
	e *eventWriter
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.e.armDeadline(); err != nil {
		return 0, err
	}
	return d.e.conn.Write(p)
}

func validField(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }
