package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/relaymsg/relay/domain"
)

// unmatchedRoute labels requests that matched no route, so that probes of
// random paths cannot blow up the metrics' label sets.
const unmatchedRoute = "unmatched"

// requestInfo is what the inner layers learn about a request that the
// outermost one logs: the route template (known only once the router
// matched) and the caller, and whether a stream took the request over
// (handOff), to log it itself when it ends.
type requestInfo struct {
	start     time.Time
	route     string
	userID    domain.UserID
	handedOff bool
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	info, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return info
}

func routeOf(r *http.Request) string {
	if info := infoOf(r); info != nil && info.route != "" {
		return info.route
	}
	return unmatchedRoute
}

// recordRoute is router middleware: it runs only for matched routes and
// tells the outer layer the route's template.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoOf(r); info != nil {
			if tpl, err := mux.CurrentRoute(r).GetPathTemplate(); err == nil {
				info.route = tpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

// instrument wraps the whole router: it writes the access log line and the
// request metrics of every request, matched or not, and turns a panic into
// a 500 instead of a dropped connection.
func (h *Handler) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestInfo{start: time.Now()}
		rec := &responseRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		if r.Body != nil && r.Body != http.NoBody {
			rec.body = &watchedBody{ReadCloser: r.Body}
			r.Body = rec.body
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.logger.ErrorContext(r.Context(), "handler panicked", requestAttrs(r, "panic", p, "stack", string(debug.Stack()))...)
				if !rec.wroteHeader {
					writeErrorBody(rec, http.StatusInternalServerError, "internal", "internal error")
				}
			}
			if !info.handedOff {
				status := rec.status
				if status == 0 {
					status = http.StatusOK
				}
				h.logRequest(r.Context(), snapshot(r, info), status, rec.bytes)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// requestLog is what the access log and the request metrics need of a
// request, kept apart from it so that a stream that outlives its handler
// (see handOff) holds no more of the request than this.
type requestLog struct {
	method, route string
	url           *url.URL
	userID        domain.UserID
	start         time.Time
}

func snapshot(r *http.Request, info *requestInfo) requestLog {
	return requestLog{
		method: r.Method,
		route:  routeOf(r),
		url:    r.URL,
		userID: info.userID,
		start:  info.start,
	}
}

// handOff tells instrument that the request's handler returns before its
// response ends (a stream that took its connection over): the stream
// logs and counts it when it ends, with logRequest and the returned
// snapshot.
func handOff(r *http.Request) requestLog {
	info := infoOf(r)
	if info == nil { // not behind instrument (a test of one route)
		return requestLog{method: r.Method, route: unmatchedRoute, url: r.URL, start: time.Now()}
	}
	info.handedOff = true
	return snapshot(r, info)
}

// logRequest observes the request's metrics and writes its access log
// line, ending now.
func (h *Handler) logRequest(ctx context.Context, l requestLog, status int, bytes int64) {
	elapsed := time.Since(l.start)
	h.metrics.observeRequest(l.method, l.route, status, elapsed)
	if !h.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	h.logger.LogAttrs(ctx, slog.LevelInfo, "http request",
		slog.String("method", l.method),
		slog.String("route", l.route),
		slog.String("url", redactedURL(l.url)),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes", bytes),
		slog.String("user_id", string(l.userID)),
	)
}

// redactedURL returns u's path and query with every access_token value
// replaced, so that no token reaches a log. A query that does not parse is
// dropped whole rather than risk logging a token in it.
func redactedURL(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.Path + "?[unparsable query]"
	}
	for k := range q {
		if strings.EqualFold(k, accessTokenParam) {
			q[k] = []string{"REDACTED"}
		}
	}
	return u.Path + "?" + q.Encode()
}

// responseRecorder notes the status and the size of a response. Unwrap lets
// http.ResponseController reach the real writer's Flush and deadlines.
//
// A response to a request whose body was not read to its end closes the
// connection. Otherwise net/http, before it writes the response, reads
// what is left of the body (up to 256 KiB) to keep the connection: a
// client that announced a body and never sends it would hold the
// connection, and never get its answer (a 401, a 404, …). With
// "Connection: close" the answer goes out at once; the read deadline is
// then expired too, because closing the body after the handler would
// still try to read the rest of it, holding the connection until the read
// timeout.
type responseRecorder struct {
	http.ResponseWriter
	body        *watchedBody // nil without a request body
	status      int
	bytes       int64
	wroteHeader bool
}

func (rr *responseRecorder) WriteHeader(status int) {
	if !rr.wroteHeader && status >= http.StatusOK {
		rr.status = status
		rr.wroteHeader = true
		if rr.body != nil && !rr.body.eof.Load() {
			rr.Header().Set("Connection", "close")
			_ = http.NewResponseController(rr.ResponseWriter).SetReadDeadline(time.Now())
		}
	}
	rr.ResponseWriter.WriteHeader(status)
}

func (rr *responseRecorder) Write(p []byte) (int, error) {
	if !rr.wroteHeader {
		rr.WriteHeader(http.StatusOK)
	}
	n, err := rr.ResponseWriter.Write(p)
	rr.bytes += int64(n)
	return n, err
}

func (rr *responseRecorder) Unwrap() http.ResponseWriter { return rr.ResponseWriter }

// watchedBody is a request body that knows whether it was read to its end.
type watchedBody struct {
	io.ReadCloser
	eof atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof.Store(true)
	}
	return n, err
}
