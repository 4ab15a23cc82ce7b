package storage

import (
	"database/sql/driver"
	"errors"
	"fmt"
)

// MaxSize bounds the database of one object, as Cloudflare bounds a
// SQLite-backed Durable Object (10 GB). A write past it fails with
// SQLITE_FULL ("database or disk is full"), a critical error (see
// Critical).
const MaxSize = 10_000_000_000

// SetMaxPageCount bounds the database to n pages (PRAGMA max_page_count)
// for the rest of this DB's life, like workerd's sql.setMaxPageCountForTest:
// tests use it to reach SQLITE_FULL without writing gigabytes. A DB opened
// again (after a reset) has the default bound, MaxSize.
func (db *DB) SetMaxPageCount(n int64) error {
	if err := db.usable(); err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("storage: max page count must be positive, not %d", n)
	}
	db.maxPages = n
	if db.conn == nil {
		return nil // applied when the file is opened
	}
	return db.applyMaxPages()
}

// applyMaxPages sets max_page_count on the file's connection: the bound
// set by SetMaxPageCount, else MaxSize in pages of SQLite's default size,
// which the files have (user SQL cannot change page_size).
func (db *DB) applyMaxPages() error {
	n := db.maxPages
	if n == 0 {
		n = MaxSize / defaultPageSize
	}
	// The PRAGMA answers a row: read it, so the statement is reset.
	err := db.queryInternal(fmt.Sprintf("PRAGMA max_page_count = %d", n), nil, func([]driver.Value) {})
	return toError(err)
}

// defaultPageSize is SQLite's default page size (SQLITE_DEFAULT_PAGE_SIZE).
const defaultPageSize = 4096

// Critical reports whether err is a storage error after which workerd
// resets the object: the database is full, or it cannot be read or written
// (I/O error, corruption, out of memory). The writes of the turn are lost.
func Critical(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case 7, 10, 11, 13, 26: // SQLITE_NOMEM, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB
		return true
	}
	return false
}

// CodeName returns SQLite's name for the primary result code of err
// ("SQLITE_FULL"), or "" if err carries none.
func CodeName(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Code == 0 {
		return ""
	}
	names := map[int]string{1: "SQLITE_ERROR", 7: "SQLITE_NOMEM", 10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT",
		13: "SQLITE_FULL", 19: "SQLITE_CONSTRAINT", 23: "SQLITE_AUTH", 26: "SQLITE_NOTADB"}
	if n, ok := names[e.Code&0xff]; ok {
		return n
	}
	return fmt.Sprintf("SQLITE_%d", e.Code)
}

// ErrorCode returns SQLite's result code carried by err, or 0.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
