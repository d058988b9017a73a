package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"unicode/utf8"
)

// decodeJSON reads r's body, at most maxBytes of it, into dst strictly:
// exactly one JSON value, no unknown fields, every value of the right type.
//
// Everything the decoder rejects is 400 invalid_json (the body is not the
// JSON document this endpoint takes); a well-formed body whose content
// breaks a rule — a required field missing or null, over-long content — is
// validation_failed, reported by the handler or the domain. A body over
// the limit is 413 body_too_large.
//
// A body that is not UTF-8 is invalid_json too (RFC 8259 requires UTF-8):
// encoding/json would silently turn the bad bytes into U+FFFD, so the raw
// bytes are checked before they are decoded.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		return decodeError(err)
	}
	if !utf8.Valid(raw) {
		return badRequest(codeInvalidJSON, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Anything after the one value, even a second valid value, makes the
	// body something other than what the endpoint takes.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			if tooLarge := decodeError(err); isStatus(tooLarge, http.StatusRequestEntityTooLarge) {
				return tooLarge
			}
		}
		return badRequest(codeInvalidJSON, "the body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read timeout passed before the body was complete.
		return &apiError{status: http.StatusRequestTimeout, code: codeRequestTimeout, message: "the body did not arrive in time"}
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge, message: "the body is larger than the limit"}
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			return badRequest(codeInvalidJSON, fmt.Sprintf("the body must be a JSON object, not %s", te.Value))
		}
		return badRequest(codeInvalidJSON, fmt.Sprintf("%s: must be %s, not %s", field, jsonType(te.Type), te.Value))
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return badRequest(codeInvalidJSON, "the body is not valid JSON")
	}
	if errors.Is(err, io.EOF) {
		return badRequest(codeInvalidJSON, "the body is empty; a JSON object is required")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest(codeInvalidJSON, "the body is truncated JSON")
	}
	// encoding/json has no exported error for an unknown field; its text is
	// `json: unknown field "name"`, which names only what the client sent.
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(codeInvalidJSON, "unknown field "+msg)
	}
	return badRequest(codeInvalidJSON, "the body could not be read as JSON")
}

// jsonType names a Go type of a request struct as JSON calls it.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

func isStatus(err error, status int) bool {
	ae, ok := errors.AsType[*apiError](err)
	return ok && ae.status == status
}

// required reports a field that must be present and not null.
func required(field string) error {
	return badRequest(codeValidation, field+": is required")
}
