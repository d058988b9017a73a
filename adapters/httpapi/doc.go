// Package httpapi is Relay's HTTP transport: the REST endpoints, the
// Server-Sent Events stream, bearer-token authentication, the single
// mapping of domain errors to status codes and error bodies, access logs,
// Prometheus metrics, health and readiness, and the http.Server around it
// all. It drives the application's use cases and knows nothing of storage.
//
// The package is named httpapi so that it does not shadow net/http.
//
// Wiring, in short:
//
//	metrics, _ := httpapi.NewMetrics(registry)
//	h, _ := httpapi.NewHandler(useCases, cfg, httpapi.Deps{
//		Logger: logger, Metrics: metrics, Gatherer: registry,
//		Readiness: []httpapi.ReadinessCheck{{Name: "store", Check: db.Ping}},
//	})
//	srv := httpapi.NewServer(addr, h, logger)
//	srv.Start(ctx) // on start-up
//	srv.Stop(ctx)  // on shutdown: ends SSE streams, then drains requests
//
// Decisions of the contract that API.md leaves open, in one place:
//
//   - A non-member is answered 404 not_found, exactly like a missing
//     conversation, with the same body.
//   - An id that is malformed (it can never exist) is answered 404 as well
//     when it names a resource (path, body or query), since it leaks
//     nothing; malformed values that are not resource names (a channel
//     parameter, limit, a cursor) are 400.
//   - A body the JSON decoder rejects (not JSON, several values, an unknown
//     field, a value of the wrong type) is 400 invalid_json; a well-formed
//     body that breaks a rule (a required field missing or null, bad
//     content) is 400 validation_failed. A body that is not UTF-8 is 400
//     invalid_json, checked on the raw bytes (decodeJSON), since
//     encoding/json would turn bad bytes into U+FFFD.
//   - Routes match the path still percent-encoded and not cleaned, and
//     each path variable is decoded once (pathVar): a user id may hold
//     '/', '%', '?' or '#', or be "." or "..".
//   - after=0 on GET /api/messages is the first page (seq > 0) and
//     before=0 is an empty page, as the contract reads, although the use
//     case takes a zero as "not set"; see listMessages.
//   - Every 200 answer of /api/sse is the last response of its HTTP/1.x
//     connection ("Connection: close"), because the stream arms per-write
//     deadlines on the connection that must not outlive it.
//   - A stream refused by a limit (too many open, too many connections
//     from one address) is transient: 200 with a jittered `retry:`, a
//     Retry-After, and `event: limited` carrying the error body, never a
//     4xx. REST limits answer 429 rate_limited with Retry-After. Limits are
//     per instance and in memory (admission.go); the use cases know
//     nothing of them.
//   - A token without exp is accepted and never expires: the service's own
//     tooling may issue long-lived service tokens, and the API says only
//     that exp is honoured when present.
package httpapi
