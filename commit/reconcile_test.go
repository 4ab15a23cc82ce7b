package commit

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// copyTree copies the regular files under src to dst (as a crash leaves
// them: whatever was written, synced or not).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyDB copies the database files (file, WAL) of w to dir.
func copyDB(t *testing.T, w *walDB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(w.path + suffix)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "db.sqlite"+suffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// execUnrecorded commits a transaction without recording it.
func (w *walDB) execUnrecorded(stmts ...string) {
	w.t.Helper()
	for _, s := range stmts {
		if _, err := w.db.Exec(s); err != nil {
			w.t.Fatalf("%s: %v", s, err)
		}
	}
}

// Reconcile after the crashes that syncing a WAL and its history in
// parallel allows: the database and the history's latest state agree
// afterwards, and hold every commit one of them kept durably (the states a
// crash leaves are made here by copying the files at two moments: the
// WAL's at one, the history's at another).
func TestReconcile(t *testing.T) {
	insert := func(w *walDB, from, to int, recorded bool) {
		for k := from; k < to; k++ {
			stmt := "INSERT INTO t VALUES (" + strconv.Itoa(k) + ", printf('%.*c', 3000, 'v'))"
			if recorded {
				w.exec(stmt)
			} else {
				w.execUnrecorded(stmt)
			}
		}
	}
	cases := []struct {
		name string
		// run writes and returns the directories holding the database
		// and the history as the crash left them.
		run  func(t *testing.T, w *walDB, dir string) (db, hist string)
		want func(rc Reconciliation) bool
	}{
		{"consistent", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			copyDB(t, w, filepath.Join(dir, "a"))
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "ha"))
			return filepath.Join(dir, "a"), filepath.Join(dir, "ha")
		}, func(rc Reconciliation) bool { return !rc.Changed() }},
		{"history behind: commits only in the WAL", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "ha"))
			insert(w, 5, 9, false)
			copyDB(t, w, filepath.Join(dir, "b"))
			return filepath.Join(dir, "b"), filepath.Join(dir, "ha")
		}, func(rc Reconciliation) bool { return rc.Recorded == 4 && !rc.RolledForward }},
		{"history behind: a new WAL generation after a checkpoint", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			w.checkpoint() // everything recorded first
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "ha"))
			insert(w, 5, 8, false) // restarts the WAL
			copyDB(t, w, filepath.Join(dir, "b"))
			return filepath.Join(dir, "b"), filepath.Join(dir, "ha")
		}, func(rc Reconciliation) bool { return rc.Recorded == 3 && !rc.RolledForward }},
		{"history ahead: the WAL lost its last frames", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			copyDB(t, w, filepath.Join(dir, "a"))
			insert(w, 5, 9, true)
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "hb"))
			return filepath.Join(dir, "a"), filepath.Join(dir, "hb")
		}, func(rc Reconciliation) bool { return rc.RolledForward && rc.Recorded == 0 }},
		{"history ahead: the WAL lost the header of its new generation", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			w.checkpoint()
			copyDB(t, w, filepath.Join(dir, "a")) // the old generation, in the file too
			insert(w, 5, 9, true)
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "hb"))
			return filepath.Join(dir, "a"), filepath.Join(dir, "hb")
		}, func(rc Reconciliation) bool { return rc.RolledForward && rc.DroppedWAL }},
		{"history ahead: the WAL was emptied", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			w.record()
			if _, err := w.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			copyDB(t, w, filepath.Join(dir, "a"))
			insert(w, 5, 7, true)
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "hb"))
			return filepath.Join(dir, "a"), filepath.Join(dir, "hb")
		}, func(rc Reconciliation) bool { return rc.RolledForward }},
		{"written outside the history: kept", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			w.record()
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "ha"))
			insert(w, 5, 8, false) // as cairn d1 execute does, with history off
			if _, err := w.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			copyDB(t, w, filepath.Join(dir, "b"))
			return filepath.Join(dir, "b"), filepath.Join(dir, "ha")
		}, func(rc Reconciliation) bool { return rc.Diverged && !rc.RolledForward && rc.Recorded == 0 }},
		{"consistent: the WAL was emptied", func(t *testing.T, w *walDB, dir string) (string, string) {
			insert(w, 0, 5, true)
			w.record()
			if _, err := w.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			copyDB(t, w, filepath.Join(dir, "a"))
			copyTree(t, filepath.Join(dir, "history"), filepath.Join(dir, "ha"))
			return filepath.Join(dir, "a"), filepath.Join(dir, "ha")
		}, func(rc Reconciliation) bool { return !rc.Changed() }},
	}
	for _, c := range cases {
		for _, segBytes := range []int64{0, 300} { // default segments, and a segment every few records
			t.Run(c.name+"/segment "+strconv.FormatInt(segBytes, 10), func(t *testing.T) {
				reconcileCase(t, c.run, c.want, segBytes)
			})
		}
	}
}

func reconcileCase(t *testing.T, run func(t *testing.T, w *walDB, dir string) (db, hist string), want func(Reconciliation) bool, segBytes int64) {
	{
		{
			dir := t.TempDir()
			h, err := OpenHistory(filepath.Join(dir, "history"), "test", HistoryOptions{SegmentBytes: segBytes})
			if err != nil {
				t.Fatal(err)
			}
			w := openWALDB(t, dir, h)
			w.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
			dbDir, histDir := run(t, w, dir)
			// The expected state is the longer of the two: the database's
			// when it was copied last, the history's otherwise.
			h.Close()
			h2, err := OpenHistory(histDir, "test", HistoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dbPath := filepath.Join(dbDir, "db.sqlite")
			rc, err := h2.Reconcile(dbPath, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !want(rc) {
				t.Fatalf("reconcile did %+v", rc)
			}
			got := dumpFile(t, dbPath)
			if rc.Diverged {
				// Nothing changed; the owner saves a base of the file.
				if want := dump(t, w.db); got != want {
					t.Fatalf("a diverged database was changed:\n%.300s\nwant\n%.300s", got, want)
				}
				if err := h2.SaveBase(dbPath, h2.Last().Seq+1, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			built := filepath.Join(dir, "built.db")
			if err := h2.Build(h2.Last().Seq, built); err != nil {
				t.Fatal(err)
			}
			if want := dumpFile(t, built); got != want {
				t.Fatalf("after reconcile the database is\n%.300s\nand the history's latest state\n%.300s", got, want)
			}
			if want := dump(t, w.db); got != want {
				t.Fatalf("after reconcile the database is\n%.300s\nwant every commit made\n%.300s", got, want)
			}
			// A second Reconcile finds them agreeing, and the WAL resumes
			// after the last record.
			h2.Close()
			h3, err := OpenHistory(histDir, "test", HistoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rc, err := h3.Reconcile(dbPath, time.Now()); err != nil || rc.Changed() {
				t.Fatalf("second reconcile: %+v, %v", rc, err)
			}
			if err := NewWALTail(dbPath).Resume(h3.Last().WAL); err != nil {
				t.Fatalf("resume after reconcile: %v", err)
			}
		}
	}
}
