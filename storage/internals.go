package storage

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// go-sqlite3 hides four things this package needs, so we reach into its structs. The
// offsets are checked once at start-up: a go-sqlite3 upgrade that renames or retypes a
// field panics here with a clear message (and the tests fail) instead of misbehaving.
//
//   - SQLiteConn.db: the sqlite3 handle, to install our own authorizer (authorizer.go).
//   - SQLiteStmt.s: the sqlite3_stmt handle, nil when the SQL held no statement (only
//     whitespace or comments) — the case behind "SQL code did not contain a statement.".
//   - SQLiteStmt.t: the unparsed tail after the prepared statement (whitespace-trimmed),
//     which is how SQLite itself splits "a; b; c". Splitting with SQLite's own parser is
//     exact where a home-made tokenizer would have to mirror quotes, comments and
//     CREATE TRIGGER … BEGIN … END bodies.
//   - SQLiteRows.decltype: go-sqlite3 converts columns declared DATE, DATETIME, TIMESTAMP
//     or BOOLEAN into time.Time / bool, which loses data (a TEXT 'hello' in a DATE column
//     becomes the zero time, 5 in a BOOLEAN column becomes true). Pre-filling the slice
//     with empty declared types makes it hand back SQLite's own values.
var (
	connHandleOff = fieldOffset(reflect.TypeFor[sqlite3.SQLiteConn](), "db", reflect.Pointer)
	stmtHandleOff = fieldOffset(reflect.TypeFor[sqlite3.SQLiteStmt](), "s", reflect.Pointer)
	stmtTailOff   = fieldOffset(reflect.TypeFor[sqlite3.SQLiteStmt](), "t", reflect.String)
	rowsDeclOff   = fieldOffset(reflect.TypeFor[sqlite3.SQLiteRows](), "decltype", reflect.Slice)
)

func fieldOffset(t reflect.Type, name string, kind reflect.Kind) uintptr {
	f, ok := t.FieldByName(name)
	if !ok || f.Type.Kind() != kind || (kind == reflect.Slice && f.Type.Elem().Kind() != reflect.String) {
		panic(fmt.Sprintf("storage: github.com/mattn/go-sqlite3 changed: field %s.%s (%s) is gone; update storage/internals.go", t, name, kind))
	}
	return f.Offset
}

// connHandle returns the sqlite3* of a connection (for the authorizer; see
// authorizer.go).
func connHandle(c *sqlite3.SQLiteConn) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(c), connHandleOff))
}

// stmtEmpty reports whether the prepared SQL held no statement.
func stmtEmpty(st *sqlite3.SQLiteStmt) bool {
	return *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(st), stmtHandleOff)) == nil
}

// stmtTail returns the SQL after the prepared statement, "" if it was the last one.
func stmtTail(st *sqlite3.SQLiteStmt) string {
	return *(*string)(unsafe.Add(unsafe.Pointer(st), stmtTailOff))
}

// rawColumns makes rows return SQLite's values without declared-type conversion. Call it
// before the first Next, with the number of columns.
func rawColumns(rows *sqlite3.SQLiteRows, n int) {
	*(*[]string)(unsafe.Add(unsafe.Pointer(rows), rowsDeclOff)) = make([]string, n)
}
