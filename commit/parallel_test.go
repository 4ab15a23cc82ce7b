package commit

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A round syncs a database's WAL and its history at the same time: the
// history becomes durable while the WAL's sync is still running (before,
// it waited for it, and a commit paid two fsyncs one after the other).
func TestRoundSyncsHistoryWithWAL(t *testing.T) {
	hs := NewHistories(t.TempDir(), nil)
	l := NewLocal(0)
	l.SetHistories(hs)
	h, err := hs.Open("x")
	if err != nil {
		t.Fatal(err)
	}
	var wal syncFunc = func() error {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			h.mu.Lock()
			synced := !h.dirty
			h.mu.Unlock()
			if synced {
				return nil
			}
		}
		return errors.New("the history was not synced while the WAL's sync ran")
	}
	for seq := uint64(1); seq <= 3; seq++ {
		if err := l.Record(&wal, &Record{Kind: KindCommit, DB: "x", Seq: seq, Time: time.Now(), PageSize: 512, DBSize: 1, Frames: []Frame{{1, make([]byte, 512)}}}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		l.Submit(&wal, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatalf("commit %d: %v", seq, err)
		}
	}
	// A history that fails to sync fails the commit.
	if err := l.Record(&wal, &Record{Kind: KindCommit, DB: "x", Seq: 4, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.failed = errors.New("injected")
	h.mu.Unlock()
	wal = func() error { return nil }
	done := make(chan error, 1)
	l.Submit(&wal, func(err error) { done <- err })
	if err := <-done; err == nil {
		t.Fatal("a commit whose record failed to sync was acknowledged")
	}
	l.Close()
}

// Power cuts after a round in which one of the two syncs failed (lazyfs:
// the failed file's unsynced data is lost at the cut): the history is
// behind (its sync failed) or ahead (the WAL's did). Reconcile at open
// makes the database the history's latest state, with every acknowledged
// commit in both.
func TestPowerCutBetweenWALAndHistory(t *testing.T) {
	for _, fail := range []string{".log", "-wal"} {
		t.Run("fail "+fail, func(t *testing.T) {
			mnt, l, remount := mountLazyFS(t)
			path := filepath.Join(mnt, "db.sqlite")
			hs := NewHistories(filepath.Join(mnt, "history"), nil)
			log := NewLocal(0)
			log.SetHistories(hs)
			db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_sync=NORMAL")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			if _, err := db.Exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			if err := SyncFileAndDir(path); err != nil {
				t.Fatal(err)
			}
			h, err := hs.Open("x")
			if err != nil {
				t.Fatal(err)
			}
			if err := h.SaveBase(path, 1, time.Now()); err != nil {
				t.Fatal(err)
			}
			tail := NewWALTail(path)
			f := WAL{Path: path}
			seq := uint64(1)
			commit := func(k int) error {
				if _, err := db.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d, printf('%%.*c', 2000, 'v'))", k)); err != nil {
					t.Fatal(err)
				}
				frames, size, page, ok, err := tail.Next()
				if err != nil || !ok {
					t.Fatalf("tail: %v %v", ok, err)
				}
				seq++
				if err := log.Record(f, &Record{Kind: KindCommit, DB: "x", Seq: seq, Time: time.Now(), PageSize: page, DBSize: size, Frames: frames, WAL: tail.Pos()}); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				log.Submit(f, func(err error) { done <- err })
				return <-done
			}
			for k := range 5 {
				if err := commit(k); err != nil {
					t.Fatal(err)
				}
			}
			l.FailSync(fail)
			if err := commit(5); err == nil {
				t.Fatal("a commit whose sync failed was acknowledged")
			}
			// The power goes.
			l.Cut()
			db.Close()
			log.Close()
			hs.Close()
			tail.Close()
			remount()

			hs = NewHistories(filepath.Join(mnt, "history"), nil)
			defer hs.Close()
			h, err = hs.Open("x")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := h.Reconcile(path, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case fail == ".log" && rc.Recorded != 1:
				t.Fatalf("history behind by one commit: reconcile did %+v", rc)
			case fail == "-wal" && !rc.RolledForward:
				t.Fatalf("history ahead by one commit: reconcile did %+v", rc)
			}
			got := dumpFile(t, path)
			built := filepath.Join(t.TempDir(), "built.db")
			if err := h.Build(h.Last().Seq, built); err != nil {
				t.Fatal(err)
			}
			if want := dumpFile(t, built); got != want {
				t.Fatalf("database\n%.200s\nhistory's latest state\n%.200s", got, want)
			}
			// The five acknowledged commits, and the sixth, which one of
			// the two kept durably.
			if n := countRows(t, path); n != 6 {
				t.Fatalf("%d rows after the cut, want 6: %s", n, got)
			}
		})
	}
}

func countRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
