package d1

import (
	"context"
	"errors"
	"strings"
)

// Inspection: what tools that look inside a database (cairn's data
// studio) use. Results are capped and tables read by pages, so a huge
// table is never held in memory.

// ErrReadOnly is returned by Inspect in read-only mode for SQL that would
// write (or set a PRAGMA). Nothing was changed: the batch ran on a reader.
var ErrReadOnly = errors.New("read-only mode: this statement would write (switch the SQL console to read-write to run it); nothing was changed")

// ErrNoTable is returned by Rows for a table the database does not have.
var ErrNoTable = errors.New("no such table")

// rowCapKey carries a *rowCap in the context of an Inspect batch: step
// keeps at most max rows of a result.
type rowCapKey struct{}

type rowCap struct {
	max       int
	truncated bool // some result had more rows than max
}

// Inspect runs sql as one statement of a batch (D1's rules and errors),
// keeping at most maxRows rows of its result (0: all); truncated says some
// were left out (a read stops at the cap, a write runs to its end). With
// readOnly, SQL that would write fails with ErrReadOnly and changes
// nothing.
func (db *DB) Inspect(ctx context.Context, sql string, params []any, readOnly bool, maxRows int) (res Result, truncated bool, err error) {
	if db.closed.Load() {
		return Result{}, false, ErrClosed
	}
	rc := &rowCap{max: maxRows}
	if maxRows > 0 {
		ctx = context.WithValue(ctx, rowCapKey{}, rc)
	}
	stmts := []Statement{{SQL: sql, Params: params}}
	var out []Result
	if readOnly {
		ctx, cancel := context.WithTimeout(ctx, db.limit)
		defer cancel()
		out, _, err = db.read(ctx, stmts)
		if errors.Is(err, errNeedsWriter) {
			return Result{}, false, ErrReadOnly
		}
	} else {
		out, _, err = db.Batch(ctx, stmts, "")
	}
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			err = be.Err
		}
		return Result{}, false, err
	}
	return out[0], rc.truncated, nil
}

// Table describes a table (or view) of a database.
type Table struct {
	Name string `json:"name"`
	Type string `json:"type"` // "table" or "view"
	Rows int64  `json:"rows"` // -1 for a view (not counted)
	SQL  string `json:"sql"`
	// RowID says rows can be paged by rowid (not a WITHOUT ROWID table).
	RowID bool `json:"rowid"`
}

// Tables lists the user's tables and views with their row counts (D1's
// and SQLite's internal tables left out).
func (db *DB) Tables(ctx context.Context) ([]Table, error) {
	return db.tables(ctx, true)
}

// tables lists the tables, with their row counts if count is set (else -1).
func (db *DB) tables(ctx context.Context, count bool) ([]Table, error) {
	res, _, err := db.Inspect(ctx, `SELECT name, type, coalesce(sql, '') FROM sqlite_schema
		WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND name NOT LIKE '\_cf\_%' ESCAPE '\' ORDER BY name`, nil, true, 0)
	if err != nil {
		return nil, err
	}
	tables := make([]Table, 0, len(res.Rows))
	for _, r := range res.Rows {
		name, _ := r[0].(string)
		typ, _ := r[1].(string)
		sql, _ := r[2].(string)
		t := Table{Name: name, Type: typ, SQL: sql, Rows: -1}
		t.RowID = typ == "table" && !strings.Contains(strings.ToUpper(sql), "WITHOUT ROWID")
		if typ == "table" && count {
			n, _, err := db.Inspect(ctx, `SELECT count(*) FROM `+quoteIdent(name), nil, true, 0)
			if err != nil {
				return nil, err
			}
			t.Rows, _ = n.Rows[0][0].(int64)
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// Rows returns a page of at most limit rows of table: after the rowid
// after (the first column is then "rowid", for the next page), or for a
// view or a WITHOUT ROWID table after skipping after rows. truncated says
// more rows follow.
func (db *DB) Rows(ctx context.Context, table string, after int64, limit int) (Result, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	tables, err := db.tables(ctx, false)
	if err != nil {
		return Result{}, false, err
	}
	var t *Table
	for i := range tables {
		if tables[i].Name == table {
			t = &tables[i]
		}
	}
	if t == nil {
		return Result{}, false, ErrNoTable
	}
	query := `SELECT rowid AS rowid, * FROM ` + quoteIdent(table) + ` WHERE rowid > ?1 ORDER BY rowid LIMIT ?2`
	if !t.RowID {
		query = `SELECT * FROM ` + quoteIdent(table) + ` LIMIT ?2 OFFSET ?1`
	}
	return db.Inspect(ctx, query, []any{after, int64(limit) + 1}, true, limit)
}
