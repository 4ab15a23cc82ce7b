package r2

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by the operations of a Bucket after Close.
var ErrClosed = errors.New("r2: bucket is closed")

// ErrBucketName is returned by Path for a bucket name that cannot name a
// file.
var ErrBucketName = errors.New("r2: invalid bucket name")

// Error is bad input to an R2 operation, as Cloudflare answers it: Status
// is the HTTP status, Code R2's error code (the "v4 code" the Workers
// runtime shows in parentheses) and Message its text.
type Error struct {
	Status  int
	Code    int
	Message string
}

// Error returns "<Message> (<Code>)", as the Workers runtime shows it after
// the operation's name.
func (e *Error) Error() string { return fmt.Sprintf("%s (%d)", e.Message, e.Code) }

// HTTPStatus returns e.Status.
func (e *Error) HTTPStatus() int { return e.Status }

// The errors of R2, with the codes and messages Cloudflare's runtime uses.
// Compare with errors.Is, which matches on Code.
var (
	ErrNoSuchKey          = &Error{404, 10007, "The specified key does not exist."}
	ErrEntityTooLarge     = &Error{400, 100100, "Your proposed upload exceeds the maximum allowed object size."}
	ErrEntityTooSmall     = &Error{400, 10011, "Your proposed upload is smaller than the minimum allowed object size."}
	ErrMetadataTooLarge   = &Error{400, 10012, "Your metadata headers exceed the maximum allowed metadata size."}
	ErrInvalidObjectName  = &Error{400, 10020, "The specified object name is not valid."}
	ErrInvalidMaxKeys     = &Error{400, 10022, "MaxKeys params must be positive integer <= 1000."}
	ErrNoSuchUpload       = &Error{400, 10024, "The specified multipart upload does not exist."}
	ErrInvalidPart        = &Error{400, 10025, "One or more of the specified parts could not be found."}
	ErrInvalidArgument    = &Error{400, 10029, "Invalid argument."}
	ErrPreconditionFailed = &Error{412, 10031, "At least one of the pre-conditions you specified did not hold."}
	ErrInvalidRange       = &Error{416, 10039, "The requested range is not satisfiable"}
)

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// badDigest is the error of a put whose body does not match a checksum
// given for it.
func badDigest(algorithm, provided, actual string) *Error {
	return &Error{400, 10037, fmt.Sprintf("The %s checksum you specified did not match what we received.\nYou provided a %s checksum with value: %s\nActual %s was: %s",
		algorithm, algorithm, provided, algorithm, actual)}
}
