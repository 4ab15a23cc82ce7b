package storage

import (
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func open(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "objects", "abc.sqlite")
	db := Open(path, Options{})
	t.Cleanup(func() { db.Close() })
	return db, path
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// all runs query and returns its rows.
func all(t *testing.T, db *DB, query string, args ...any) [][]any {
	t.Helper()
	c, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("Exec(%q): %v", query, err)
	}
	var rows [][]any
	for {
		row, ok, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return rows
		}
		rows = append(rows, row)
	}
}

func mustExec(t *testing.T, db *DB, query string, args ...any) *Cursor {
	t.Helper()
	c, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("Exec(%q): %v", query, err)
	}
	return c
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if err.Error() != want {
		t.Fatalf("got error %q, want %q", err, want)
	}
}

func TestReadsDoNotCreateFile(t *testing.T) {
	db, path := open(t)
	if got := all(t, db, "SELECT 1 AS one"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("SELECT 1 = %v", got)
	}
	if got := all(t, db, "PRAGMA foreign_keys"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("PRAGMA foreign_keys = %v, want 1", got)
	}
	_, err := db.Exec("SELECT * FROM t")
	wantErr(t, err, "no such table: t")
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	wantErr(t, err, "no such table: t")
	if _, ok, err := db.Get("k"); ok || err != nil {
		t.Errorf("Get on no file = %v, %v", ok, err)
	}
	if kvs, err := db.List(ListOptions{}); len(kvs) != 0 || err != nil {
		t.Errorf("List on no file = %v, %v", kvs, err)
	}
	if kvs, err := db.GetMany([]string{"a"}); len(kvs) != 0 || err != nil {
		t.Errorf("GetMany on no file = %v, %v", kvs, err)
	}
	if ok, err := db.Delete("k"); ok || err != nil {
		t.Errorf("Delete on no file = %v, %v", ok, err)
	}
	if db.Size() != 0 || db.InTx() {
		t.Errorf("Size = %d, InTx = %v on no file", db.Size(), db.InTx())
	}
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
	if exists(path) || exists(filepath.Dir(path)) {
		t.Fatal("reads created the file")
	}
}

func TestFirstWriteCreatesFile(t *testing.T) {
	for name, write := range map[string]func(*DB) error{
		"sql": func(db *DB) error { _, err := db.Exec("CREATE TABLE t (a)"); return err },
		"kv":  func(db *DB) error { return db.Put("k", []byte("v")) },
		"multi": func(db *DB) error {
			_, err := db.Exec("SELECT 1; CREATE TABLE t (a); SELECT * FROM t")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			db, path := open(t)
			if err := write(db); err != nil {
				t.Fatal(err)
			}
			if !exists(path) {
				t.Fatal("no file after a write")
			}
			if !db.InTx() {
				t.Fatal("write did not open the implicit transaction")
			}
			if _, err := db.Commit(); err != nil {
				t.Fatal(err)
			}
			if db.InTx() {
				t.Fatal("InTx after Commit")
			}
			if db.Size() == 0 {
				t.Fatal("Size = 0 after a write")
			}
		})
	}
}

func TestCommitRollbackClose(t *testing.T) {
	db, path := open(t)
	mustExec(t, db, "CREATE TABLE t (a)")
	// spec 39: the cursor of an INSERT is never read, the row is still written.
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	if err := db.Put("k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}

	mustExec(t, db, "INSERT INTO t VALUES (2)")
	db.Put("k", []byte("v2"))
	if err := db.Rollback(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (3)") // never committed: Close discards it
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Exec after Close: %v", err)
	}

	db = Open(path, Options{})
	defer db.Close()
	if got := all(t, db, "SELECT a FROM t"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("rows after reopen = %v, want [[1]]", got)
	}
	if v, ok, err := db.Get("k"); string(v) != "v1" || !ok || err != nil {
		t.Errorf("Get = %q, %v, %v", v, ok, err)
	}
	if !db.InTx() {
		t.Error("a read on the file did not open the implicit transaction")
	}
}

func TestMultiStatement(t *testing.T) {
	db, _ := open(t)
	got := all(t, db, "CREATE TABLE t (a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT * FROM t WHERE a = ?", 1)
	if !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("got %v", got)
	}
	// Semicolons inside strings, comments and trigger bodies do not split.
	got = all(t, db, `
		CREATE TABLE tp (v, s);
		CREATE TRIGGER tr AFTER INSERT ON tp WHEN new.v < 10 BEGIN
			INSERT INTO tp VALUES (new.v + 1, 'x;y');
			INSERT INTO tp VALUES (new.v + 98, CASE WHEN 1 THEN 'a;' END);
		END;
		INSERT INTO tp VALUES (1, ';'); -- a comment; with a semicolon
		/* and; another */ SELECT v, s FROM tp WHERE v >= ? ORDER BY v`, 2)
	want := [][]any{{int64(2), "x;y"}, {int64(99), "a;"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trigger script: got %v, want %v", got, want)
	}
	// Intermediate results are discarded; leading comments and whitespace are fine.
	got = all(t, db, "  -- hello\n SELECT 1;\n\tSELECT 2 AS two;  \n")
	if !reflect.DeepEqual(got, [][]any{{int64(2)}}) {
		t.Errorf("got %v", got)
	}
}

func TestStatementErrors(t *testing.T) {
	for _, tc := range []struct {
		query string
		args  []any
		want  string
	}{
		{"", nil, ErrNoStatement.Msg},
		{"   ", nil, ErrNoStatement.Msg},
		{";", nil, ErrNoStatement.Msg},
		{"-- c", nil, ErrNoStatement.Msg},
		{"/* c */", nil, ErrNoStatement.Msg},
		{"SELECT 1; -- c", nil, ErrNoStatement.Msg}, // spec 37
		{"SELECT 1; /* c */", nil, ErrNoStatement.Msg},
		{"SELECT 1;;", nil, ErrNoStatement.Msg},
		{"SELECT ?", nil, ErrBindings.Msg}, // spec 35
		{"SELECT ?, ?", []any{1}, ErrBindings.Msg},
		{"SELECT 1", []any{1}, ErrBindings.Msg},
		{"SELECT ?; SELECT 1", []any{1}, ErrMultiParams.Msg}, // spec 36
		{"SELECT ?; SELECT ?", []any{1}, ErrMultiParams.Msg},
		{"INSER INTO t VALUES (1)", nil, `near "INSER": syntax error`},
		{"SELECT * FROM nope", nil, "no such table: nope"},
		{"SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6", nil,
			"too many terms in compound SELECT"}, // spec 40
		{"SELECT ?", []any{struct{}{}}, "storage: unsupported SQL binding type struct {}"},
	} {
		db, _ := open(t)
		_, err := db.Exec(tc.query, tc.args...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Exec(%q, %v) = %v, want %q", tc.query, tc.args, err, tc.want)
		}
	}

	db, _ := open(t)
	for _, q := range []string{"SELECT 1;", "SELECT 1; \n\t", "-- c\nSELECT 1", "SELECT 1 -- c", "; SELECT 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Errorf("Exec(%q): %v", q, err)
		}
	}
	// The statement with a parameter is refused before it runs.
	mustExec(t, db, "CREATE TABLE t (a)")
	_, err := db.Exec("INSERT INTO t VALUES (?); SELECT 1", "x")
	wantErr(t, err, ErrMultiParams.Msg)
	if got := all(t, db, "SELECT count(*) FROM t"); got[0][0] != int64(0) {
		t.Errorf("count = %v", got)
	}
	// 5 compound terms are fine.
	if got := all(t, db, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5"); len(got) != 5 {
		t.Errorf("got %v", got)
	}
}

func TestValues(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE v (i INTEGER, f REAL, s TEXT, b BLOB, n, d DATE, ok BOOLEAN, ts TIMESTAMP)")
	big := int64(1<<53 + 1)
	mustExec(t, db, "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		big, 1.5, "héllo", []byte{0, 1, 2}, nil, "not a date", int64(5), int64(1700000000000))
	mustExec(t, db, "INSERT INTO v (b) VALUES (?)", []byte{})
	c := mustExec(t, db, "SELECT * FROM v ORDER BY rowid")
	if want := []string{"i", "f", "s", "b", "n", "d", "ok", "ts"}; !reflect.DeepEqual(c.Columns(), want) {
		t.Errorf("Columns = %v", c.Columns())
	}
	row, _, _ := c.Next()
	// Declared types never change values (DATE/BOOLEAN/TIMESTAMP stay as stored), and
	// integers keep all 64 bits (the JS layer turns them into doubles).
	want := []any{big, 1.5, "héllo", []byte{0, 1, 2}, nil, "not a date", int64(5), int64(1700000000000)}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %#v\nwant  %#v", row, want)
	}
	row, _, _ = c.Next()
	if b, ok := row[3].([]byte); !ok || len(b) != 0 {
		t.Errorf("empty blob came back as %#v", row[3])
	}
	if _, ok, _ := c.Next(); ok {
		t.Error("extra row")
	}
	if c.RowsRead() != 2 || c.RowsWritten() != 0 {
		t.Errorf("RowsRead = %d, RowsWritten = %d", c.RowsRead(), c.RowsWritten())
	}
	// Duplicate column names on joins are kept.
	if c := mustExec(t, db, "SELECT 1 AS a, 2 AS a"); !reflect.DeepEqual(c.Columns(), []string{"a", "a"}) {
		t.Errorf("Columns = %v", c.Columns())
	}
}

func TestRowsWritten(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE plain (a); CREATE TABLE idx (a, b); CREATE INDEX idx_a ON idx (a)")
	mustExec(t, db, "CREATE TABLE wr (k TEXT PRIMARY KEY, v) WITHOUT ROWID; CREATE TABLE tpk (k TEXT PRIMARY KEY, v)")
	for _, tc := range []struct {
		query string
		want  int64
	}{
		{"INSERT INTO plain VALUES (1)", 1},
		{"INSERT INTO idx VALUES (1, 1)", 2}, // spec 38: one index → 2
		{"INSERT INTO idx VALUES (2, 2), (3, 3)", 4},
		{"UPDATE idx SET b = 0", 6},
		{"INSERT INTO wr VALUES ('a', 1)", 1},
		{"INSERT INTO tpk VALUES ('a', 1)", 2},
		{"DELETE FROM idx WHERE a = 1", 2},
		{"INSERT INTO plain VALUES (2) RETURNING a", 1},
		{"SELECT * FROM idx", 0},
		{"CREATE TABLE later (a)", 0},
		{"DELETE FROM plain WHERE a = 99", 0},
	} {
		if got := mustExec(t, db, tc.query).RowsWritten(); got != tc.want {
			t.Errorf("%s: RowsWritten = %d, want %d", tc.query, got, tc.want)
		}
	}
	if c := mustExec(t, db, "SELECT * FROM idx"); c.RowsRead() != 2 {
		t.Errorf("RowsRead = %d, want 2", c.RowsRead())
	}
	// The index count follows schema changes.
	mustExec(t, db, "CREATE INDEX plain_a ON plain (a)")
	if got := mustExec(t, db, "INSERT INTO plain VALUES (3)").RowsWritten(); got != 2 {
		t.Errorf("after CREATE INDEX: RowsWritten = %d, want 2", got)
	}
}

func TestAuthorizer(t *testing.T) {
	const denied = "not authorized"
	for _, tc := range []struct {
		query string
		want  string // "" = allowed
	}{
		// spec 33: reserved names, any case.
		{"CREATE TABLE _cf_x (a)", denied},
		{"CREATE TABLE _CF_x (a)", denied},
		{"SELECT * FROM _cf_KV", "access to _cf_KV.key is prohibited"},
		{"SELECT value FROM _cf_kv", "access to _cf_KV.value is prohibited"},
		{"INSERT INTO _cf_KV VALUES ('a', x'00')", denied},
		{"UPDATE _cf_KV SET value = 1", denied},
		{"DELETE FROM _cf_KV", denied},
		{"DROP TABLE _cf_KV", denied},
		{"CREATE INDEX i ON _cf_KV (value)", denied},
		{"CREATE INDEX _cf_i ON t (a)", denied},
		{"CREATE TRIGGER tr AFTER INSERT ON _cf_KV BEGIN SELECT 1; END", denied},
		{"CREATE VIEW _cf_v AS SELECT 1", denied},
		{"PRAGMA table_info(_cf_KV)", denied},
		{"ALTER TABLE t RENAME TO _cf_t", denied},
		{"ALTER TABLE t RENAME TO /* sneaky */ \"_CF_t\"", denied},
		{"PRAGMA table_list", ""},
		{"SELECT name FROM sqlite_master", ""},
		// spec 34: transactions.
		{"BEGIN TRANSACTION", ErrTransaction.Msg},
		{"BEGIN", ErrTransaction.Msg},
		{"COMMIT", ErrTransaction.Msg},
		{"END", ErrTransaction.Msg},
		{"ROLLBACK", ErrTransaction.Msg},
		{"SAVEPOINT s", ErrTransaction.Msg},
		{"RELEASE s", ErrTransaction.Msg},
		{"SELECT 1; BEGIN", ErrTransaction.Msg},
		// spec 41: pragmas, functions, attach.
		{"PRAGMA foreign_keys", ""},
		{"PRAGMA foreign_keys = ON", ""},
		{"PRAGMA foreign_keys = 2", denied},
		{"PRAGMA defer_foreign_keys = 'on'", ""},
		{"PRAGMA user_version", denied},
		{"PRAGMA user_version = 3", denied},
		{"PRAGMA journal_mode = DELETE", denied},
		{"PRAGMA journal_mode", denied},
		{"PRAGMA page_size", ""},
		{"PRAGMA page_size = 8192", denied},
		{"PRAGMA data_version", ""},
		{"PRAGMA table_info(t)", ""},
		{"PRAGMA index_list(t)", ""},
		{"PRAGMA quick_check", ""},
		{"PRAGMA optimize", ""},
		{"PRAGMA synchronous = OFF", denied},
		{"SELECT * FROM pragma_table_info('t')", ""},
		{"SELECT sqlite_version()", "not authorized to use function: sqlite_version"},
		{"SELECT SQLITE_SOURCE_ID()", "not authorized to use function: SQLITE_SOURCE_ID"},
		{"SELECT load_extension('x')", "not authorized to use function: load_extension"},
		{"SELECT abs(-1), upper('x'), json_extract('{\"a\":1}', '$.a'), '{\"a\":2}' ->> '$.a', date('now'), 'a' LIKE 'A'", ""},
		{"SELECT count(*), group_concat(a), row_number() OVER () FROM t", ""},
		{"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c", ""},
		{"ATTACH 'other.db' AS other", denied},
		{"DETACH other", denied},
		// spec 42: temp objects and virtual tables.
		{"CREATE TEMP TABLE tt (a)", denied},
		{"CREATE TEMPORARY VIEW tv AS SELECT 1", denied},
		{"CREATE TEMP TRIGGER ttr AFTER INSERT ON t BEGIN SELECT 1; END", denied},
		{"CREATE VIRTUAL TABLE d USING fts5(body)", ""},
		{"CREATE VIRTUAL TABLE d2 USING FTS5(body)", ""},
		{"CREATE VIRTUAL TABLE d3 USING fts5abcd(body)", denied},
		{"CREATE VIRTUAL TABLE _cf_d USING fts5(body)", denied},
		// Allowed schema work.
		{"CREATE TABLE u (a); CREATE INDEX u_a ON u (a); ALTER TABLE u ADD COLUMN b; ALTER TABLE u RENAME TO u2; DROP TABLE u2", ""},
		{"ANALYZE", ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			db, _ := open(t)
			mustExec(t, db, "CREATE TABLE t (a)")
			if err := db.Put("k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			_, err := db.Exec(tc.query)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			wantErr(t, err, tc.want)
			// Nothing reserved was created, and t was not renamed.
			if got := all(t, db, "SELECT name FROM sqlite_master WHERE name LIKE '\\_cf\\_%' ESCAPE '\\' OR name = 't' ORDER BY name"); !reflect.DeepEqual(got, [][]any{{"_cf_KV"}, {"t"}}) {
				t.Errorf("schema afterwards: %v", got)
			}
		})
	}
}

func TestTableListShowsKV(t *testing.T) {
	db, _ := open(t)
	db.Put("k", []byte("v"))
	found := false
	for _, row := range all(t, db, "PRAGMA table_list") {
		found = found || row[1] == "_cf_KV"
	}
	if !found {
		t.Error("PRAGMA table_list does not list _cf_KV")
	}
}

func TestFTS5(t *testing.T) {
	db, _ := open(t)
	got := all(t, db, `CREATE VIRTUAL TABLE docs USING fts5(body);
		INSERT INTO docs VALUES ('hello world'), ('goodbye moon');
		SELECT body, bm25(docs) < 0, highlight(docs, 0, '[', ']') FROM docs WHERE docs MATCH ?`, "world")
	if len(got) != 1 || got[0][0] != "hello world" || got[0][2] != "hello [world]" {
		t.Errorf("got %v", got)
	}
}

func TestForeignKeys(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p (id))")
	_, err := db.Exec("INSERT INTO c VALUES (5)")
	wantErr(t, err, "FOREIGN KEY constraint failed")
	if e := (*Error)(nil); !errors.As(err, &e) || e.Code != 19 {
		t.Errorf("error %#v, want Code 19", err)
	}
	// A statement error leaves the implicit transaction (and the DB) usable.
	if db.Broken() != nil || !db.InTx() {
		t.Fatalf("Broken = %v, InTx = %v", db.Broken(), db.InTx())
	}
	mustExec(t, db, "INSERT INTO p VALUES (5); INSERT INTO c VALUES (5)")
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
}

// spec 46: when SQLite rolls back the implicit transaction by itself, the batch is gone,
// and the DB refuses further work with the same error.
func TestBrokenWhenTransactionLost(t *testing.T) {
	db, path := open(t)
	mustExec(t, db, "CREATE TABLE t (a UNIQUE); INSERT INTO t VALUES (1)")
	db.Commit()
	mustExec(t, db, "INSERT INTO t VALUES (2)")
	db.Put("k", []byte("v"))
	_, err := db.Exec("INSERT OR ROLLBACK INTO t VALUES (1)")
	wantErr(t, err, "UNIQUE constraint failed: t.a")
	if db.Broken() != err {
		t.Fatalf("Broken = %v, want %v", db.Broken(), err)
	}
	if _, _, err2 := db.Get("k"); err2 != err {
		t.Fatalf("Get after break: %v", err2)
	}
	if _, err2 := db.Commit(); err2 != err {
		t.Fatalf("Commit after break: %v", err2)
	}
	db.Close()
	db = Open(path, Options{})
	defer db.Close()
	if got := all(t, db, "SELECT a FROM t"); !reflect.DeepEqual(got, [][]any{{int64(1)}}) {
		t.Errorf("rows = %v, want [[1]]", got)
	}
	if _, ok, _ := db.Get("k"); ok {
		t.Error("k survived the rolled-back batch")
	}
}

func TestCommitFailureBreaks(t *testing.T) {
	db, path := open(t)
	mustExec(t, db, "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p (id))")
	db.Commit()
	mustExec(t, db, "PRAGMA defer_foreign_keys = ON; INSERT INTO c VALUES (7)")
	_, err := db.Commit()
	wantErr(t, err, "FOREIGN KEY constraint failed")
	if db.Broken() == nil || db.InTx() {
		t.Fatalf("Broken = %v, InTx = %v", db.Broken(), db.InTx())
	}
	db.Close()
	db = Open(path, Options{})
	defer db.Close()
	if got := all(t, db, "SELECT count(*) FROM c"); got[0][0] != int64(0) {
		t.Errorf("count = %v", got)
	}
}

func TestDeleteAll(t *testing.T) {
	db, path := open(t)
	mustExec(t, db, "CREATE TABLE t (a); INSERT INTO t VALUES (1)")
	db.Put("k", []byte("v"))
	db.Commit()
	db.Put("k2", []byte("v2")) // pending writes are wiped too
	if err := db.DeleteAll(); err != nil {
		t.Fatal(err)
	}
	if exists(path) || exists(path+"-wal") || db.InTx() || db.Size() != 0 {
		t.Fatal("DeleteAll left a file or a transaction behind")
	}
	if _, ok, _ := db.Get("k"); ok {
		t.Error("k survived")
	}
	_, err := db.Exec("SELECT * FROM t")
	wantErr(t, err, "no such table: t")
	if err := db.Put("k3", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	db.Commit()
	db.Close()
	db = Open(path, Options{})
	defer db.Close()
	kvs, _ := db.List(ListOptions{})
	if !reflect.DeepEqual(kvs, []KV{{"k3", []byte("v3")}}) {
		t.Errorf("after DeleteAll + Put: %v", kvs)
	}
	// A fresh handle on an existing file (the object restarted) wipes it too.
	db.Close()
	db = Open(path, Options{})
	if err := db.DeleteAll(); err != nil || exists(path) || exists(path+"-wal") {
		t.Fatalf("DeleteAll on a fresh handle: %v", err)
	}
	if err := Open(filepath.Join(t.TempDir(), "none"), Options{}).DeleteAll(); err != nil {
		t.Errorf("DeleteAll without a file: %v", err)
	}
}

func TestSize(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE t (a)")
	page := all(t, db, "PRAGMA page_size")[0][0].(int64)
	s1 := db.Size()
	mustExec(t, db, "INSERT INTO t SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT x FROM c)")
	s2 := db.Size()
	if s1 <= 0 || s2 <= s1 || s1%page != 0 || s2%page != 0 {
		t.Errorf("sizes %d then %d, page size %d", s1, s2, page)
	}
	db.Commit()
	if db.Size() != s2 {
		t.Errorf("size after commit %d, want %d", db.Size(), s2)
	}
}

func TestPragmasOnFile(t *testing.T) {
	db, _ := open(t)
	db.Put("k", nil)
	for q, want := range map[string]any{
		"PRAGMA journal_mode": "wal",
		"PRAGMA synchronous":  int64(1), // NORMAL: Sync makes commits durable
		"PRAGMA foreign_keys": int64(1),
	} {
		var got any
		if err := db.queryInternal(q, nil, func(r []driver.Value) { got = r[0] }); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", q, got, err, want)
		}
	}
}
