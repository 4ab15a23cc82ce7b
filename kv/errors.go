package kv

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by the operations of a Namespace after Close.
var ErrClosed = errors.New("kv: namespace is closed")

// ErrNamespaceID is returned by Path for a namespace id that cannot name a
// file: empty, "." or "..", or with characters other than letters, digits,
// '-', '_' and '.'.
var ErrNamespaceID = errors.New("kv: invalid namespace id")

// Error is bad input to a KV operation, answered as Cloudflare answers it:
// Status is the HTTP status Cloudflare's KV service gives (400, 413 or
// 414) and Message its text, e.g. "Metadata length of 1030 exceeds limit of
// 1024.". The Workers runtime shows it as "KV PUT failed: 413 Metadata
// length of …", the op being GET, GET_BULK, PUT or DELETE (list: GET).
type Error struct {
	Status  int
	Message string
}

// Error returns e.Message.
func (e *Error) Error() string { return e.Message }

// HTTPStatus returns e.Status; the JS binding and the admin API use it to
// tell bad input from internal failures without importing this package.
func (e *Error) HTTPStatus() int { return e.Status }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: 400, Message: fmt.Sprintf(format, args...)}
}
