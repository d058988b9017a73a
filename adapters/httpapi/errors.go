package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/relaymsg/relay/domain"
)

// Error codes of the API's error body that do not come from a domain error.
const (
	codeInvalidJSON    = "invalid_json"
	codeValidation     = "validation_failed"
	codeBodyTooLarge   = "body_too_large"
	codeRequestTimeout = "request_timeout"
	codeUnauthorized   = "unauthorized"
	codeNotFound       = "not_found"
	codeMethod         = "method_not_allowed"
	codeInvalidCursor  = "invalid_cursor"
	codeNotReady       = "not_ready"
)

// apiError is an error that already knows its answer. Handlers return it for
// failures found by the transport itself (bad JSON, a bad query parameter);
// its message must be safe to show to the client.
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter, when positive, is sent as Retry-After (whole seconds).
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(code, message string) error {
	return &apiError{status: http.StatusBadRequest, code: code, message: message}
}

// notFoundMessage is the one body text of every 404 about a conversation:
// a missing conversation and one the caller may not see must read the same.
const notFoundMessage = "conversation not found"

// errorTable is THE mapping of domain errors to the API's answers, tried in
// order with errors.Is. The messages are fixed text: a wrapped domain error
// carries internal detail (channel ids, driver messages) that a client must
// not see. ErrInvalid is the exception; see respondError.
var errorTable = []struct {
	target  error
	status  int
	code    string
	message string
}{
	{domain.ErrInvalid, http.StatusBadRequest, codeValidation, "the request is invalid"},
	{domain.ErrNotFound, http.StatusNotFound, codeNotFound, notFoundMessage},
	{domain.ErrForbidden, http.StatusForbidden, "forbidden", "the caller is not allowed to do this"},
	{domain.ErrGroupFull, http.StatusConflict, "group_full", "the group has as many members as it may have; remove one first"},
	{domain.ErrConflict, http.StatusConflict, "conflict", "the request conflicts with existing data (a clientMessageId reused for a different message?)"},
	{domain.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "the service is temporarily unavailable; retry later"},
	// A deadline that passed inside a use case is a dependency too slow to
	// answer: as transient as one that cannot be reached.
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "unavailable", "the service is temporarily unavailable; retry later"},
}

// respondError answers err with the API's error body. It is where errors of
// the handlers are handled, so it is also where they are logged, once.
func (h *Handler) respondError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, message := classify(err)
	if ae, ok := errors.AsType[*apiError](err); ok && ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(ae.retryAfter)))
	}
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		// The client went away; whatever failed, nobody reads the answer.
		h.logger.DebugContext(r.Context(), "request abandoned by client", requestAttrs(r, "error", err)...)
	case status == http.StatusTooManyRequests:
		// A refusal by a limit is counted in relay_limited_total; a line
		// per refused request would let one abuser flood the log.
		h.logger.DebugContext(r.Context(), "request limited", requestAttrs(r, "error", err)...)
	case status >= 500:
		level := slog.LevelError
		if status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		h.logger.Log(r.Context(), level, "request failed", requestAttrs(r, "status", status, "error", err)...)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="relay"`)
	}
	writeErrorBody(w, status, code, message)
}

// classify returns the answer to err: its apiError, the first errorTable
// row it matches, or a generic 500.
func classify(err error) (status int, code, message string) {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae.status, ae.code, ae.message
	}
	for _, row := range errorTable {
		if !errors.Is(err, row.target) {
			continue
		}
		message = row.message
		if row.target == domain.ErrInvalid {
			// A ValidationError names a field and a rule the client broke;
			// it is written for the client and holds nothing internal.
			if ve, ok := errors.AsType[*domain.ValidationError](err); ok {
				message = ve.Error()
			}
		}
		return row.status, row.code, message
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// errorBody is the API's error body.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeErrorBody(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// requestAttrs returns the attributes that place a log line: the method
// and the route template (never the raw URL, which may hold a token).
func requestAttrs(r *http.Request, extra ...any) []any {
	attrs := []any{"method", r.Method, "route", routeOf(r)}
	return append(attrs, extra...)
}
