package storage

import (
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// The SQL allow-list mirrors workerd (src/workerd/util/sqlite.c++, isAuthorized): user SQL
// may read and write its own tables, views, indexes and triggers, and nothing else. A denied
// action fails the prepare with SQLite's own message ("not authorized", "access to
// _cf_KV.key is prohibited", "not authorized to use function: sqlite_version"), except
// transactions, which get ErrTransaction.

// sqliteRecursive is SQLITE_RECURSIVE, which go-sqlite3 does not export.
const sqliteRecursive = 33

// Run-time limits, as workerd sets them (setupSecurity). SQLITE_LIMIT_LENGTH is a little
// over 2 MB so that a 2 MB key+value row fits.
var limits = []struct{ id, val int }{
	{sqlite3.SQLITE_LIMIT_LENGTH, 2_200_000},
	{sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000},
	{sqlite3.SQLITE_LIMIT_COLUMN, 100},
	{sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100},
	{sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 5},
	{sqlite3.SQLITE_LIMIT_VDBE_OP, 25_000},
	{sqlite3.SQLITE_LIMIT_FUNCTION_ARG, 127},
	{sqlite3.SQLITE_LIMIT_ATTACHED, 0},
	{sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50},
	{sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100},
	{sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH, 10},
	{sqlite3.SQLITE_LIMIT_WORKER_THREADS, 0},
}

// prepContext collects what the authorizer learned while one user statement was prepared.
type prepContext struct {
	err       error  // a tailored error to report instead of "not authorized"
	target    string // first table written by INSERT/UPDATE/DELETE (for RowsWritten)
	ddl       bool   // the statement changes the schema
	alter     bool   // ALTER TABLE: may rename a table to a reserved name
	pragmaSet bool   // the statement sets a connection flag (PRAGMA foreign_keys = …)
}

// reserved reports whether name is one of the runtime's hidden objects (_cf_KV, …).
func reserved(name string) bool {
	return len(name) >= 4 && strings.EqualFold(name[:4], "_cf_")
}

// authorize is the SQLite authorizer of both connections. Internal statements of this
// package run with db.trusted set and bypass it.
func (db *DB) authorize(op int, arg1, arg2, dbName string) int {
	if db.trusted || db.pc.allow(op, arg1, arg2, dbName) {
		return sqlite3.SQLITE_OK
	}
	return sqlite3.SQLITE_DENY
}

func (pc *prepContext) allow(op int, arg1, arg2, dbName string) bool {
	if op == sqlite3.SQLITE_ALTER_TABLE || op == sqlite3.SQLITE_DETACH {
		// SQLite passes the schema name first for these two.
		dbName, arg1, arg2 = arg1, arg2, ""
	}
	switch dbName {
	case "", "main":
	case "temp":
		return (op == sqlite3.SQLITE_READ || op == sqlite3.SQLITE_UPDATE) && !reserved(arg1)
	default:
		return false
	}

	switch op {
	case sqlite3.SQLITE_SELECT, sqliteRecursive, sqlite3.SQLITE_ANALYZE:
		return true
	case sqlite3.SQLITE_READ:
		return !reserved(arg1)
	case sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE:
		if pc.target == "" && !strings.HasPrefix(strings.ToLower(arg1), "sqlite_") {
			pc.target = arg1
		}
		return !reserved(arg1)
	case sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_CREATE_VIEW,
		sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_REINDEX:
		pc.ddl = true
		return !reserved(arg1)
	case sqlite3.SQLITE_ALTER_TABLE:
		pc.ddl, pc.alter = true, true
		return !reserved(arg1)
	case sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX,
		sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER:
		pc.ddl = true
		return !reserved(arg1) && !reserved(arg2)
	case sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE:
		pc.ddl = true
		return allowedModules[strings.ToLower(arg2)] && !reserved(arg1)
	case sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT:
		pc.err = ErrTransaction
		return false
	case sqlite3.SQLITE_PRAGMA:
		return pc.allowPragma(strings.ToLower(arg1), arg2)
	case sqlite3.SQLITE_FUNCTION:
		return allowedFunctions[strings.ToLower(arg2)]
	}
	// ATTACH, DETACH, TEMP objects, COPY and anything unknown.
	return false
}

// errNotAuthorized is what SQLite reports for a denied action; guardRename reuses it.
var errNotAuthorized = &Error{Msg: "not authorized", Code: 23}

// reservedCount counts the schema objects with reserved names (LIKE ignores ASCII case).
const reservedCount = `SELECT count(*) FROM sqlite_master WHERE name LIKE '\_cf\_%' ESCAPE '\'`

// guardRename runs an ALTER TABLE statement in a savepoint and undoes it if it renamed a
// table to a reserved name: the authorizer is told the old name only.
func (db *DB) guardRename(fn func() error) error {
	count := func() (n int64, err error) {
		err = db.queryInternal(reservedCount, nil, func(r []driver.Value) { n, _ = r[0].(int64) })
		return n, err
	}
	if _, err := db.execInternal("SAVEPOINT _cf_alter"); err != nil {
		return err
	}
	before, err := count()
	if err == nil {
		if err = fn(); err == nil {
			var after int64
			if after, err = count(); err == nil && after > before {
				err = errNotAuthorized
			}
		}
	}
	if err != nil {
		if db.conn.AutoCommit() {
			return err // SQLite rolled back everything; fail() will notice
		}
		if _, rerr := db.execInternal("ROLLBACK TO _cf_alter"); rerr != nil {
			db.log.Error("storage: rolling back an ALTER TABLE", "path", db.path, "err", rerr)
		}
	}
	if _, rerr := db.execInternal("RELEASE _cf_alter"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Virtual-table modules user SQL may use.
var allowedModules = map[string]bool{"fts5": true, "fts5vocab": true, "rtree": true, "rtree_i32": true}

type pragmaArg int

const (
	noArg                  pragmaArg = iota // read only: PRAGMA data_version
	boolArg                                 // read, or set to a boolean
	objectName                              // PRAGMA index_list(t): required, not reserved
	optionalObjectName                      // PRAGMA foreign_key_check[(t)]
	nullOrNumber                            // PRAGMA optimize[(mask)]
	nullNumberOrObjectName                  // PRAGMA quick_check[(N|t)]
)

var allowedPragmas = map[string]pragmaArg{
	"data_version":              noArg,
	"page_size":                 noArg,
	"case_sensitive_like":       boolArg,
	"foreign_keys":              boolArg,
	"defer_foreign_keys":        boolArg,
	"ignore_check_constraints":  boolArg,
	"legacy_alter_table":        boolArg,
	"recursive_triggers":        boolArg,
	"reverse_unordered_selects": boolArg,
	"foreign_key_check":         optionalObjectName,
	"foreign_key_list":          objectName,
	"index_info":                objectName,
	"index_list":                objectName,
	"index_xinfo":               objectName,
	"table_info":                objectName,
	"table_xinfo":               objectName,
	"table_list":                optionalObjectName,
	"quick_check":               nullNumberOrObjectName,
	"optimize":                  nullOrNumber,
}

func (pc *prepContext) allowPragma(name, arg string) bool {
	kind, ok := allowedPragmas[name]
	if !ok {
		return false
	}
	switch kind {
	case noArg:
		return arg == ""
	case boolArg:
		if arg == "" {
			return true
		}
		pc.pragmaSet = true
		return isBool(arg)
	case objectName:
		return arg != "" && !reserved(arg)
	case optionalObjectName:
		// PRAGMA table_list lists _cf_ tables too, as in workerd: their existence is no secret.
		return arg == "" || name == "table_list" || !reserved(arg)
	case nullOrNumber:
		_, err := strconv.ParseInt(arg, 10, 32)
		return arg == "" || err == nil
	case nullNumberOrObjectName:
		_, err := strconv.ParseUint(arg, 10, 32)
		return arg == "" || err == nil || !reserved(arg)
	}
	return false
}

func isBool(v string) bool {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "1", "0":
		return true
	}
	return false
}

// allowedFunctions is workerd's ALLOWED_SQLITE_FUNCTIONS plus the JSONB functions, `if`,
// and rtreecheck. Left out on purpose: sqlite_version, sqlite_source_id,
// sqlite_compileoption_*, sqlite_offset (build details) and load_extension.
var allowedFunctions = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`
		abs changes char coalesce concat concat_ws format glob hex if ifnull iif instr
		last_insert_rowid length like likelihood likely lower ltrim max max_scalar min
		min_scalar nullif octet_length printf quote random randomblob replace round rtrim
		sign soundex substr substring total_changes trim typeof unhex unicode unistr
		unistr_quote unlikely upper zeroblob

		date time datetime julianday unixepoch strftime timediff current_date current_time
		current_timestamp

		avg count group_concat string_agg sum total

		row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
		last_value nth_value

		acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
		log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc

		json jsonb json_array jsonb_array json_array_length json_error_position json_extract
		jsonb_extract -> ->> json_insert jsonb_insert json_object jsonb_object json_patch
		jsonb_patch json_pretty json_remove jsonb_remove json_replace jsonb_replace json_set
		jsonb_set json_type json_valid json_quote json_group_array jsonb_group_array
		json_group_object jsonb_group_object json_each json_tree jsonb_each jsonb_tree

		match highlight bm25 snippet rtreecheck

		sqlite_rename_column sqlite_rename_table sqlite_rename_test sqlite_drop_column
		sqlite_rename_quotefix`) {
		m[f] = true
	}
	return m
}()
