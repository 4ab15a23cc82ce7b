package storage

import (
	"database/sql/driver"
	"testing"
)

func maxPageCount(t *testing.T, db *DB) int64 {
	t.Helper()
	var n int64
	if err := db.queryInternal("PRAGMA max_page_count", nil, func(row []driver.Value) { n, _ = row[0].(int64) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An object's database is bounded to 10 GB, as on Cloudflare; the test
// hook lowers the bound for this DB only, and a write past it is a
// critical SQLITE_FULL that breaks the DB (spec 46).
func TestMaxSize(t *testing.T) {
	db, path := open(t)
	if err := db.SetMaxPageCount(6); err != nil { // before the file exists: applied when it is made
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (v)")
	if got := maxPageCount(t, db); got != 6 {
		t.Errorf("max_page_count = %d, want 6", got)
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = db.Exec("INSERT INTO t VALUES (zeroblob(2000))")
	}
	wantErr(t, err, "database or disk is full")
	if !Critical(err) || CodeName(err) != "SQLITE_FULL" || ErrorCode(err) != 13 {
		t.Errorf("Critical(%v) = %v, CodeName %q, ErrorCode %d", err, Critical(err), CodeName(err), ErrorCode(err))
	}
	for _, e := range []error{ErrBindings, &Error{Msg: "UNIQUE constraint failed: t.a", Code: 19}, nil} {
		if Critical(e) {
			t.Errorf("Critical(%v) = true", e)
		}
	}
	db.Rollback()
	db.Close()
	// Opened again (an object reset), the bound is the default.
	db = Open(path, Options{})
	defer db.Close()
	mustExec(t, db, "CREATE TABLE u (v)")
	if got, want := maxPageCount(t, db), int64(MaxSize/4096); got != want {
		t.Errorf("default max_page_count = %d, want %d (10 GB)", got, want)
	}
}

// DELETE/UPDATE … ORDER BY … LIMIT work in an object's SQL as on workerd
// (whose SQLite is built with SQLITE_ENABLE_UPDATE_DELETE_LIMIT).
func TestUpdateDeleteLimit(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE l (a); INSERT INTO l VALUES (1), (2), (3)")
	if got := all(t, db, "DELETE FROM l RETURNING * LIMIT 1"); len(got) != 1 || got[0][0] != int64(1) {
		t.Errorf("DELETE … RETURNING * LIMIT 1 = %v", got)
	}
	mustExec(t, db, "UPDATE l SET a = a * 10 ORDER BY a DESC LIMIT ?", 1)
	if got := all(t, db, "SELECT group_concat(a) FROM l"); got[0][0] != "2,30" {
		t.Errorf("after UPDATE … LIMIT: %v", got)
	}
	_, err := db.Exec("DELETE FROM l ORDER BY a")
	wantErr(t, err, `near "ORDER": syntax error`)
}
