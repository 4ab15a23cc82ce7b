//go:build pitrmeasure

// Measurements of the history (README "History and point-in-time
// recovery"), not run by default:
//
//	go test -tags "pitrmeasure sqlite_fts5 sqlite_math_functions" ./d1 -run Measure -v -timeout 30m

package d1

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func dirBytes(t *testing.T, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A simulated day of writes at a fixed rate (one single-row UPDATE per
// second, 86,400 commits, run as fast as they go: compressed time) on a
// table of 5,000 rows of 500 bytes: bytes of history per byte of live data.
// MEASURE_WRITES sets the number of commits, MEASURE_VALUES=random the values.
func TestMeasureHistoryPerDay(t *testing.T) {
	writes := 86400
	if s := os.Getenv("MEASURE_WRITES"); s != "" {
		fmt.Sscan(s, &writes)
	}
	// MEASURE_VALUES=random writes random hex values instead of numbers
	// padded with zeros (which compress far better than most data).
	randomValues := os.Getenv("MEASURE_VALUES") == "random"
	dir := t.TempDir()
	m, done := historyManager(t, dir)
	defer done()
	db, err := m.Open("day", "day")
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	for i := 0; i < 5000; i += 500 {
		var stmts []Statement
		for k := i; k < i+500; k++ {
			stmts = append(stmts, Statement{SQL: "INSERT INTO t VALUES (?, ?)", Params: []any{k, strings.Repeat("x", 500)}})
		}
		if _, _, err := db.Batch(context.Background(), stmts, ""); err != nil {
			t.Fatal(err)
		}
	}
	histBefore := dirBytes(t, filepath.Join(dir, "history"))
	start, cpu0 := time.Now(), cpuNow()
	var wg sync.WaitGroup
	const writers = 16
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := w; i < writes; i += writers {
				v := fmt.Sprintf("%0500d", i)
				if randomValues {
					// 250 random bytes in hex: what compresses about 2×.
					v = fmt.Sprintf("%016x", r.Uint64())
					for len(v) < 500 {
						v += fmt.Sprintf("%016x", r.Uint64())
					}
					v = v[:500]
				}
				if _, _, err := db.Batch(context.Background(), []Statement{{SQL: "UPDATE t SET v = ? WHERE k = ?", Params: []any{v, (i * 7919) % 5000}}}, ""); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuNow()-cpu0
	m.Histories.Close() // background snapshots done
	live := db.Size()
	hist := dirBytes(t, filepath.Join(dir, "history")) - histBefore
	t.Logf("%d commits in %s (%.0f µs CPU each): live data %d bytes; history written %d bytes = %.1f bytes of history per byte of live data per simulated day (%.0f bytes per commit)",
		writes, elapsed.Round(time.Millisecond), float64(cpu.Microseconds())/float64(writes), live, hist, float64(hist)/float64(live), float64(hist)/float64(writes))
}

// Restore time of a 100 MB database (extrapolate ×10 for 1 GB): 100,000
// rows of 1 KB inserted in batches of 1,000, then a restore to the state
// after the last batch (the whole history replayed over its snapshots) and
// to the state at half.
func TestMeasureRestore100MB(t *testing.T) {
	dir := t.TempDir()
	m, done := historyManager(t, dir)
	defer done()
	db, err := m.Open("big", "big")
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
	var half string
	for b := range 100 {
		stmts := make([]Statement, 0, 1000)
		for k := b * 1000; k < (b+1)*1000; k++ {
			stmts = append(stmts, Statement{SQL: "INSERT INTO t VALUES (?, randomblob(1000))", Params: []any{k}})
		}
		if _, _, err := db.Batch(context.Background(), stmts, ""); err != nil {
			t.Fatal(err)
		}
		if b == 49 {
			half = db.Bookmark()
		}
	}
	full := db.Bookmark()
	mustQuery(t, db, "DELETE FROM t WHERE k < 100")
	m.Histories.Close() // background snapshots done
	t.Logf("database %d MB, history %d MB", db.Size()>>20, dirBytes(t, filepath.Join(dir, "history"))>>20)
	for _, tc := range []struct{ name, b string }{{"full (100 MB)", full}, {"half (50 MB)", half}} {
		start, cpu0 := time.Now(), cpuNow()
		if _, _, err := db.Restore(context.Background(), tc.b); err != nil {
			t.Fatal(err)
		}
		t.Logf("restore to %s: %s wall, %s CPU", tc.name, time.Since(start).Round(time.Millisecond), (cpuNow() - cpu0).Round(time.Millisecond))
		r := mustQuery(t, db, "SELECT count(*) FROM t")
		t.Logf("  rows after: %v", r.Rows[0][0])
	}
}
