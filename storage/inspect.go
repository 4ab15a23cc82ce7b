package storage

import (
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// Inspection: what tools that look inside an object (cairn's data studio)
// use. They run on the object's thread like its own events (objects.Host
// Inspect), so the one-writer rule holds, and they never hold a whole
// table in memory: results are capped and tables are read by pages.

// ErrReadOnly is returned by Inspect in read-only mode for a statement that
// would write (or set a PRAGMA). It is returned before the statement runs:
// nothing was changed, and no file was created.
var ErrReadOnly = errors.New("read-only mode: this statement would write (switch the SQL console to read-write to run it); nothing was changed")

// ErrNoTable is returned by Rows for a table the database does not have.
var ErrNoTable = errors.New("no such table")

// Result is a capped result of Inspect or a page of Rows.
type Result struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"` // values are nil, int64, float64, string or []byte
	// Truncated says there were more rows than the cap: they were not
	// read (a read stops there; a write with RETURNING runs to its end
	// but its rows past the cap are dropped).
	Truncated   bool  `json:"truncated"`
	RowsWritten int64 `json:"rowsWritten"`
}

// Inspect runs query as Exec does (several statements separated by ";",
// args bound to the last one, the same SQL rules) but keeps at most
// maxRows rows of the result. With readOnly, a statement that would write
// fails with ErrReadOnly before it runs; the statements before it were
// reads, so nothing changed.
func (db *DB) Inspect(query string, args []any, readOnly bool, maxRows int) (*Result, error) {
	if err := db.usable(); err != nil {
		return nil, err
	}
	vals, err := bindValues(args)
	if err != nil {
		return nil, err
	}
	if db.scratch != nil && db.conn == nil {
		db.scratch.lock(db)
		defer db.scratch.unlock()
	}
	db.readOnly = readOnly
	defer func() { db.readOnly = false }()
	for {
		st, onFile, err := db.prepareUser(query)
		if err != nil {
			return nil, err
		}
		tail := stmtTail(st)
		if tail == "" {
			return db.runCapped(st, onFile, vals, maxRows)
		}
		if st.NumInput() > 0 {
			st.Close()
			return nil, ErrMultiParams
		}
		err = db.guard(onFile, func() error { _, err := st.Exec(nil); return err })
		st.Close()
		if err != nil {
			return nil, db.failOn(onFile, err)
		}
		query = tail
	}
}

// runCapped executes the last statement of Inspect, keeping at most max rows.
func (db *DB) runCapped(st *sqlite3.SQLiteStmt, onFile bool, vals []driver.Value, max int) (*Result, error) {
	defer st.Close()
	if st.NumInput() != len(vals) {
		return nil, ErrBindings
	}
	target := db.pc.target
	readonly := st.Readonly()
	res := &Result{Rows: [][]any{}}
	err := db.guard(onFile, func() error {
		dr, err := st.Query(vals)
		if err != nil {
			return err
		}
		rows := dr.(*sqlite3.SQLiteRows)
		defer rows.Close()
		res.Columns = rows.Columns()
		res.Rows, res.Truncated, err = readRows(rows, len(res.Columns), max, !readonly)
		return err
	})
	if err != nil {
		return nil, db.failOn(onFile, err)
	}
	if onFile && target != "" && !readonly {
		if res.RowsWritten, err = db.rowsWritten(target); err != nil {
			return nil, db.fail(err)
		}
	}
	return res, nil
}

// readRows reads at most max rows (0: no cap); past the cap it stops, or
// with drain reads on without keeping them (a write must run to its end).
func readRows(rows *sqlite3.SQLiteRows, n, max int, drain bool) ([][]any, bool, error) {
	out := [][]any{}
	truncated := false
	row := make([]driver.Value, n)
	rawColumns(rows, n)
	for {
		if err := rows.Next(row); err == io.EOF {
			return out, truncated, nil
		} else if err != nil {
			return nil, false, err
		}
		if max > 0 && len(out) >= max {
			truncated = true
			if !drain {
				return out, true, nil
			}
			continue
		}
		vals := make([]any, n)
		for i, v := range row {
			vals[i] = v
		}
		out = append(out, vals)
	}
}

// Table describes a table (or view) of the database.
type Table struct {
	Name string `json:"name"`
	Type string `json:"type"` // "table" or "view"
	Rows int64  `json:"rows"` // -1 for a view (not counted)
	SQL  string `json:"sql"`
	// RowID says rows can be paged by rowid (a table that is not WITHOUT
	// ROWID), which stays fast at any depth.
	RowID bool `json:"rowid"`
}

// Tables lists the user's tables and views, and the KV API's table
// (_cf_KV) if it exists; SQLite's and cairn's other internal tables are
// left out. A database with no file has none (none is created).
func (db *DB) Tables() ([]Table, error) {
	tables, err := db.tableList()
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if t.Type != "table" {
			continue
		}
		err := db.trustedQuery(`SELECT count(*) FROM `+quoteIdent(t.Name), nil, func(r []driver.Value) { tables[i].Rows, _ = r[0].(int64) })
		if err != nil {
			return nil, db.fail(err)
		}
	}
	return tables, nil
}

// tableList is Tables without the row counts (Rows -1).
func (db *DB) tableList() ([]Table, error) {
	if err := db.usable(); err != nil {
		return nil, err
	}
	if ok, err := db.openFile(false); !ok || err != nil {
		return []Table{}, err
	}
	if err := db.begin(); err != nil {
		return nil, err
	}
	var tables []Table
	err := db.trustedQuery(`SELECT name, type, coalesce(sql, '') FROM sqlite_schema
		WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND (name NOT LIKE '\_cf\_%' ESCAPE '\' OR name = '_cf_KV') ORDER BY name`, nil, func(r []driver.Value) {
		t := Table{Name: asString(r[0]), Type: asString(r[1]), SQL: asString(r[2]), Rows: -1}
		t.RowID = t.Type == "table" && !strings.Contains(strings.ToUpper(t.SQL), "WITHOUT ROWID")
		tables = append(tables, t)
	})
	if err != nil {
		return nil, db.fail(err)
	}
	if tables == nil {
		tables = []Table{}
	}
	return tables, nil
}

// Rows returns a page of at most limit rows of table. A table with rowids
// is paged by rowid: the page holds the rows after rowid after (and
// "rowid" is its first column, for the next page); a view or a WITHOUT
// ROWID table is paged by offset (after counts the rows to skip).
// Truncated says more rows follow.
func (db *DB) Rows(table string, after int64, limit int) (*Result, error) {
	if err := db.usable(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	tables, err := db.tableList()
	if err != nil {
		return nil, err
	}
	var t *Table
	for i := range tables {
		if tables[i].Name == table {
			t = &tables[i]
		}
	}
	if t == nil {
		return nil, ErrNoTable
	}
	query := `SELECT rowid AS rowid, * FROM ` + quoteIdent(table) + ` WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`
	if !t.RowID {
		query = `SELECT * FROM ` + quoteIdent(table) + ` LIMIT ?2 OFFSET ?1`
	}
	res := &Result{}
	db.trusted = true
	defer func() { db.trusted = false }()
	ds, err := db.conn.Prepare(query)
	if err != nil {
		return nil, db.fail(err)
	}
	st := ds.(*sqlite3.SQLiteStmt)
	defer st.Close()
	dr, err := st.Query([]driver.Value{after, int64(limit) + 1})
	if err != nil {
		return nil, db.fail(err)
	}
	rows := dr.(*sqlite3.SQLiteRows)
	defer rows.Close()
	res.Columns = rows.Columns()
	res.Rows, res.Truncated, err = readRows(rows, len(res.Columns), limit, false)
	if err != nil {
		return nil, db.fail(err)
	}
	return res, nil
}

// trustedQuery runs one of this file's queries (authorizer bypassed)
// without caching its statement: table names vary.
func (db *DB) trustedQuery(query string, args []driver.Value, fn func([]driver.Value)) error {
	db.trusted = true
	defer func() { db.trusted = false }()
	ds, err := db.conn.Prepare(query)
	if err != nil {
		return err
	}
	st := ds.(*sqlite3.SQLiteStmt)
	defer st.Close()
	dr, err := st.Query(args)
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
		fn(row)
	}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func asString(v driver.Value) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}
