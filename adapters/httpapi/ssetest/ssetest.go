// Package ssetest reads Server-Sent Events streams in tests: Client opens
// a stream over HTTP, with the options tests vary (the token in the query,
// extra headers, any URL), and reads it with sseclient's Reader, the
// parser `relay tail` and the load tool use. It is an ordinary package (not
// a _test file) so that both the HTTP adapter's tests and the black-box
// tests of the assembled service can use it; production code follows
// streams with adapters/sseclient.
package ssetest

import (
	"io"

	"github.com/relaymsg/relay/adapters/sseclient"
)

// Event is one block of a stream (see sseclient.Event).
type Event = sseclient.Event

// Reader parses an SSE stream into blocks (see sseclient.Reader).
type Reader = sseclient.Reader

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return sseclient.NewReader(r) }
