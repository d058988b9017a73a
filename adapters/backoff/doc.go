// Package backoff paces the retries of Relay's clients and transports:
// exponential delays with a cap and optional jitter, reset after a
// success, and a wait that ends early when its context does. It is the one
// place such pauses are computed, so that every reconnect loop (the Redis
// transport, the SSE client behind `relay tail` and the load tool) backs
// off the same way.
package backoff
