package d1

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/sqllimit"
)

// conn is one SQLite connection to a database file with D1's rules installed
// (limits, the authorizer) and a cache of prepared statements. A conn is
// used by one goroutine at a time.
type conn struct {
	c       *sqlite3.SQLiteConn
	stmts   map[string]*sqlite3.SQLiteStmt // user statements (single-statement SQL)
	own     map[string]*sqlite3.SQLiteStmt // this package's statements
	trusted bool                           // running our own SQL: the authorizer allows everything
	pc      prepContext                    // what the authorizer saw preparing the last user statement
	ctxs    map[*sqlite3.SQLiteStmt]prepContext

	indexes   map[string]int64 // table → number of its indexes, for rows_written; cleared by DDL
	lastRowID int64            // last_insert_rowid after the latest write statement
	pragmaSet bool             // a statement since the last reset set a connection PRAGMA
}

// maxCachedStmts bounds each connection's statement cache; past it the
// cache is emptied (workloads repeat a few statements, or none).
const maxCachedStmts = 256

// Run-time limits (spec 7.9): 2,000,000-byte strings/BLOBs/rows, 100,000-byte
// statements, 100 columns, 100 bound parameters, 50-byte LIKE patterns, no
// ATTACH.
var limits = []struct{ id, val int }{
	{sqlite3.SQLITE_LIMIT_LENGTH, 2_000_000},
	{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000},
	{sqlite3.SQLITE_LIMIT_COLUMN, 100},
	{sqlite3.SQLITE_LIMIT_FUNCTION_ARG, 32},
	{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
	{sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50},
	{sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100},
	{sqlite3.SQLITE_LIMIT_WORKER_THREADS, 0},
}

// openConn opens path. The writer connection sets WAL and synchronous=FULL
// (every commit is fsynced before it is acknowledged), or NORMAL when
// groupCommit is set (a commit.Log syncs the WAL, and DB checkpoints it
// itself), and keeps the WAL file
// under 64 MB after checkpoints (a big import would leave it huge); readers
// are query_only.
func openConn(path string, writer, groupCommit bool) (*conn, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_busy_timeout=10000"
	dc, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c := &conn{c: dc.(*sqlite3.SQLiteConn), stmts: map[string]*sqlite3.SQLiteStmt{}, own: map[string]*sqlite3.SQLiteStmt{}, ctxs: map[*sqlite3.SQLiteStmt]prepContext{}, indexes: map[string]int64{}}
	pragmas := "PRAGMA foreign_keys=ON; PRAGMA query_only=ON"
	if writer {
		sync := "FULL"
		if groupCommit {
			sync = "NORMAL"
		}
		pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + sync + "; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864"
		if groupCommit {
			// The database checkpoints itself, to see the errors (commit.Shared).
			pragmas += "; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=" + strconv.Itoa(commit.WALSizeLimit)
		}
	}
	if _, err := c.c.Exec(pragmas, nil); err != nil {
		c.c.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, l := range limits {
		c.c.SetLimit(l.id, l.val)
	}
	c.c.RegisterAuthorizer(c.authorize)
	return c, nil
}

func (c *conn) close() error {
	for _, m := range []map[string]*sqlite3.SQLiteStmt{c.stmts, c.own} {
		for k, st := range m {
			st.Close()
			delete(m, k)
		}
	}
	return c.c.Close()
}

// prepare prepares the first statement of query under the authorizer. It
// returns the statement, whether it is cached (do not Close it), and the
// rest of query. A query holding no statement gives ErrNoStatement.
func (c *conn) prepare(query string) (st *sqlite3.SQLiteStmt, cached bool, tail string, err error) {
	return c.prepareCache(query, true)
}

// prepareCache is prepare, caching the statement only if cache is set.
func (c *conn) prepareCache(query string, cache bool) (st *sqlite3.SQLiteStmt, cached bool, tail string, err error) {
	if st := c.stmts[query]; st != nil {
		c.pc = c.ctxs[st]
		return st, true, "", nil
	}
	c.pc = prepContext{}
	ds, err := c.c.Prepare(query)
	if err != nil && c.pc.err == nil && isSyntaxError(err) {
		// DELETE/UPDATE … LIMIT, which this SQLite's parser lacks.
		if rq, ok := sqllimit.Rewrite(query); ok {
			c.pc = prepContext{}
			if rds, rerr := c.c.Prepare(rq); rerr == nil {
				ds, err = rds, nil
			} else if !isSyntaxError(rerr) {
				err = rerr // e.g. no such column: rowid (a WITHOUT ROWID table)
			}
		}
	}
	if err != nil {
		if c.pc.err != nil {
			return nil, false, "", c.pc.err
		}
		return nil, false, "", sqlError(err)
	}
	st = ds.(*sqlite3.SQLiteStmt)
	if stmtEmpty(st) {
		st.Close()
		return nil, false, "", ErrNoStatement
	}
	tail = stmtTail(st)
	if tail != "" || c.pc.pragmaSet || !cache {
		return st, false, tail, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		for k, s := range c.stmts {
			s.Close()
			delete(c.stmts, k)
		}
		clear(c.ctxs)
	}
	c.stmts[query] = st
	c.ctxs[st] = c.pc
	return st, true, "", nil
}

// isSyntaxError reports whether err is SQLite's parse error.
func isSyntaxError(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrError && strings.Contains(se.Error(), "syntax error")
}

// exec runs one of this package's statements (authorizer bypassed).
func (c *conn) exec(query string, args ...driver.Value) error {
	st, err := c.ownStmt(query)
	if err != nil {
		return err
	}
	c.trusted = true
	_, err = st.Exec(args)
	c.trusted = false
	return err
}

// query runs one of this package's queries and calls fn for each row (the
// slice is reused).
func (c *conn) query(query string, args []driver.Value, fn func([]driver.Value) error) error {
	st, err := c.ownStmt(query)
	if err != nil {
		return err
	}
	c.trusted = true // a query's authorizer also runs when SQLite re-prepares it
	dr, err := st.Query(args)
	c.trusted = false
	if err != nil {
		return err
	}
	rows := dr.(*sqlite3.SQLiteRows)
	defer rows.Close()
	n := len(rows.Columns())
	rawColumns(rows, n)
	row := make([]driver.Value, n)
	for {
		if err := rows.Next(row); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

// queryInt returns the single integer query yields.
func (c *conn) queryInt(query string, args ...driver.Value) (int64, error) {
	var n int64
	err := c.query(query, args, func(r []driver.Value) error {
		n, _ = r[0].(int64)
		return nil
	})
	return n, err
}

func (c *conn) ownStmt(query string) (*sqlite3.SQLiteStmt, error) {
	if st := c.own[query]; st != nil {
		return st, nil
	}
	c.trusted = true
	ds, err := c.c.Prepare(query)
	c.trusted = false
	if err != nil {
		return nil, err
	}
	st := ds.(*sqlite3.SQLiteStmt)
	c.own[query] = st
	return st, nil
}

// execScript runs several of this package's statements (not cached).
func (c *conn) execScript(script string) error {
	c.trusted = true
	defer func() { c.trusted = false }()
	_, err := c.c.Exec(script, nil)
	return err
}

// --- the authorizer ---

// prepContext collects what the authorizer learned preparing one statement.
type prepContext struct {
	err       error    // a tailored error to report instead of "not authorized"
	pragmaSet bool     // a PRAGMA that sets a value: runs on the writer
	dml       bool     // INSERT, UPDATE or DELETE of a user table
	op        int      // the first of those: sqlite3.SQLITE_INSERT, _UPDATE or _DELETE
	target    string   // the first table it writes
	setCols   []string // an UPDATE's columns set in target
	ddl       bool     // changes the schema
	ddlOp     int      // the first schema change: sqlite3.SQLITE_CREATE_TABLE, …
	ddlTable  string   // the table of a CREATE INDEX
}

// reserved reports whether name is one of the hidden tables (_cf_KV,
// _cf_METADATA, …), which user SQL may not touch.
func reserved(name string) bool {
	return len(name) >= 4 && strings.EqualFold(name[:4], "_cf_")
}

// allowedPragmas are the PRAGMAs D1 documents (spec 7.10) plus read-only
// introspection that tools (wrangler, drizzle-kit) use.
var allowedPragmas = map[string]bool{
	"table_list": true, "table_info": true, "table_xinfo": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "quick_check": true, "foreign_key_check": true,
	"foreign_key_list": true, "case_sensitive_like": true, "ignore_check_constraints": true,
	"legacy_alter_table": true, "recursive_triggers": true, "reverse_unordered_selects": true,
	"foreign_keys": true, "defer_foreign_keys": true, "optimize": true,
	"page_size": true, "page_count": true, "freelist_count": true, "data_version": true,
}

// deniedFunctions would reveal or change the host (extensions, build
// details).
var deniedFunctions = map[string]bool{
	"load_extension": true, "sqlite_compileoption_get": true, "sqlite_compileoption_used": true,
	"sqlite_offset": true,
}

var allowedModules = map[string]bool{"fts5": true, "fts5vocab": true, "rtree": true, "rtree_i32": true}

// schemaChange notes a schema change by op (on table, for indexes and
// triggers).
func (pc *prepContext) schemaChange(op int, table string) {
	if !pc.ddl {
		pc.ddl, pc.ddlOp, pc.ddlTable = true, op, table
	}
}

func (c *conn) authorize(op int, arg1, arg2, dbName string) int {
	if c.trusted || c.pc.allow(op, arg1, arg2, dbName) {
		return sqlite3.SQLITE_OK
	}
	return sqlite3.SQLITE_DENY
}

func (pc *prepContext) allow(op int, arg1, arg2, dbName string) bool {
	if op == sqlite3.SQLITE_ALTER_TABLE || op == sqlite3.SQLITE_DETACH {
		dbName, arg1 = arg1, arg2
	}
	switch dbName {
	case "", "main":
	case "temp": // temporary objects would outlive the query on a pooled connection
		return op == sqlite3.SQLITE_READ || op == sqlite3.SQLITE_SELECT
	default:
		return false
	}
	switch op {
	case sqlite3.SQLITE_SELECT, sqlite3.SQLITE_ANALYZE, 33 /* SQLITE_RECURSIVE */ :
		return true
	case sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE:
		if !strings.HasPrefix(strings.ToLower(arg1), "sqlite_") {
			pc.dml = true
			if pc.target == "" {
				pc.target, pc.op = arg1, op
			}
			if op == sqlite3.SQLITE_UPDATE && arg1 == pc.target {
				pc.setCols = append(pc.setCols, arg2)
			}
		}
		return !reserved(arg1)
	case sqlite3.SQLITE_READ:
		return !reserved(arg1)
	case sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_CREATE_VIEW,
		sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ALTER_TABLE:
		pc.schemaChange(op, "")
		return !reserved(arg1)
	case sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_CREATE_TRIGGER,
		sqlite3.SQLITE_DROP_TRIGGER:
		pc.schemaChange(op, arg2)
		return !reserved(arg1) && !reserved(arg2)
	case sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE:
		pc.schemaChange(op, "")
		return allowedModules[strings.ToLower(arg2)] && !reserved(arg1)
	case sqlite3.SQLITE_TRANSACTION:
		// Every query already runs in a transaction of its own (spec 7.1).
		switch strings.ToUpper(arg1) {
		case "BEGIN":
			pc.err = &Error{Kind: KindError, Msg: "cannot start a transaction within a transaction: SQLITE_ERROR", Code: 1}
		case "COMMIT":
			pc.err = &Error{Kind: KindError, Msg: "cannot commit - no transaction is active: SQLITE_ERROR", Code: 1}
		default:
			pc.err = &Error{Kind: KindError, Msg: "cannot rollback - no transaction is active: SQLITE_ERROR", Code: 1}
		}
		return false
	case sqlite3.SQLITE_PRAGMA:
		if !allowedPragmas[strings.ToLower(arg1)] {
			return false
		}
		if arg2 != "" && strings.Contains("foreign_keys defer_foreign_keys case_sensitive_like ignore_check_constraints legacy_alter_table recursive_triggers reverse_unordered_selects", strings.ToLower(arg1)) {
			pc.pragmaSet = true
		}
		return true
	case sqlite3.SQLITE_FUNCTION:
		return !deniedFunctions[strings.ToLower(arg2)]
	}
	// ATTACH, DETACH, SAVEPOINT and anything unknown.
	return false
}

// --- go-sqlite3 internals ---

// go-sqlite3 hides three things this package needs, so we read its structs
// (offsets checked at start-up; a go-sqlite3 upgrade that renames a field
// panics here with a clear message instead of misbehaving):
//   - SQLiteStmt.s: the sqlite3_stmt handle, nil when the SQL held no
//     statement;
//   - SQLiteStmt.t: the SQL after the prepared statement, which is how
//     SQLite itself splits "a; b";
//   - SQLiteRows.decltype: pre-filled with empty types so that columns
//     declared DATE or BOOLEAN come back as SQLite stored them.
var (
	stmtHandleOff = fieldOffset(reflect.TypeFor[sqlite3.SQLiteStmt](), "s", reflect.Pointer)
	stmtTailOff   = fieldOffset(reflect.TypeFor[sqlite3.SQLiteStmt](), "t", reflect.String)
	rowsDeclOff   = fieldOffset(reflect.TypeFor[sqlite3.SQLiteRows](), "decltype", reflect.Slice)
)

func fieldOffset(t reflect.Type, name string, kind reflect.Kind) uintptr {
	f, ok := t.FieldByName(name)
	if !ok || f.Type.Kind() != kind {
		panic(fmt.Sprintf("d1: github.com/mattn/go-sqlite3 changed: field %s.%s (%s) is gone; update d1/sqlite.go", t, name, kind))
	}
	return f.Offset
}

func stmtEmpty(st *sqlite3.SQLiteStmt) bool {
	return *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(st), stmtHandleOff)) == nil
}

func stmtTail(st *sqlite3.SQLiteStmt) string {
	return *(*string)(unsafe.Add(unsafe.Pointer(st), stmtTailOff))
}

func rawColumns(rows *sqlite3.SQLiteRows, n int) {
	*(*[]string)(unsafe.Add(unsafe.Pointer(rows), rowsDeclOff)) = make([]string, n)
}
