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
// the client on flush. Every write that reaches the connection gets a fresh
// deadline, because the server has no global write timeout (it would end
// every stream): a client that stops reading is dropped after one write
// timeout instead of pinning the handler forever.
//
// Framing can never be broken by a payload: ids, event names and comments
// holding a line break are refused, and data is split into one `data:`
// line per line of the payload, which is exactly how the client's parser
// joins it back (CR, LF and CRLF all end an SSE line and come back as LF).
// The JSON payloads Relay sends never contain a raw line break, so in
// practice every data field is one line.
type eventWriter struct {
	rc      *http.ResponseController
	out     deadlineWriter
	buf     *bufio.Writer // borrowed from bufferPool between a write and a flush
	timeout time.Duration
}

func newEventWriter(w http.ResponseWriter, timeout time.Duration) *eventWriter {
	e := &eventWriter{rc: http.NewResponseController(w), timeout: timeout}
	e.out = deadlineWriter{w: w, e: e}
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

// setStreamHeaders sets the headers of every 200 answer of /api/sse.
// "Connection: close" makes the stream the last response of its HTTP/1.x
// connection: the per-write deadlines set on the connection would
// otherwise still be armed for whatever request came next on it.
func setStreamHeaders(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
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
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(id)
		b.WriteByte('\n')
	}
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		writeData(b, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	writeData(b, data)
	return e.end("\n")
}

func writeData(b *bufio.Writer, line []byte) {
	b.WriteString("data: ")
	b.Write(line)
	b.WriteByte('\n')
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
	if err := e.rc.Flush(); err != nil {
		return &clientWriteError{err}
	}
	return nil
}

func (e *eventWriter) armDeadline() error {
	err := e.rc.SetWriteDeadline(time.Now().Add(e.timeout))
	if errors.Is(err, http.ErrNotSupported) {
		// A writer without deadlines (a test recorder) cannot block anyway.
		return nil
	}
	return err
}

// deadlineWriter arms the write deadline before each write the buffer
// hands to the response.
type deadlineWriter struct {
	w http.ResponseWriter
	e *eventWriter
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.e.armDeadline(); err != nil {
		return 0, err
	}
	return d.w.Write(p)
}

func validField(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }
