package storage

import (
	"os"
	"strings"
	"sync"
	"testing"
)

func TestSavepoints(t *testing.T) {
	db, _ := open(t)
	mustExec(t, db, "CREATE TABLE t (a)")
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	if err := db.Savepoint(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (2)")
	if err := db.Savepoint(); err != nil { // nested
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO t VALUES (3)")
	if ok, err := db.Commit(); ok || err != nil {
		t.Fatalf("Commit inside a savepoint = %v, %v; want nothing done", ok, err)
	}
	if err := db.RollbackSavepoint(); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseSavepoint(); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseSavepoint(); err == nil {
		t.Fatal("release with no savepoint open: want an error")
	}
	if ok, err := db.Commit(); !ok || err != nil {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	rows := all(t, db, "SELECT a FROM t ORDER BY a")
	if len(rows) != 2 || rows[0][0] != int64(1) || rows[1][0] != int64(2) {
		t.Fatalf("rows %v, want 1 and 2 (3 rolled back)", rows)
	}
}

// A savepoint rolled back takes the KV table it created with it; the DB
// must notice, not believe the table is still there.
func TestSavepointRollbackForgetsKVTable(t *testing.T) {
	db, _ := open(t)
	if err := db.Savepoint(); err != nil {
		t.Fatal(err)
	}
	if err := db.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.RollbackSavepoint(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Get("k"); ok || err != nil {
		t.Fatalf("Get after rollback: ok=%v err=%v", ok, err)
	}
	if err := db.Put("k", []byte("w")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := db.Get("k"); !ok || err != nil || string(v) != "w" {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
}

// Sync runs on the commit layer's goroutines while the object keeps writing.
func TestSyncConcurrentWithWrites(t *testing.T) {
	db, path := open(t)
	if err := db.Sync(); err != nil { // no file yet: nothing to do
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := db.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for i := range 200 {
		if err := db.Put("k", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL: %v", err)
	}
	if exists(path + "-shm") {
		t.Fatal("a -shm file: exclusive locking should keep the WAL index in memory (one file less per object)")
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(); err != nil { // after Close: nothing left to sync
		t.Fatal(err)
	}
}

// Commit reports whether the transaction wrote, so read-only events do not
// wait for a sync.
func TestCommitReportsWrites(t *testing.T) {
	db, _ := open(t)
	steps := []struct {
		name  string
		do    func() error
		wrote bool
	}{
		{"create", func() error { _, err := db.Exec("CREATE TABLE t (a)"); return err }, true},
		{"select", func() error { _, err := db.Exec("SELECT * FROM t"); return err }, false},
		{"insert", func() error { _, err := db.Exec("INSERT INTO t VALUES (1)"); return err }, true},
		{"kv get", func() error { _, _, err := db.Get("k"); return err }, false},
		{"kv put", func() error { return db.Put("k", []byte("v")) }, true},
		{"kv list", func() error { _, err := db.List(ListOptions{}); return err }, false},
		{"kv delete", func() error { _, err := db.Delete("k"); return err }, true},
		{"kv delete missing", func() error { _, err := db.Delete("k"); return err }, false},
		{"kv put again", func() error { return db.Put("k", []byte("v")) }, true},
		{"kv delete many", func() error { _, err := db.DeleteMany([]string{"k", "x"}); return err }, true},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if wrote, err := db.Commit(); err != nil || wrote != s.wrote {
			t.Errorf("%s: Commit = %v, %v; want %v", s.name, wrote, err, s.wrote)
		}
	}
}

// DBs sharing a Scratch read from it before their files exist, under their
// own authorizer, and create their files on the first write.
func TestScratchShared(t *testing.T) {
	dir := t.TempDir()
	sc := NewScratch()
	a := Open(dir+"/a.sqlite", Options{Scratch: sc})
	b := Open(dir+"/b.sqlite", Options{Scratch: sc})
	defer sc.Close()
	defer a.Close()
	defer b.Close()
	if rows := all(t, a, "SELECT count(*) FROM sqlite_master"); rows[0][0] != int64(0) {
		t.Fatalf("scratch not empty: %v", rows)
	}
	if _, err := b.Exec("SELECT sqlite_version()"); err == nil || !strings.Contains(err.Error(), "not authorized") {
		t.Fatalf("sqlite_version() on scratch: %v, want not authorized", err)
	}
	mustExec(t, a, "CREATE TABLE t (x)")
	if !exists(dir+"/a.sqlite") || exists(dir+"/b.sqlite") {
		t.Fatal("want a's file created by its write, b still without one")
	}
	if rows := all(t, b, "SELECT count(*) FROM sqlite_master"); rows[0][0] != int64(0) {
		t.Fatalf("a's table leaked into the scratch seen by b: %v", rows)
	}
}

// The alarm is a storage write: committed with the turn, rolled back with it.
func TestAlarm(t *testing.T) {
	db, _ := open(t)
	if _, ok, err := db.Alarm(); ok || err != nil {
		t.Fatalf("fresh object: alarm set=%v err=%v", ok, err)
	}
	if err := db.SetAlarm(1234); err != nil {
		t.Fatal(err)
	}
	if ms, ok, err := db.Alarm(); !ok || ms != 1234 || err != nil {
		t.Fatalf("Alarm = %d %v %v", ms, ok, err)
	}
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Savepoint(); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAlarm(99); err != nil {
		t.Fatal(err)
	}
	if err := db.RollbackSavepoint(); err != nil {
		t.Fatal(err)
	}
	if ms, _, _ := db.Alarm(); ms != 1234 {
		t.Fatalf("after rollback: %d, want 1234", ms)
	}
	if err := db.DeleteAlarm(); err != nil {
		t.Fatal(err)
	}
	db.Commit()
	if _, ok, _ := db.Alarm(); ok {
		t.Fatal("alarm still set after delete")
	}
	if _, err := db.Exec("SELECT * FROM _cf_METADATA"); err == nil {
		t.Fatal("user SQL read _cf_METADATA")
	}
}
