package d1

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db.sqlite"), "test-uuid", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustQuery(t *testing.T, db *DB, sql string, params ...any) Result {
	t.Helper()
	r, _, err := db.Query(context.Background(), Statement{SQL: sql, Params: params}, "")
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return r
}

// spec 63, 64: run() of an INSERT reports changes, last_row_id and changed_db; a SELECT does not.
func TestMeta(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
	r := mustQuery(t, db, "INSERT INTO t (v) VALUES (?)", "a")
	if r.Meta.Changes != 1 || r.Meta.LastRowID != 1 || !r.Meta.ChangedDB || r.Meta.RowsWritten < 1 || len(r.Rows) != 0 {
		t.Errorf("insert meta = %+v rows %v", r.Meta, r.Rows)
	}
	r = mustQuery(t, db, "INSERT INTO t (v) VALUES (?), (?)", "b", "c")
	if r.Meta.Changes != 2 || r.Meta.LastRowID != 3 {
		t.Errorf("insert 2 meta = %+v", r.Meta)
	}
	r = mustQuery(t, db, "SELECT * FROM t ORDER BY id")
	if r.Meta.Changes != 0 || r.Meta.ChangedDB || len(r.Rows) != 3 || r.Meta.SizeAfter == 0 || r.Meta.RowsRead != 3 {
		t.Errorf("select = %+v %v", r.Meta, r.Rows)
	}
	if got := strings.Join(r.Columns, ","); got != "id,v" {
		t.Errorf("columns = %s", got)
	}
	r = mustQuery(t, db, "UPDATE t SET v = 'z' WHERE id > 1 RETURNING id")
	if r.Meta.Changes != 2 || len(r.Rows) != 2 {
		t.Errorf("update returning = %+v %v", r.Meta, r.Rows)
	}
	r = mustQuery(t, db, "CREATE TABLE u (a)")
	if r.Meta.Changes != 0 || !r.Meta.ChangedDB {
		t.Errorf("create table meta = %+v", r.Meta)
	}
	// Index entries count as rows written.
	mustQuery(t, db, "CREATE INDEX u_a ON u(a)")
	if r = mustQuery(t, db, "INSERT INTO u VALUES (1), (2)"); r.Meta.RowsWritten != 4 {
		t.Errorf("rows_written with one index = %d, want 4", r.Meta.RowsWritten)
	}
	mustQuery(t, db, "DROP INDEX u_a")
	if r = mustQuery(t, db, "INSERT INTO u VALUES (3)"); r.Meta.RowsWritten != 1 {
		t.Errorf("rows_written after DROP INDEX = %d, want 1", r.Meta.RowsWritten)
	}
}

func TestTypes(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (a, b DATE, c BOOLEAN)")
	big := int64(1)<<53 + 1
	mustQuery(t, db, "INSERT INTO t VALUES (?, ?, ?)", true, "hello", []byte{1, 2})
	mustQuery(t, db, "INSERT INTO t VALUES (?, ?, ?)", big, 1.5, nil)
	r := mustQuery(t, db, "SELECT a, b, c, typeof(a), typeof(c) FROM t ORDER BY rowid")
	if r.Rows[0][0] != int64(1) || r.Rows[0][1] != "hello" || string(r.Rows[0][2].([]byte)) != "\x01\x02" || r.Rows[0][4] != "blob" {
		t.Errorf("row 0 = %#v", r.Rows[0])
	}
	if r.Rows[1][0] != big || r.Rows[1][1] != 1.5 || r.Rows[1][2] != nil {
		t.Errorf("row 1 = %#v", r.Rows[1])
	}
	r = mustQuery(t, db, "SELECT ?", math.Inf(1))
	if r.Rows[0][0] != nil {
		t.Errorf("Infinity bound as %#v, want NULL", r.Rows[0][0])
	}
}

// spec 62: a failing batch leaves nothing behind; spec 66: errors carry SQLite's message.
func TestBatchAtomic(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	_, _, err := db.Batch(ctx, []Statement{
		{SQL: "INSERT INTO t (v) VALUES (?)", Params: []any{"ok"}},
		{SQL: "INSERT INTO t (v) VALUES (NULL)"},
	}, "")
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || be.Error() != "D1_ERROR: NOT NULL constraint failed: t.v: SQLITE_CONSTRAINT" {
		t.Fatalf("batch error = %v", err)
	}
	if r := mustQuery(t, db, "SELECT count(*) FROM t"); r.Rows[0][0] != int64(0) {
		t.Errorf("rows after failed batch = %v", r.Rows[0][0])
	}
	res, _, err := db.Batch(ctx, []Statement{
		{SQL: "INSERT INTO t (v) VALUES (?)", Params: []any{"a"}},
		{SQL: "SELECT v FROM t"},
	}, "")
	if err != nil || len(res) != 2 || len(res[1].Rows) != 1 {
		t.Fatalf("batch = %+v, %v", res, err)
	}
}

func TestErrors(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (a UNIQUE)")
	mustQuery(t, db, "INSERT INTO t VALUES (1)")
	for _, tc := range []struct {
		sql    string
		params []any
		want   string
	}{
		{"SELEC 1", nil, `D1_ERROR: near "SELEC": syntax error: SQLITE_ERROR`},
		{"INSERT INTO t VALUES (1)", nil, "D1_ERROR: UNIQUE constraint failed: t.a: SQLITE_CONSTRAINT"},
		{"SELECT ?", nil, "D1_ERROR: Wrong number of parameter bindings for SQL query."},
		{"SELECT 1", []any{1}, "D1_ERROR: Wrong number of parameter bindings for SQL query."},
		{"  ", nil, "D1_ERROR: SQL code did not contain a statement."},
		{"SELECT * FROM _cf_METADATA", nil, "D1_ERROR: access to _cf_METADATA.key is prohibited: SQLITE_AUTH"},
		{"BEGIN", nil, "D1_ERROR: cannot start a transaction within a transaction: SQLITE_ERROR"},
		{"INSERT INTO t VALUES (2); COMMIT", nil, "D1_ERROR: cannot commit - no transaction is active: SQLITE_ERROR"},
		{"SELECT ?", []any{strings.Repeat("x", 2_000_001)}, "D1_ERROR: string or blob too big: SQLITE_TOOBIG"},
		{"PRAGMA journal_mode=DELETE", nil, "D1_ERROR: not authorized: SQLITE_AUTH"},
		{"CREATE TEMP TABLE x (a)", nil, "D1_ERROR: not authorized: SQLITE_AUTH"},
		{"ATTACH 'x' AS y", nil, "D1_ERROR: not authorized: SQLITE_AUTH"},
	} {
		_, _, err := db.Query(context.Background(), Statement{SQL: tc.sql, Params: tc.params}, "")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%.40s: error %v, want %s", tc.sql, err, tc.want)
		}
	}
	if r := mustQuery(t, db, "SELECT count(*) FROM t"); r.Rows[0][0] != int64(1) {
		t.Errorf("a failed multi-statement query left rows: %v", r.Rows[0][0])
	}
}

// spec 72: foreign keys are enforced; defer_foreign_keys allows a temporary violation within a batch.
func TestForeignKeys(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE p (id INTEGER PRIMARY KEY)")
	mustQuery(t, db, "CREATE TABLE c (pid INTEGER REFERENCES p(id))")
	if _, _, err := db.Query(ctx, Statement{SQL: "INSERT INTO c VALUES (1)"}, ""); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		t.Errorf("fk violation: %v", err)
	}
	_, _, err := db.Batch(ctx, []Statement{{SQL: "PRAGMA defer_foreign_keys = on"}, {SQL: "INSERT INTO c VALUES (1)"}, {SQL: "INSERT INTO p VALUES (1)"}}, "")
	if err != nil {
		t.Errorf("deferred batch: %v", err)
	}
	_, _, err = db.Batch(ctx, []Statement{{SQL: "PRAGMA defer_foreign_keys = on"}, {SQL: "INSERT INTO c VALUES (2)"}}, "")
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		t.Errorf("deferred violation at commit: %v", err)
	}
	if r := mustQuery(t, db, "SELECT count(*) FROM c"); r.Rows[0][0] != int64(1) {
		t.Errorf("rows in c = %v", r.Rows[0][0])
	}
}

// spec 65
func TestExec(t *testing.T) {
	db := openTest(t)
	n, _, err := db.Exec(context.Background(), "CREATE TABLE t (a);\nINSERT INTO t VALUES (1); INSERT INTO t VALUES (2)\n\nSELECT 1")
	if err != nil || n != 3 {
		t.Fatalf("exec = %d, %v", n, err)
	}
	_, _, err = db.Exec(context.Background(), "SELECT 1\nINVALID SQL")
	if err == nil || err.Error() != `D1_EXEC_ERROR: Error in line 2: INVALID SQL: near "INVALID": syntax error: SQLITE_ERROR` {
		t.Errorf("exec error = %v", err)
	}
}

// spec 67, 68: bookmarks grow with commits, and a query with a bookmark sees its state.
func TestBookmarks(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	_, b0, _ := db.Query(ctx, Statement{SQL: "CREATE TABLE t (a)"}, FirstPrimary)
	_, b1, _ := db.Query(ctx, Statement{SQL: "INSERT INTO t VALUES (1)"}, b0)
	_, b2, err := db.Query(ctx, Statement{SQL: "SELECT * FROM t"}, b1)
	if err != nil || !(b0 < b1) || b2 < b1 {
		t.Fatalf("bookmarks %s %s %s, %v", b0, b1, b2, err)
	}
	if seq, err := db.ParseBookmark(b1); err != nil || seq != db.Seq() {
		t.Errorf("ParseBookmark(%s) = %d, %v; seq %d", b1, seq, err, db.Seq())
	}
	for _, bad := range []string{"nope", "00000001-00000000-00000000-xyz", "1-2-3-" + db.tag, b1 + "0"} {
		if _, _, err := db.Query(ctx, Statement{SQL: "SELECT 1"}, bad); err != ErrBookmark {
			t.Errorf("session %q: %v, want ErrBookmark", bad, err)
		}
	}
	// Bookmarks in D1's shape that this database did not issue are
	// accepted, as D1 and wrangler accept them: another database's, one
	// from wrangler dev, one ahead of the latest commit.
	for _, other := range []string{strings.Replace(b1, b1[len(b1)-4:], "0000", 1),
		"00000000-0000000a-00000000-00000000000000000000000000000000", "ffffffff-00000000-00000000-" + db.tag} {
		if r, _, err := db.Query(ctx, Statement{SQL: "SELECT count(*) FROM t"}, other); err != nil || r.Rows[0][0] != int64(1) {
			t.Errorf("session %q: %v %v, want the latest state", other, r.Rows, err)
		}
	}
	// The sequence survives a restart.
	path, seq := db.Path(), db.Seq()
	db.Close()
	db2, err := Open(path, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if db2.Seq() != seq || db2.Bookmark() != b1 {
		t.Errorf("after reopen: seq %d bookmark %s, want %d %s", db2.Seq(), db2.Bookmark(), seq, b1)
	}
}

// Reads run on snapshots while writes go on, and never see a batch half-done.
func TestConcurrentReadsSeeWholeBatches(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (k, v)")
	mustQuery(t, db, "INSERT INTO t VALUES ('a', 0), ('b', 0)")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, _, err := db.Query(ctx, Statement{SQL: "SELECT sum(v) % 2 FROM t"}, "")
				if err != nil {
					errs <- err
					return
				}
				if r.Rows[0][0] != int64(0) {
					errs <- errors.New("read saw half a batch")
					return
				}
			}
		}()
	}
	for range 200 {
		if _, _, err := db.Batch(ctx, []Statement{{SQL: "UPDATE t SET v = v + 1 WHERE k = 'a'"}, {SQL: "UPDATE t SET v = v + 1 WHERE k = 'b'"}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A batch past the duration limit is interrupted and rolled back (spec 7.9).
func TestQueryLimit(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "db.sqlite"), "u", Options{QueryLimit: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (a)")
	forever := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
	for _, stmts := range [][]Statement{
		{{SQL: forever}},
		{{SQL: "INSERT INTO t VALUES (1)"}, {SQL: "INSERT INTO t " + strings.Replace(forever, "SELECT count(*) FROM c", "SELECT x FROM c", 1)}},
	} {
		start := time.Now()
		_, _, err := db.Batch(ctx, stmts, "")
		if !errors.Is(err, ErrQueryLimit) || time.Since(start) > 5*time.Second {
			t.Errorf("error %v after %s, want ErrQueryLimit", err, time.Since(start))
		}
	}
	if r := mustQuery(t, db, "SELECT count(*) FROM t"); r.Rows[0][0] != int64(0) {
		t.Errorf("the interrupted batch left %v rows", r.Rows[0][0])
	}
}

// A cached statement that failed runs again with new parameters.
func TestStatementReuseAfterError(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (a UNIQUE)")
	ins := "INSERT INTO t VALUES (?)"
	mustQuery(t, db, ins, 1)
	for i := range 3 {
		if _, _, err := db.Query(ctx, Statement{SQL: ins, Params: []any{1}}, ""); err == nil {
			t.Fatalf("duplicate %d: no error", i)
		}
		mustQuery(t, db, ins, i+2)
		if _, _, err := db.Query(ctx, Statement{SQL: "SELECT ? / 0 FROM t WHERE a = ?", Params: []any{1}}, ""); err != ErrBindings {
			t.Fatalf("bindings: %v", err)
		}
		mustQuery(t, db, "SELECT a FROM t WHERE a = ?", 1)
	}
	if r := mustQuery(t, db, "SELECT count(*) FROM t"); r.Rows[0][0] != int64(4) {
		t.Errorf("rows = %v", r.Rows[0][0])
	}
}

// spec 7.10: a PRAGMA's effect lasts for its batch only.
func TestPragmaLastsForBatch(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (a CHECK (a > 0))")
	if _, _, err := db.Batch(ctx, []Statement{{SQL: "PRAGMA ignore_check_constraints = on"}, {SQL: "INSERT INTO t VALUES (-1)"}}, ""); err != nil {
		t.Fatalf("batch with the pragma: %v", err)
	}
	if _, _, err := db.Query(ctx, Statement{SQL: "INSERT INTO t VALUES (-2)"}, ""); err == nil || !strings.Contains(err.Error(), "CHECK constraint failed") {
		t.Errorf("after the batch the CHECK is ignored still: %v", err)
	}
}

// Close waits for queries in flight; queries after it fail with ErrClosed, never hang.
func TestCloseWithQueriesInFlight(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (a)")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				sql := "SELECT count(*) FROM t"
				if i%2 == 0 {
					sql = "INSERT INTO t VALUES (1)"
				}
				if _, _, err := db.Query(ctx, Statement{SQL: sql}, ""); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if _, _, err := db.Query(ctx, Statement{SQL: "SELECT 1"}, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// spec 68 under concurrency: each session reads its own writes, and its bookmark never moves back.
func TestSessionsReadYourWrites(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustQuery(t, db, "CREATE TABLE t (session INTEGER, n INTEGER)")
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bookmark := FirstUnconstrained
			last, prevWrite := "", ""
			for n := range 30 {
				_, b, err := db.Query(ctx, Statement{SQL: "INSERT INTO t VALUES (?, ?)", Params: []any{s, n}}, bookmark)
				if err != nil {
					t.Error(err)
					return
				}
				r, b2, err := db.Query(ctx, Statement{SQL: "SELECT count(*) FROM t WHERE session = ?", Params: []any{s}}, b)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Rows[0][0] != int64(n+1) {
					t.Errorf("session %d: read %v rows after writing %d", s, r.Rows[0][0], n+1)
				}
				if b <= prevWrite || b2 < b {
					t.Errorf("session %d: write bookmark %s after %s, read bookmark %s", s, b, prevWrite, b2)
				}
				prevWrite = b
				last = max(last, b, b2)
				bookmark = last
			}
		}()
	}
	wg.Wait()
}
