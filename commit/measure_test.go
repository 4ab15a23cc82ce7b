//go:build pitrmeasure

// The cost of the history on the commit path, not run by default:
//
//	go test -tags "pitrmeasure sqlite_fts5 sqlite_math_functions" ./commit -run MeasureCommitPath -v
//
// MEASURE_COMMITS sets the commits per writer (default 1000),
// MEASURE_REPEAT the rounds of each mode (default 3).

package commit

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time the process used so far, in user space
// and in the kernel (where fsyncs spend theirs).
func processCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// Commits as the objects' storage makes them (an upsert of a counter row,
// the WAL's frames turned into a record, Submit, wait until durable),
// with history off and on, by 1 and by 16 writers (each its own database,
// as 16 objects): wall time, CPU time of the process and fsyncs per
// commit. CPU time and fsyncs per commit are what a shared machine
// disturbs least.
func TestMeasureCommitPath(t *testing.T) {
	commits, repeat := 1000, 3
	if s := os.Getenv("MEASURE_COMMITS"); s != "" {
		fmt.Sscan(s, &commits)
	}
	if s := os.Getenv("MEASURE_REPEAT"); s != "" {
		fmt.Sscan(s, &repeat)
	}
	type result struct{ wall, user, sys, syncs float64 }
	run := func(writers int, history bool) result {
		dir := t.TempDir()
		log := NewLocal(0)
		var hs *Histories
		if history {
			hs = NewHistories(filepath.Join(dir, "history"), nil)
			log.SetHistories(hs)
		}
		type writer struct {
			db   *sql.DB
			path string
			tail *WALTail
			h    *History
			seq  uint64
		}
		ws := make([]*writer, writers)
		for i := range ws {
			path := filepath.Join(dir, fmt.Sprintf("db%d.sqlite", i))
			db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_sync=NORMAL")
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			if _, err := db.Exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER); PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
			w := &writer{db: db, path: path}
			if history {
				name := fmt.Sprintf("objects/C/%d", i)
				if w.h, err = hs.Open(name); err != nil {
					t.Fatal(err)
				}
				if err := w.h.SaveBase(path, 1, time.Now()); err != nil {
					t.Fatal(err)
				}
				w.seq, w.tail = 1, NewWALTail(path)
			}
			ws[i] = w
		}
		stats0, start := log.Stats(), time.Now()
		user0, sys0 := processCPU()
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := WAL{Path: w.path}
				for range commits {
					if _, err := w.db.Exec("INSERT INTO t VALUES ('hot', 1) ON CONFLICT (k) DO UPDATE SET n = n + 1"); err != nil {
						t.Error(err)
						return
					}
					if history {
						frames, size, page, ok, err := w.tail.Next()
						if err != nil || !ok {
							t.Errorf("tail: %v %v", ok, err)
							return
						}
						w.seq++
						if err := log.Record(f, &Record{Kind: KindCommit, DB: w.h.Name(), Seq: w.seq, Time: time.Now(), PageSize: page, DBSize: size, Frames: frames, WAL: w.tail.Pos()}); err != nil {
							t.Error(err)
							return
						}
					}
					done := make(chan error, 1)
					log.Submit(f, func(err error) { done <- err })
					if err := <-done; err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		wall, stats := time.Since(start), log.Stats()
		user, sys := processCPU()
		n := float64(commits * writers)
		log.Close()
		for _, w := range ws {
			w.db.Close()
			if w.tail != nil {
				w.tail.Close()
			}
		}
		if hs != nil {
			hs.Close()
		}
		return result{
			wall:  float64(wall.Microseconds()) / n,
			user:  float64((user - user0).Microseconds()) / n,
			sys:   float64((sys - sys0).Microseconds()) / n,
			syncs: float64(stats.Syncs-stats0.Syncs+stats.FSSyncs-stats0.FSSyncs) / n,
		}
	}
	for _, writers := range []int{1, 16} {
		for r := range repeat {
			off := run(writers, false)
			on := run(writers, true)
			t.Logf("writers %2d round %d: history off %5.0f µs/commit wall, CPU %3.0f user + %3.0f sys µs, %.2f fsyncs | on %5.0f µs wall, CPU %3.0f user + %3.0f sys µs, %.2f fsyncs | on/off wall %.2f× CPU %.2f×",
				writers, r, off.wall, off.user, off.sys, off.syncs, on.wall, on.user, on.sys, on.syncs, on.wall/off.wall, (on.user+on.sys)/(off.user+off.sys))
		}
	}
}
