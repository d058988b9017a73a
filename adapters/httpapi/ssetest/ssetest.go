// Package ssetest reads Server-Sent Events streams in tests: Reader parses
// the wire format into blocks exactly as a browser's EventSource would
// split it, and Client opens a stream over HTTP and reads it. It is an
// ordinary package (not a _test file) so that both the HTTP adapter's tests
// and the black-box tests of the assembled service can use it.
package ssetest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Event is one block of a stream: the lines up to a blank line.
type Event struct {
	// ID is the value of the block's id field; HasID tells an absent field
	// from an empty one.
	ID    string
	HasID bool
	// Event is the event name ("message" when the block names none but
	// carries data, as EventSource does).
	Event string
	// Data is the data lines joined with "\n"; DataLines counts them.
	Data      string
	DataLines int
	// Retry is the retry field's delay; HasRetry tells whether one was set.
	Retry    time.Duration
	HasRetry bool
	// Comments are the block's comment lines, without the leading ':' and
	// one optional space (": ping" gives "ping").
	Comments []string
	// Raw is the block's text exactly as it arrived, terminator included.
	Raw string
}

// IsDispatched reports whether a browser would fire an event for the
// block: only blocks with data are (retry-only and comment-only ones are
// not).
func (e Event) IsDispatched() bool { return e.DataLines > 0 }

// Reader parses an SSE stream into blocks.
type Reader struct {
	r *bufio.Reader
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

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
		raw.WriteString(line)
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
		if line == "" {
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
			ev.ID, ev.HasID = value, true
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			if ms, err := strconv.ParseInt(value, 10, 64); err == nil {
				ev.Retry, ev.HasRetry = time.Duration(ms)*time.Millisecond, true
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
// returns it without, and the terminator apart.
func (r *Reader) readLine() (line, term string, err error) {
	var b bytes.Buffer
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if b.Len() > 0 && errors.Is(err, io.EOF) {
				return b.String(), "", io.ErrUnexpectedEOF
			}
			return b.String(), "", err
		}
		switch c {
		case '\n':
			return b.String(), "\n", nil
		case '\r':
			if next, err := r.r.Peek(1); err == nil && next[0] == '\n' {
				_, _ = r.r.ReadByte()
				return b.String(), "\r\n", nil
			}
			return b.String(), "\r", nil
		}
		b.WriteByte(c)
	}
}

// splitField splits a line into field and value the way the SSE spec does:
// a line starting with ':' is a comment (field ""), and one space after the
// colon is dropped.
func splitField(line string) (field, value string) {
	field, value, found := strings.Cut(line, ":")
	if !found {
		return line, ""
	}
	return field, strings.TrimPrefix(value, " ")
}
