package domain

import "errors"

// Sentinel errors of the domain. Adapters wrap driver errors into them with
// %w and use cases add context; only the HTTP adapter maps them to status
// codes.
var (
	// ErrNotFound reports a missing entity, or one the caller may not see:
	// a non-member gets ErrNotFound, never ErrForbidden, so that the answer
	// does not reveal whether a conversation exists.
	ErrNotFound = errors.New("not found")
	// ErrForbidden reports a caller who is known but not allowed to act.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid reports input that breaks a rule of the domain.
	ErrInvalid = errors.New("invalid")
	// ErrConflict reports a state clash such as a unique key already taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable reports a dependency (store, notifier) that cannot be
	// reached right now; the request may succeed if retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrGroupFull reports a group that already has as many members as it
	// may: nobody more can join until someone leaves.
	ErrGroupFull = errors.New("group full")
)

// ValidationError is an ErrInvalid naming the offending field.
type ValidationError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalid) true for every ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a ValidationError for field.
func Invalid(field, reason string) error {
	return &ValidationError{Field: field, Reason: reason}
}
