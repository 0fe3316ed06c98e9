package incident

import (
	"errors"
	"fmt"
)

// Error codes. Each transport maps them to its own answers in one place.
const (
	EInvalid   = "invalid"   // the input is wrong: the user can fix it
	ENotFound  = "not_found" // the incident or thing does not exist
	EConflict  = "conflict"  // the request clashes with the incident's state
	EForbidden = "forbidden" // the actor may not do this
	EConfirm   = "confirm"   // it cannot be undone: the actor must confirm it first
	EInternal  = "internal"  // a bug or an outage: not the user's fault
)

// Error is a domain error. Message is written for a tired human and is
// shown to them as is; it should say what went wrong and what to type.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error, or EInternal for any other.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of a domain error, or a generic text for
// any other error: internal details never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}

// NoIncident is the answer for an incident that does not exist, and for a
// private one to someone outside it: the two must read the same, or the
// answer would tell which incidents are private.
func NoIncident(n int64) *Error {
	return Errorf(ENotFound, "%s does not exist. See open incidents: `/incident list`.", Ref(n))
}

// NoAction is NoIncident for action items.
func NoAction(id int64) *Error {
	return Errorf(ENotFound, "There is no action item %s. See the list: `/incident action list`.", ActionRef(id))
}
