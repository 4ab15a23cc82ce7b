package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	commitlog "github.com/cairn-dev/cairn/commit"
)

// historyDB opens the object's DB with a history, its commits made durable
// through a commitlog.Local that keeps their records.
type historyDB struct {
	t    *testing.T
	path string
	log  *commitlog.Local
	h    *commitlog.History
	db   *DB
}

func openHistoryDB(t *testing.T) *historyDB {
	dir := t.TempDir()
	log := commitlog.NewLocal(0)
	hs := commitlog.NewHistories(filepath.Join(dir, "history"), nil)
	log.SetHistories(hs)
	h, err := hs.Open("objects/C/x")
	if err != nil {
		t.Fatal(err)
	}
	x := &historyDB{t: t, path: filepath.Join(dir, "C", "x.sqlite"), log: log, h: h}
	x.reopen()
	t.Cleanup(func() { x.db.Close(); log.Close(); hs.Close() })
	return x
}

func (x *historyDB) reopen() {
	if x.db != nil {
		if err := x.db.Close(); err != nil {
			x.t.Fatal(err)
		}
	}
	x.db = Open(x.path, Options{History: x.h, Log: x.log})
}

// commit ends the turn as the Gate does: Commit, then Submit and wait.
func (x *historyDB) commit() {
	x.t.Helper()
	if _, err := x.db.Commit(); err != nil {
		x.t.Fatal(err)
	}
	done := make(chan error)
	x.log.Submit(x.db, func(err error) { done <- err })
	if err := <-done; err != nil {
		x.t.Fatal(err)
	}
}

func (x *historyDB) rows() string {
	var s string
	for _, r := range all(x.t, x.db, "SELECT v FROM t ORDER BY v") {
		s += fmt.Sprint(r[0], ";")
	}
	return s
}

// Bookmarks of an object's states, a restore on the next open (and the
// bookmark undoing it), DeleteAll in the history, and bad input.
func TestObjectHistory(t *testing.T) {
	x := openHistoryDB(t)
	if b, err := x.db.Bookmark(); err != nil || b[:17] != "00000000-00000000" {
		t.Fatalf("bookmark before any write = %q, %v", b, err)
	}
	mustExec(t, x.db, "CREATE TABLE t (v TEXT)")
	mustExec(t, x.db, "INSERT INTO t VALUES ('a')")
	x.commit()
	b1, _ := x.db.Bookmark()
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	mustExec(t, x.db, "INSERT INTO t VALUES ('b')")
	x.commit()
	b2, _ := x.db.Bookmark()
	if !(b1 < b2) {
		t.Fatalf("bookmarks %s, %s not ordered", b1, b2)
	}
	if b, err := x.db.BookmarkForTime(mid); err != nil || b != b1 {
		t.Fatalf("bookmark for time = %s %v, want %s", b, err, b1)
	}
	if err := x.db.DeleteAll(); err != nil {
		t.Fatal(err)
	}
	x.commit()
	b3, _ := x.db.Bookmark()
	mustExec(t, x.db, "CREATE TABLE t (v TEXT)")
	mustExec(t, x.db, "INSERT INTO t VALUES ('c')")
	x.commit()

	for _, bad := range []string{"junk", "00000001-00000000-00000000-00000000000000000000000000000000", b2[:len(b2)-1] + "0"} {
		if _, err := x.db.RestoreOnNextOpen(bad); !errors.Is(err, ErrBookmark) && !errors.Is(err, ErrOutsideWindow) {
			t.Errorf("RestoreOnNextOpen(%q) = %v", bad, err)
		}
	}
	if x.db.RestorePending() {
		t.Fatal("a rejected bookmark left a restore pending")
	}
	for _, tc := range []struct {
		to   string
		want string
	}{{b1, "a;"}, {b2, "a;b;"}} {
		undo, err := x.db.RestoreOnNextOpen(tc.to)
		if err != nil {
			t.Fatal(err)
		}
		before := x.rows()
		x.reopen()
		if got := x.rows(); got != tc.want {
			t.Fatalf("restored to %s: rows %q, want %q", tc.to, got, tc.want)
		}
		// Undo, then check.
		if _, err := x.db.RestoreOnNextOpen(undo); err != nil {
			t.Fatal(err)
		}
		x.reopen()
		if got := x.rows(); got != before {
			t.Fatalf("undo: rows %q, want %q", got, before)
		}
	}
	// The state after DeleteAll is empty.
	if _, err := x.db.RestoreOnNextOpen(b3); err != nil {
		t.Fatal(err)
	}
	x.reopen()
	if _, err := x.db.Exec("SELECT * FROM t"); err == nil {
		t.Fatal("restored to the state after DeleteAll, the table is still there")
	}
}
