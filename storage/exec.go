package storage

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/internal/sqllimit"
)

// Cursor holds the result of the last statement given to Exec. The statement has run to
// completion by the time Exec returns (rows are read eagerly), so a write happens even if
// the cursor is never read.
type Cursor struct {
	cols    []string
	rows    [][]driver.Value
	pos     int
	read    int64
	written int64
}

// Columns returns the result's column names, in order; they may repeat (joins).
func (c *Cursor) Columns() []string { return c.cols }

// Next returns the next row, or false when there are no more. Values are nil, int64,
// float64, string or []byte.
func (c *Cursor) Next() ([]any, bool, error) {
	if c.pos >= len(c.rows) {
		return nil, false, nil
	}
	r := c.rows[c.pos]
	c.rows[c.pos] = nil
	c.pos++
	row := make([]any, len(r))
	for i, v := range r {
		row[i] = v
	}
	return row, true, nil
}

// RowsRead returns the rows the statement read. Approximation: the rows it returned
// (workerd counts every row SQLite visits, which needs a patched SQLite).
func (c *Cursor) RowsRead() int64 { return c.read }

// RowsWritten returns the rows the statement wrote: for INSERT, UPDATE and DELETE, the rows
// changed times (1 + the number of indexes of the table), counting index entries as
// workerd does; 0 for other statements. Approximation: an UPDATE is charged for every
// index even if it leaves an index's columns alone, and rows written by triggers or
// foreign-key actions are not counted.
func (c *Cursor) RowsWritten() int64 { return c.written }

// Close releases the rows not read yet.
func (c *Cursor) Close() error {
	c.rows, c.pos = nil, 0
	return nil
}

// Exec runs query, which may hold several statements separated by ";". The statements
// before the last run immediately and may not have parameters; args bind the last one,
// whose result is returned. args are nil, int64, float64, string or []byte (int and bool
// are accepted too). On a database with no file yet, read-only statements run on an empty
// in-memory database; the first other statement creates the file.
func (db *DB) Exec(query string, args ...any) (*Cursor, error) {
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
	for {
		st, onFile, err := db.prepareUser(query)
		if err != nil {
			return nil, err
		}
		tail := stmtTail(st)
		if tail == "" {
			return db.run(st, onFile, vals)
		}
		if st.NumInput() > 0 {
			st.Close()
			return nil, ErrMultiParams
		}
		// Not the last statement: one step, results discarded (as workerd does).
		err = db.guard(onFile, func() error { _, err := st.Exec(nil); return err })
		st.Close()
		if err != nil {
			return nil, db.failOn(onFile, err)
		}
		query = tail
	}
}

// prepareUser prepares the first statement of query under the authorizer, on the file if
// there is one, else on the in-memory database; a statement that would write there is
// prepared again on a newly created file. On the file, the implicit transaction is begun.
func (db *DB) prepareUser(query string) (st *sqlite3.SQLiteStmt, onFile bool, err error) {
	onFile, err = db.openFile(false)
	if err != nil {
		return nil, false, err
	}
	conn := db.conn
	if !onFile {
		if conn, err = db.memConn(); err != nil {
			return nil, false, err
		}
	}
	if st, err = db.prepare(conn, query); err != nil {
		return nil, false, err
	}
	if db.readOnly && (!st.Readonly() || db.pc.pragmaSet) {
		st.Close()
		return nil, false, ErrReadOnly // before anything ran or a file was made
	}
	if !onFile && (!st.Readonly() || db.pc.pragmaSet) {
		st.Close()
		if _, err = db.openFile(true); err != nil {
			return nil, false, err
		}
		onFile = true
		if st, err = db.prepare(db.conn, query); err != nil {
			return nil, false, err
		}
	}
	if onFile {
		if err := db.begin(); err != nil {
			st.Close()
			return nil, false, err
		}
		if db.pc.ddl {
			clear(db.indexes)
		}
		if !st.Readonly() {
			db.wrote = true
		}
	}
	return st, onFile, nil
}

func (db *DB) prepare(conn *sqlite3.SQLiteConn, query string) (*sqlite3.SQLiteStmt, error) {
	db.pc = prepContext{}
	ds, err := conn.Prepare(query)
	if err != nil && db.pc.err == nil && isSyntaxError(err) {
		// DELETE/UPDATE … LIMIT, which workerd accepts and this SQLite's
		// parser lacks (see package sqllimit).
		if rq, ok := sqllimit.Rewrite(query); ok {
			db.pc = prepContext{}
			if rds, rerr := conn.Prepare(rq); rerr == nil {
				ds, err = rds, nil
			} else if !isSyntaxError(rerr) {
				err = rerr
			}
		}
	}
	if err != nil {
		if db.pc.err != nil {
			return nil, db.pc.err
		}
		return nil, toError(err)
	}
	st := ds.(*sqlite3.SQLiteStmt)
	if stmtEmpty(st) {
		st.Close()
		return nil, ErrNoStatement
	}
	return st, nil
}

// run executes the last statement and reads its whole result.
func (db *DB) run(st *sqlite3.SQLiteStmt, onFile bool, vals []driver.Value) (*Cursor, error) {
	defer st.Close()
	if st.NumInput() != len(vals) {
		return nil, ErrBindings
	}
	target := db.pc.target
	c := &Cursor{}
	err := db.guard(onFile, func() error {
		dr, err := st.Query(vals)
		if err != nil {
			return err
		}
		rows := dr.(*sqlite3.SQLiteRows)
		defer rows.Close()
		c.cols = rows.Columns()
		rawColumns(rows, len(c.cols))
		for {
			row := make([]driver.Value, len(c.cols))
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			c.rows = append(c.rows, row)
		}
	})
	if err != nil {
		return nil, db.failOn(onFile, err)
	}
	c.read = int64(len(c.rows))
	if onFile && target != "" && !st.Readonly() {
		if c.written, err = db.rowsWritten(target); err != nil {
			return nil, db.fail(err)
		}
	}
	return c, nil
}

// guard runs a prepared user statement, through guardRename if it is an ALTER TABLE.
func (db *DB) guard(onFile bool, fn func() error) error {
	if onFile && db.pc.alter {
		return db.guardRename(fn)
	}
	return fn()
}

func (db *DB) failOn(onFile bool, err error) error {
	if onFile {
		return db.fail(err)
	}
	return toError(err)
}

// rowsWritten returns changes() × (1 + the number of indexes on table). For a WITHOUT
// ROWID table the primary key is the table itself, not an extra index.
func (db *DB) rowsWritten(table string) (int64, error) {
	var changes int64
	if err := db.queryInternal("SELECT changes()", nil, func(r []driver.Value) { changes, _ = r[0].(int64) }); err != nil {
		return 0, err
	}
	if changes == 0 {
		return 0, nil
	}
	n, ok := db.indexes[table]
	if !ok {
		err := db.queryInternal(`SELECT count(*) FROM pragma_index_list(?1)
			WHERE origin != 'pk' OR NOT coalesce((SELECT wr FROM pragma_table_list(?1)), 0)`,
			[]driver.Value{table}, func(r []driver.Value) { n, _ = r[0].(int64) })
		if err != nil {
			return 0, err
		}
		db.indexes[table] = n
	}
	return changes * (1 + n), nil
}

func bindValues(args []any) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil, int64, float64, string:
			vals[i] = v
		case []byte:
			if v == nil {
				v = []byte{} // a BLOB, not NULL
			}
			vals[i] = v
		case int:
			vals[i] = int64(v)
		case bool:
			if v {
				vals[i] = int64(1)
			} else {
				vals[i] = int64(0)
			}
		default:
			return nil, fmt.Errorf("storage: unsupported SQL binding type %T", a)
		}
	}
	return vals, nil
}

// isSyntaxError reports whether err is SQLite's parse error.
func isSyntaxError(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrError && strings.Contains(se.Error(), "syntax error")
}
