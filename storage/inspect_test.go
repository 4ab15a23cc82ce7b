package storage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func commit(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Read-only inspection refuses a statement that would write before it
// runs: no file is created, nothing changes.
func TestInspectReadOnly(t *testing.T) {
	db, path := open(t)
	if _, err := db.Inspect("CREATE TABLE t (x)", nil, true, 0); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("create on no file: %v, want ErrReadOnly", err)
	}
	if exists(path) {
		t.Fatal("a refused statement created the file")
	}
	all(t, db, "CREATE TABLE t (x INTEGER)")
	all(t, db, "INSERT INTO t VALUES (1), (2), (3)")
	if err := db.SetAlarm(1); err != nil { // makes _cf_METADATA
		t.Fatal(err)
	}
	commit(t, db)
	for _, tc := range []struct {
		sql      string
		readOnly bool
		err      error
		rows     int
		count    int64
	}{
		{"SELECT * FROM t", true, nil, 3, 3},
		{"INSERT INTO t VALUES (4)", true, ErrReadOnly, 0, 3},
		{"SELECT 1; DELETE FROM t", true, ErrReadOnly, 0, 3},
		{"DROP TABLE t", true, ErrReadOnly, 0, 3},
		{"PRAGMA foreign_keys = OFF", true, ErrReadOnly, 0, 3},
		{"INSERT INTO t VALUES (4) RETURNING x", false, nil, 1, 4},
		{"SELECT * FROM _cf_METADATA", true, errNotAuthorized, 0, 4}, // the same SQL rules as the object's own
	} {
		res, err := db.Inspect(tc.sql, nil, tc.readOnly, 0)
		if !errors.Is(err, tc.err) && (tc.err != errNotAuthorized || err == nil || !strings.Contains(err.Error(), "prohibited")) { // the authorizer's refusal
			t.Errorf("%q: error %v, want %v", tc.sql, err, tc.err)
		}
		if err == nil && len(res.Rows) != tc.rows {
			t.Errorf("%q: %d rows, want %d", tc.sql, len(res.Rows), tc.rows)
		}
		if !tc.readOnly {
			commit(t, db)
		}
		if got := all(t, db, "SELECT count(*) FROM t")[0][0]; got != tc.count {
			t.Errorf("after %q: %v rows, want %d", tc.sql, got, tc.count)
		}
	}
}

// A result keeps at most max rows; a write runs to its end all the same.
func TestInspectCap(t *testing.T) {
	db, _ := open(t)
	all(t, db, "CREATE TABLE t (x INTEGER)")
	all(t, db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50) INSERT INTO t SELECT i FROM s")
	for _, tc := range []struct {
		sql       string
		max       int
		rows      int
		truncated bool
	}{
		{"SELECT * FROM t", 10, 10, true},
		{"SELECT * FROM t", 50, 50, false},
		{"SELECT * FROM t", 0, 50, false},
		{"UPDATE t SET x = x + 100 RETURNING x", 5, 5, true},
	} {
		res, err := db.Inspect(tc.sql, nil, false, tc.max)
		if err != nil || len(res.Rows) != tc.rows || res.Truncated != tc.truncated {
			t.Errorf("%q max %d: %d rows truncated=%v err=%v, want %d %v", tc.sql, tc.max, len(res.Rows), res.Truncated, err, tc.rows, tc.truncated)
		}
	}
	if got := all(t, db, "SELECT min(x) FROM t")[0][0]; got != int64(101) {
		t.Errorf("after a capped UPDATE: min %v, want 101 (every row updated)", got)
	}
}

// Tables lists user tables (and _cf_KV), Rows pages them.
func TestTablesAndRows(t *testing.T) {
	db, _ := open(t)
	if tables, err := db.Tables(); err != nil || len(tables) != 0 {
		t.Fatalf("no file: %v %v", tables, err)
	}
	all(t, db, "CREATE TABLE a (x INTEGER)")
	all(t, db, "CREATE TABLE w (k TEXT PRIMARY KEY, v) WITHOUT ROWID")
	all(t, db, "CREATE VIEW v AS SELECT x FROM a")
	all(t, db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 25) INSERT INTO a SELECT i FROM s")
	all(t, db, "INSERT INTO w VALUES ('k1', 1), ('k2', 2), ('k3', 3)")
	if err := db.Put("key", []byte("value")); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAlarm(123); err != nil { // _cf_METADATA stays hidden
		t.Fatal(err)
	}
	commit(t, db)
	tables, err := db.Tables()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tb := range tables {
		got = append(got, fmt.Sprintf("%s:%s:%d:%v", tb.Name, tb.Type, tb.Rows, tb.RowID))
	}
	if want := []string{"_cf_KV:table:1:false", "a:table:25:true", "v:view:-1:false", "w:table:3:false"}; !slices.Equal(got, want) {
		t.Errorf("tables = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		table     string
		after     int64
		limit     int
		rows      int
		first     any
		truncated bool
	}{
		{"a", 0, 10, 10, int64(1), true},
		{"a", 10, 10, 10, int64(11), true},
		{"a", 20, 10, 5, int64(21), false},
		{"w", 1, 1, 1, "k2", true},
		{"v", 20, 100, 5, int64(21), false},
	} {
		res, err := db.Rows(tc.table, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("%s after %d: %v", tc.table, tc.after, err)
		}
		if len(res.Rows) != tc.rows || res.Truncated != tc.truncated || res.Rows[0][0] != tc.first {
			t.Errorf("%s after %d: %d rows from %v truncated=%v, want %d from %v %v", tc.table, tc.after, len(res.Rows), res.Rows[0][0], res.Truncated, tc.rows, tc.first, tc.truncated)
		}
	}
	if _, err := db.Rows("_cf_METADATA", 0, 10); !errors.Is(err, ErrNoTable) {
		t.Errorf("hidden table: %v, want ErrNoTable", err)
	}
}
