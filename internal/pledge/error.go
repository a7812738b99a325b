// Package pledge holds the domain of reader support: frequencies, money, the amount catalogue,
// checkouts, supporters, donations, subscriptions and deferrals, and the interfaces the adapters
// implement. It imports no other package of this module.
package pledge

import (
	"errors"
	"fmt"
)

// Error codes, one per kind of failure a caller may want to tell apart.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ERATELIMIT    = "rate_limited"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is the one error type the domain returns. Message is safe to show to the person who
// caused it; Field, when set, names the form field at fault.
type Error struct {
	Code    string
	Message string
	Field   string
	// Key names the message in the reader-facing catalogues (internal/locale), which write it in
	// the reader's language with Args (name, value pairs: strings, Money, Frequency, ints);
	// Message is the English the logs, the CLI and clients of the JSON API read.
	Key  string
	Args []any
	// Err is the underlying cause, for the logs (never shown): the store's lost connection
	// behind an EUNAVAILABLE, say.
	Err error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Keyed sets the catalogue key and arguments of e and returns it.
func (e *Error) Keyed(key string, args ...any) *Error {
	e.Key, e.Args = key, args
	return e
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("pledge error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("pledge error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one form field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain; for any other error
// it returns a generic text, so internal details never reach a reader.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// ErrorField returns the form field named by the first *Error in err's chain, or "".
func ErrorField(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Field
	}
	return ""
}

// ErrorKey returns the catalogue key of an *Error, or "".
func ErrorKey(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Key
	}
	return ""
}
