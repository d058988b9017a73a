// Package web is Relay's demo page: a small chat client in plain HTML, CSS
// and JavaScript, embedded in the binary and served at /. It signs in with
// POST /dev/token in development mode (or a pasted token otherwise), lists
// and opens conversations, sends messages and shows them live through the
// browser's EventSource, resuming with Last-Event-ID after a drop.
//
// The page loads nothing from the network but its own files, and its
// Content-Security-Policy allows nothing else, so it works on a closed
// network and user content can never run as script.
package web
