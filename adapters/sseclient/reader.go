package sseclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxBlock bounds one block of the stream (its lines up to the blank line
// that ends it): a peer that never ends a line cannot exhaust memory.
const MaxBlock = 8 << 20

// ErrBlockTooLong is returned by Next for a block longer than MaxBlock.
var ErrBlockTooLong = errors.New("sse: block longer than MaxBlock")

// Event is one block of a stream: the lines up to a blank line.
type Event struct {
	// ID is the value of the block's id field; HasID tells an absent field
	// from an empty one. An id holding NUL is ignored, as the standard
	// says.
	ID    string
	HasID bool
	// Event is the event name ("message" when the block names none but
	// carries data, as EventSource does).
	Event string
	// Data is the data lines joined with "\n"; DataLines counts them.
	Data      string
	DataLines int
	// Retry is the retry field's delay; HasRetry tells whether one was set
	// (a value that is not all ASCII digits is ignored).
	Retry    time.Duration
	HasRetry bool
	// Comments are the block's comment lines, without the leading ':' and
	// one optional space (": ping" gives "ping").
	Comments []string
	// Raw is the block's text as it arrived, terminator included (but for
	// the LF of a CRLF that arrived after the block was returned).
	Raw string
}

// IsDispatched reports whether a browser would fire an event for the
// block: only blocks with data are (retry-only and comment-only ones are
// not).
func (e Event) IsDispatched() bool { return e.DataLines > 0 }

// Reader parses an SSE stream into blocks. It reads through a buffer, many
// bytes a call, and returns a block as soon as its blank line arrives.
type Reader struct {
	r       *bufio.Reader
	started bool // the byte order mark is only skipped at the start
	skipLF  bool // the last line ended with a CR: a LF right after it is part of it
	line    []byte
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 16<<10)} }

// Next returns the next block, comment-only and retry-only ones included.
// It returns io.EOF when the stream ended cleanly between blocks and
// io.ErrUnexpectedEOF when it ended inside one.
func (r *Reader) Next() (Event, error) {
	var (
		ev   Event
		raw  strings.Builder
		data []string
	)
	for {
		line, term, err := r.readLine()
		if err == nil && raw.Len()+len(line) > MaxBlock {
			err = ErrBlockTooLong
		}
		raw.Write(line)
		raw.WriteString(term)
		if err != nil {
			if errors.Is(err, io.EOF) {
				if raw.Len() == 0 {
					return Event{}, io.EOF
				}
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if raw.Len() == len(term) {
				// A blank line with no block before it dispatches nothing.
				raw.Reset()
				continue
			}
			ev.Raw = raw.String()
			ev.DataLines = len(data)
			ev.Data = strings.Join(data, "\n")
			if ev.DataLines > 0 && ev.Event == "" {
				ev.Event = "message"
			}
			return ev, nil
		}
		field, value := splitField(line)
		switch field {
		case "":
			ev.Comments = append(ev.Comments, value)
		case "id":
			if !strings.Contains(value, "\x00") {
				ev.ID, ev.HasID = value, true
			}
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			if ms, ok := parseRetry(value); ok {
				ev.Retry, ev.HasRetry = ms, true
			}
		}
	}
}

// NextEvent returns the next block a browser would dispatch, skipping
// comments and retry-only blocks.
func (r *Reader) NextEvent() (Event, error) {
	for {
		ev, err := r.Next()
		if err != nil || ev.IsDispatched() {
			return ev, err
		}
	}
}

// readLine reads one line ended by CRLF, LF or CR (the SSE line ends) and
// returns it without, and the terminator apart. The line is valid until
// the next call. A CR ends the line at once, without waiting for the byte
// after it: a LF that follows is dropped at the next call.
func (r *Reader) readLine() (line []byte, term string, err error) {
	r.line = r.line[:0]
	for {
		if r.r.Buffered() == 0 {
			if _, err := r.r.Peek(1); err != nil {
				if len(r.line) > 0 && errors.Is(err, io.EOF) {
					return r.line, "", io.ErrUnexpectedEOF
				}
				return r.line, "", err
			}
		}
		buf, _ := r.r.Peek(r.r.Buffered())
		if !r.started {
			r.started = true
			if bytes.HasPrefix(buf, []byte("\uFEFF")) {
				_, _ = r.r.Discard(3)
				continue
			}
		}
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				_, _ = r.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 {
			if len(r.line)+len(buf) > MaxBlock {
				return r.line, "", ErrBlockTooLong
			}
			r.line = append(r.line, buf...)
			_, _ = r.r.Discard(len(buf))
			continue
		}
		r.line = append(r.line, buf[:i]...)
		if buf[i] == '\n' {
			_, _ = r.r.Discard(i + 1)
			return r.line, "\n", nil
		}
		if i+1 < len(buf) {
			if buf[i+1] == '\n' {
				_, _ = r.r.Discard(i + 2)
				return r.line, "\r\n", nil
			}
			_, _ = r.r.Discard(i + 1)
			return r.line, "\r", nil
		}
		_, _ = r.r.Discard(i + 1)
		r.skipLF = true
		return r.line, "\r", nil
	}
}

// splitField splits a line into field and value the way the SSE spec does:
// a line starting with ':' is a comment (field ""), and one space after the
// colon is dropped.
func splitField(line []byte) (field, value string) {
	f, v, found := bytes.Cut(line, []byte(":"))
	if !found {
		return string(line), ""
	}
	return string(f), string(bytes.TrimPrefix(v, []byte(" ")))
}

// parseRetry reads a retry field's value: milliseconds in ASCII digits.
func parseRetry(value string) (time.Duration, bool) {
	if value == "" || strings.Trim(value, "0123456789") != "" {
		return 0, false
	}
	ms, err := strconv.ParseInt(value, 10, 64)
	if err != nil || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}
