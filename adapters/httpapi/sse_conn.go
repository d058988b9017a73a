package httpapi

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"time"
)

// streamOut is where a stream's bytes go: the response through net/http
// (responseOut) or, on HTTP/1.x, the connection itself once the stream has
// taken it over (hijackedOut).
type streamOut interface {
	Write(p []byte) (int, error)
	// SetWriteDeadline bounds the writes from now on; a writer that
	// cannot block (a test recorder) may ignore it.
	SetWriteDeadline(t time.Time) error
	// Flush pushes what was written to the client.
	Flush() error
}

// responseOut writes through net/http's response: HTTP/2, and any writer
// that cannot be taken over (tests' recorders).
type responseOut struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newResponseOut(w http.ResponseWriter) *responseOut {
	return &responseOut{w: w, rc: http.NewResponseController(w)}
}

func (o *responseOut) Write(p []byte) (int, error) { return o.w.Write(p) }
func (o *responseOut) Flush() error                { return o.rc.Flush() }

func (o *responseOut) SetWriteDeadline(t time.Time) error {
	if err := o.rc.SetWriteDeadline(t); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// hijackedOut is an HTTP/1.x connection a stream has taken over from
// net/http (takeOver). Its response head is sent with the first write, in
// one writev with the stream's preamble, and the body is delimited by the
// connection's close ("Connection: close", no length, no chunking): each
// flush of the stream is one write(2) of exactly its events.
//
// Why: net/http keeps, per connection, a goroutine serving it and another
// reading in the background (to notice the client leaving), a 4 KiB read
// buffer, a 4 KiB write buffer and chunked framing, for the whole life of
// a stream that neither reads nor needs them. Taken over, a stream is one
// goroutine and its own bytes; a close watcher (streamCloses) tells it when
// the client leaves.
type hijackedOut struct {
	conn    net.Conn
	pending []byte // the response head, until the first write
	written int64  // body bytes written, for the access log
}

func (o *hijackedOut) Write(p []byte) (int, error) {
	if o.pending == nil {
		n, err := o.conn.Write(p)
		o.written += int64(n)
		return n, err
	}
	head := len(o.pending)
	bufs := net.Buffers{o.pending, p}
	n, err := bufs.WriteTo(o.conn)
	if n < int64(head) {
		// The head did not go out whole: the connection is broken, and the
		// response with it.
		o.pending = o.pending[n:]
		if err == nil {
			err = errShortWrite
		}
		return 0, err
	}
	o.pending = nil
	body := int(n) - head
	o.written += int64(body)
	return body, err
}

var errShortWrite = errors.New("short write of the response head")

func (o *hijackedOut) SetWriteDeadline(t time.Time) error { return o.conn.SetWriteDeadline(t) }

// Flush does nothing: every write already went to the connection.
func (o *hijackedOut) Flush() error { return nil }

// takeOver hijacks an HTTP/1.x stream's connection and prepares its
// response head: "200 OK" with every header set on w so far (by the
// middleware too) and the stream's own. It returns nil, nil when the
// connection cannot be taken over (HTTP/2, a recorder): the stream then
// writes through w. Any data the client sent after its request is ignored;
// a stream client sends nothing more.
func takeOver(w http.ResponseWriter, r *http.Request) (*hijackedOut, error) {
	if r.ProtoMajor != 1 {
		return nil, nil
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	hdr := w.Header().Clone()
	setStreamHeaderValues(hdr, true)
	hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	if err := hdr.Write(&head); err != nil {
		conn.Close()
		return nil, err
	}
	head.WriteString("\r\n")
	return &hijackedOut{conn: conn, pending: head.Bytes()}, nil
}
