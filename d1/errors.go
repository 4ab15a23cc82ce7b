package d1

import (
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
)

// Error kinds: the constant prefix of every D1 error message, as the Worker
// binding shows it (spec 7.4).
const (
	KindError   = "D1_ERROR"
	KindExec    = "D1_EXEC_ERROR"
	KindSession = "D1_SESSION_ERROR"
	KindDump    = "D1_DUMP_ERROR"
)

// Error is an error a D1 client should see: a SQLite error, a rule of D1's
// (bindings, transactions, reserved tables), an invalid bookmark. Msg is the
// text without the kind prefix ("near \"SELEC\": syntax error: SQLITE_ERROR");
// Error() gives "D1_ERROR: " + Msg, the message the binding throws.
type Error struct {
	Kind string // KindError, KindExec, KindSession or KindDump
	Msg  string
	// Code is SQLite's primary result code (1 SQLITE_ERROR, 19
	// SQLITE_CONSTRAINT, …), or 0 for errors of D1's own rules.
	Code int
}

func (e *Error) Error() string { return e.Kind + ": " + e.Msg }

// Sentinel errors. They are *Error values, returned as is (compare with
// errors.Is).
var (
	// ErrNoStatement is returned for SQL holding no statement: "", ";", only
	// comments.
	ErrNoStatement = &Error{Kind: KindError, Msg: "SQL code did not contain a statement."}

	// ErrBindings is returned when the parameters given do not match the
	// statement's placeholders.
	ErrBindings = &Error{Kind: KindError, Msg: "Wrong number of parameter bindings for SQL query."}

	// ErrBookmark is returned for a session constraint or bookmark that is
	// neither "first-primary", "first-unconstrained" nor a bookmark of this
	// database.
	ErrBookmark = &Error{Kind: KindSession, Msg: "invalid bookmark or constraint"}

	// ErrClosed is returned by every method of a DB after Close, and by a
	// Manager after Close.
	ErrClosed = errors.New("d1: database is closed")

	// ErrNotFound is returned by Manager methods for an unknown database.
	ErrNotFound = errors.New("d1: database not found")

	// ErrExists is returned by Manager.Create for a name already in use.
	ErrExists = errors.New("d1: a database with this name already exists")
)

// codeNames are SQLite's primary result codes by number, the suffix D1 puts
// on SQLite's messages.
var codeNames = map[int]string{
	1: "SQLITE_ERROR", 2: "SQLITE_INTERNAL", 3: "SQLITE_PERM", 4: "SQLITE_ABORT",
	5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY",
	9: "SQLITE_INTERRUPT", 10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 12: "SQLITE_NOTFOUND",
	13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN", 15: "SQLITE_PROTOCOL", 16: "SQLITE_EMPTY",
	17: "SQLITE_SCHEMA", 18: "SQLITE_TOOBIG", 19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH",
	21: "SQLITE_MISUSE", 22: "SQLITE_NOLFS", 23: "SQLITE_AUTH", 24: "SQLITE_FORMAT",
	25: "SQLITE_RANGE", 26: "SQLITE_NOTADB",
}

// sqlError converts a driver error to an *Error with SQLite's message and
// result code name ("UNIQUE constraint failed: t.a: SQLITE_CONSTRAINT").
// *Error values pass through; other errors (file system) are wrapped as
// D1_ERROR with their text.
func sqlError(err error) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		code := int(se.Code)
		msg := se.Error()
		name := codeNames[code]
		if name == "" {
			name = fmt.Sprintf("SQLITE_%d", code)
		}
		return &Error{Kind: KindError, Msg: msg + ": " + name, Code: code}
	}
	return &Error{Kind: KindError, Msg: err.Error()}
}

// ExecError is returned by DB.Exec: line Line (1-based) of the input, whose
// text is Text, failed with Err.
type ExecError struct {
	Line int
	Text string
	Err  *Error
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("%s: Error in line %d: %s: %s", KindExec, e.Line, e.Text, e.Err.Msg)
}

// Unwrap returns the statement's error.
func (e *ExecError) Unwrap() error { return e.Err }

// BatchError is returned by DB.Batch when one statement failed: the batch
// was rolled back. Index is the failing statement's position.
type BatchError struct {
	Index int
	Err   *Error
}

func (e *BatchError) Error() string { return e.Err.Error() }

// Unwrap returns the statement's error.
func (e *BatchError) Unwrap() error { return e.Err }
