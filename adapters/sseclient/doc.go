// Package sseclient is a client of Relay's Server-Sent Events stream
// (GET /api/sse, see API.md): Reader parses the wire format into blocks as
// a browser's EventSource does (the WHATWG rules), and Follow keeps a
// stream open across disconnections, resuming from the last event id with
// Last-Event-ID, waiting what the server's `retry:` asks, backing off while
// the server fails, and giving up on a 4xx, which no retry can change.
// `relay tail` and the load tool follow streams with it; the tests read
// them with its Reader.
package sseclient
