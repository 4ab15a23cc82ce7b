package d1

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// D1 accepts UPDATE/DELETE … ORDER BY … LIMIT (chanfana issues
// DELETE … RETURNING * LIMIT 1).
func TestUpdateDeleteLimit(t *testing.T) {
	db := openTest(t)
	mustQuery(t, db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)")
	for i := 1; i <= 6; i++ {
		mustQuery(t, db, "INSERT INTO t (a, b) VALUES (?, ?)", i*10, fmt.Sprint("r", i))
	}
	ids := func() string {
		r := mustQuery(t, db, "SELECT group_concat(id || ':' || a, ',') FROM (SELECT id, a FROM t ORDER BY id)")
		return fmt.Sprint(r.Rows[0][0])
	}
	r := mustQuery(t, db, "DELETE FROM t RETURNING * LIMIT 1")
	if r.Meta.Changes != 1 || len(r.Rows) != 1 || r.Rows[0][0] != int64(1) {
		t.Errorf("delete returning limit: %+v %v", r.Meta, r.Rows)
	}
	r = mustQuery(t, db, "DELETE FROM t WHERE a > ? ORDER BY a DESC LIMIT ?", 0, 2)
	if r.Meta.Changes != 2 {
		t.Errorf("delete order limit changes = %d", r.Meta.Changes)
	}
	if got := ids(); got != "2:20,3:30,4:40" {
		t.Errorf("after deletes: %s", got)
	}
	r = mustQuery(t, db, "UPDATE t SET a = a + ? WHERE b != ? RETURNING id, a ORDER BY id DESC LIMIT ? OFFSET 1", 1, "none", 1)
	if r.Meta.Changes != 1 || len(r.Rows) != 1 || r.Rows[0][0] != int64(3) || r.Rows[0][1] != int64(31) {
		t.Errorf("update returning order limit: %+v %v", r.Meta, r.Rows)
	}
	if got := ids(); got != "2:20,3:31,4:40" {
		t.Errorf("after update: %s", got)
	}
	// Several statements: the rewritten one keeps its tail.
	res, _, err := db.Batch(context.Background(), []Statement{{SQL: "UPDATE t SET a = 0 LIMIT 1; SELECT count(*) FROM t WHERE a = 0"}}, "")
	if err != nil || res[0].Rows[0][0] != int64(1) {
		t.Errorf("multi-statement: %v %v", res, err)
	}
	// Errors stay SQLite's.
	for q, want := range map[string]string{
		"DELETE FROM t ORDER BY a":         `near "ORDER": syntax error`,
		"DELETE FROM nope LIMIT 1":         "no such table: nope",
		"DELETE FROM _cf_METADATA LIMIT 1": "not authorized",
	} {
		_, _, err := db.Query(context.Background(), Statement{SQL: q}, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", q, err, want)
		}
	}
}

// The meta of DDL and DML statements as D1 reports it. The wanted values
// were measured on wrangler 4.86.0's local D1 (workerd's SQLite, which
// counts b-tree writes): changes are rows changed by INSERT/UPDATE/DELETE
// only, rows_written counts index entries and sqlite_schema rows written,
// changed_db is changes != 0, last_row_id moved or the size changed.
func TestMetaMatchesD1(t *testing.T) {
	db := openTest(t)
	for _, tc := range []struct {
		sql         string
		changes     int64
		rowsWritten int64
		changedDB   bool
	}{
		{"CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE, b, c)", 0, 3, true},
		{"CREATE TABLE k (id TEXT PRIMARY KEY, a UNIQUE, b UNIQUE)", 0, 5, true},
		{"CREATE TABLE w (id TEXT PRIMARY KEY, a) WITHOUT ROWID", 0, 2, true},
		{"INSERT INTO t (a, b) VALUES ('x', 1), ('y', 2), ('z', 3)", 3, 6, true},
		{"CREATE INDEX t_b ON t(b)", 0, 4, true},
		{"INSERT INTO t (a, b) VALUES ('w', 4)", 1, 3, true},
		{"UPDATE t SET c = 1 WHERE id = 1", 1, 1, true},
		{"UPDATE t SET b = 9 WHERE id = 1", 1, 2, true},
		{"UPDATE t SET a = 'q', b = 8 WHERE id = 1", 1, 3, true},
		{"DELETE FROM t WHERE id = 2", 1, 1, true},
		{"DELETE FROM t WHERE id > 0", 3, 3, true},
		{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", 0, 1, false},
		{"CREATE TABLE IF NOT EXISTS t (x)", 0, 0, false},
		{"ALTER TABLE t ADD COLUMN d", 0, 1, false},
		{"CREATE VIEW v AS SELECT * FROM t", 0, 2, false},
		{"DROP VIEW IF EXISTS nope", 0, 0, false},
		{"INSERT INTO w VALUES ('a', 1)", 1, 1, true},
	} {
		r := mustQuery(t, db, tc.sql)
		if r.Meta.Changes != tc.changes || r.Meta.RowsWritten != tc.rowsWritten || r.Meta.ChangedDB != tc.changedDB {
			t.Errorf("%s: changes %d rows_written %d changed_db %v; D1: %d %d %v", tc.sql,
				r.Meta.Changes, r.Meta.RowsWritten, r.Meta.ChangedDB, tc.changes, tc.rowsWritten, tc.changedDB)
		}
	}
}

// In a batch, each statement's changed_db compares with the state before
// that statement (D1 runs and measures each query on its own): a SELECT
// after a CREATE TABLE changed nothing.
func TestChangedDBPerStatement(t *testing.T) {
	db := openTest(t)
	res, _, err := db.Batch(context.Background(), []Statement{
		{SQL: "CREATE TABLE t (a)"}, {SQL: "SELECT count(*) FROM t"}, {SQL: "INSERT INTO t VALUES (1)"}, {SQL: "SELECT 1"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, r := range res {
		got = append(got, r.Meta.ChangedDB)
	}
	if fmt.Sprint(got) != "[true false true false]" {
		t.Errorf("changed_db = %v, want [true false true false]", got)
	}
	if res[0].Meta.SizeAfter == 0 || res[3].Meta.SizeAfter != db.Size() {
		t.Errorf("size_after = %d … %d, db %d", res[0].Meta.SizeAfter, res[3].Meta.SizeAfter, db.Size())
	}
}
