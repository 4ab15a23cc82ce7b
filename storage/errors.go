package storage

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// Error is an error from SQLite or from this package's SQL rules. Error() is exactly the
// message a user should see, so the JS layer can show it verbatim (e.g. `near "INSER":
// syntax error`, `no such table: t`, `UNIQUE constraint failed: t.a`).
type Error struct {
	Msg string
	// Code is SQLite's primary result code (19 SQLITE_CONSTRAINT, 13 SQLITE_FULL, 23
	// SQLITE_AUTH, …), or 0 for errors raised by this package itself.
	Code int
}

func (e *Error) Error() string { return e.Msg }

// Sentinel errors. Compare with errors.Is (they are returned as is, never wrapped).
var (
	// ErrNoStatement is returned by Exec when the SQL, or what follows its last statement,
	// holds no statement: "", ";", only comments, "SELECT 1;;" or "SELECT 1; -- c". As in
	// workerd, the statements before the empty tail have already run.
	ErrNoStatement = &Error{Msg: "SQL code did not contain a statement."}

	// ErrBindings is returned by Exec when the number of arguments differs from the number
	// of parameters of the last statement.
	ErrBindings = &Error{Msg: "Wrong number of parameter bindings for SQL query."}

	// ErrMultiParams is returned by Exec when a statement other than the last one has
	// parameters. Statements before the offending one have already run.
	ErrMultiParams = &Error{Msg: "When executing multiple SQL statements in a single call, only the last statement can have parameters."}

	// ErrTransaction is returned by Exec for BEGIN, COMMIT, ROLLBACK, END, SAVEPOINT and
	// RELEASE: transactions belong to the runtime (the implicit transaction, Commit,
	// Rollback), never to user SQL.
	ErrTransaction = &Error{Msg: "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements. The JavaScript API is safer because it will automatically roll back on exceptions, and because it interacts correctly with Durable Objects' automatic atomic write coalescing."}

	// ErrClosed is returned by every method of a DB after Close.
	ErrClosed = errors.New("storage: database is closed")
)

// toError turns a driver error into an *Error carrying SQLite's message; other errors
// (file system, unsupported argument types) are returned unchanged.
func toError(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return &Error{Msg: se.Error(), Code: int(se.Code)}
	}
	return err
}
