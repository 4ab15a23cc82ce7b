package d1

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// ExportOptions select what Export writes (wrangler d1 export's --table,
// --no-schema, --no-data).
type ExportOptions struct {
	Tables   []string // only these tables (and their indexes and triggers); all if empty
	NoSchema bool
	NoData   bool
}

// ErrVirtualTable is returned by Export for a database with virtual tables
// (FTS5), which D1's export does not support either (spec 7.7).
var ErrVirtualTable = &Error{Kind: KindError, Msg: "Export is not supported for databases with virtual tables"}

// Export writes the database as SQL text (CREATE statements and INSERTs, as
// sqlite3's .dump, without transaction statements) to w, streaming: it
// reads one consistent snapshot row by row. The hidden _cf_ tables are left
// out.
func (db *DB) Export(ctx context.Context, w io.Writer, opts ExportOptions) error {
	if db.closed.Load() {
		return ErrClosed
	}
	c, err := db.reader()
	if err != nil {
		return err
	}
	defer db.release(c)
	if err := c.exec("BEGIN"); err != nil {
		return sqlError(err)
	}
	defer func() { _ = c.exec("COMMIT") }()

	type object struct{ typ, name, table, sql string }
	var objs []object
	err = c.query(`SELECT type, name, tbl_name, sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_cf\_%' ESCAPE '\'
		ORDER BY type != 'table', rowid`, nil, func(r []driver.Value) error {
		o := object{}
		o.typ, _ = r[0].(string)
		o.name, _ = r[1].(string)
		o.table, _ = r[2].(string)
		o.sql, _ = r[3].(string)
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return sqlError(err)
	}
	for _, o := range objs {
		if o.typ == "table" && strings.HasPrefix(strings.ToUpper(o.sql), "CREATE VIRTUAL TABLE") {
			return ErrVirtualTable
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString("PRAGMA defer_foreign_keys=TRUE;\n"); err != nil {
		return err
	}
	wanted := func(table string) bool {
		return len(opts.Tables) == 0 || slices.ContainsFunc(opts.Tables, func(t string) bool { return strings.EqualFold(t, table) })
	}
	for _, o := range objs {
		if !wanted(o.table) || (o.typ == "view" && len(opts.Tables) > 0) {
			continue
		}
		if !opts.NoSchema && o.typ == "table" {
			if _, err := fmt.Fprintf(bw, "%s;\n", o.sql); err != nil {
				return err
			}
		}
		if !opts.NoData && o.typ == "table" {
			if err := exportRows(ctx, c, bw, o.name); err != nil {
				return err
			}
		}
	}
	if !opts.NoSchema {
		for _, o := range objs {
			if o.typ != "table" && wanted(o.table) && !(o.typ == "view" && len(opts.Tables) > 0) {
				if _, err := fmt.Fprintf(bw, "%s;\n", o.sql); err != nil {
					return err
				}
			}
		}
	}
	return bw.Flush()
}

func exportRows(ctx context.Context, c *conn, w *bufio.Writer, table string) error {
	prefix := "INSERT INTO " + quoteIdent(table) + " VALUES("
	var line []byte
	n := 0
	return sqlError(c.query("SELECT * FROM "+quoteIdent(table), nil, func(r []driver.Value) error {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line = append(line[:0], prefix...)
		for i, v := range r {
			if i > 0 {
				line = append(line, ',')
			}
			line = appendLiteral(line, v)
		}
		line = append(line, ");\n"...)
		_, err := w.Write(line)
		return err
	}))
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// appendLiteral appends v as a SQL literal that reads back as the same value
// and type.
func appendLiteral(b []byte, v driver.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "NULL"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return append(b, "NULL"...)
		case math.IsInf(x, 1):
			return append(b, "1e999"...)
		case math.IsInf(x, -1):
			return append(b, "-1e999"...)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0" // stays REAL
		}
		return append(b, s...)
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			b = append(b, "CAST(X'"...)
			b = hex.AppendEncode(b, []byte(x))
			return append(b, "' AS TEXT)"...)
		}
		b = append(b, '\'')
		b = append(b, strings.ReplaceAll(x, "'", "''")...)
		return append(b, '\'')
	case []byte:
		b = append(b, "X'"...)
		b = hex.AppendEncode(b, x)
		return append(b, '\'')
	}
	return fmt.Appendf(b, "'%v'", v)
}

// importSQLLength is the longest statement an import accepts: a row of the
// largest values D1 allows, written as hex, and then some.
const importSQLLength = 8_200_000

// ImportStats describe a finished import.
type ImportStats struct {
	Statements int64  // statements executed
	Changes    int64  // rows inserted, updated or deleted
	Bookmark   string // the database's state after the import
}

// ImportError is returned by Import when a statement fails; the import was
// rolled back.
type ImportError struct {
	Line int // where the statement starts, 1-based
	Err  *Error
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%s (statement at line %d)", e.Err.Error(), e.Line)
}

// Unwrap returns the statement's error.
func (e *ImportError) Unwrap() error { return e.Err }

// Import runs the SQL statements read from r in one transaction: either all
// of them apply or, on the first error, none (the database is left exactly
// as before). The input is read as a stream; progress, if set, is called
// now and then with the statements run so far. Writes wait for the import;
// reads go on, seeing the state before it until it commits.
func (db *DB) Import(ctx context.Context, r io.Reader, progress func(statements int64)) (ImportStats, error) {
	return db.importTx(ctx, r, progress, nil)
}

// importTx is Import; after, if set, runs in the same transaction once every
// statement of r has.
func (db *DB) importTx(ctx context.Context, r io.Reader, progress func(int64), after func(c *conn) error) (ImportStats, error) {
	var st ImportStats
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.closed.Load() {
		return st, ErrClosed
	}
	c := db.w
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return st, sqlError(err)
	}
	// A dumped row holding a 2,000,000-byte BLOB is a 4 MB statement (hex):
	// allow such statements while importing.
	prev := c.c.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, importSQLLength)
	defer c.c.SetLimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, prev)
	sp := NewSplitter(r)
	for {
		sql, line, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && st.Statements%1024 == 0 {
			err = ctx.Err()
		}
		if err == nil {
			var n int64
			n, err = c.execOne(sql)
			st.Changes += n
		}
		if err != nil {
			db.rollback(c)
			var de *Error
			if !errors.As(err, &de) {
				de = &Error{Kind: KindError, Msg: err.Error()}
			}
			return ImportStats{}, &ImportError{Line: line, Err: de}
		}
		st.Statements++
		if progress != nil && st.Statements%10000 == 0 {
			progress(st.Statements)
		}
	}
	if after != nil {
		if err := after(c); err != nil {
			db.rollback(c)
			return ImportStats{}, sqlError(err)
		}
	}
	made, size, err := db.commit(c)
	if err != nil {
		return ImportStats{}, err
	}
	if err := db.settle(ctx, made); err != nil {
		return ImportStats{}, err
	}
	db.size.Store(size)
	if progress != nil {
		progress(st.Statements)
	}
	st.Bookmark = db.bookmark(made.seq)
	return st, nil
}

// execOne runs user SQL (one or more statements, no parameters) without
// caching it, and returns the rows it changed.
func (c *conn) execOne(sql string) (int64, error) {
	var changes int64
	for first := true; ; first = false {
		st, _, tail, err := c.prepareCache(sql, false)
		if err == ErrNoStatement && !first {
			return changes, nil
		}
		if err != nil {
			return changes, err
		}
		pc := c.pc
		if st.NumInput() > 0 {
			st.Close()
			return changes, ErrBindings
		}
		res, err := st.Exec(nil)
		st.Close()
		if err != nil {
			return changes, sqlError(err)
		}
		if pc.dml && !pc.ddl {
			n, _ := res.RowsAffected()
			changes += n
		}
		if tail == "" {
			return changes, nil
		}
		sql = tail
	}
}
