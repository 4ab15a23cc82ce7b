//go:build pitrmeasure

package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	commitlog "github.com/cairn-dev/cairn/commit"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The write path's CPU cost of history, in process: an object's KV put
// (kv-inc's write) committed and made durable through a commitlog.Local, with
// and without history, alternating rounds.
//
//	go test -tags "pitrmeasure sqlite_fts5 sqlite_math_functions" ./storage -run MeasureWriteCPU -v
func TestMeasureWriteCPU(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 500
	}
	window := 1
	if s := os.Getenv("MEASURE_WINDOW"); s != "" {
		fmt.Sscan(s, &window)
	}
	run := func(history bool) time.Duration {
		dir := t.TempDir()
		log := commitlog.NewLocal(0)
		defer log.Close()
		opts := Options{}
		if history {
			hs := commitlog.NewHistories(filepath.Join(dir, "history"), nil)
			defer hs.Close()
			log.SetHistories(hs)
			h, err := hs.Open("objects/C/x")
			if err != nil {
				t.Fatal(err)
			}
			opts.History, opts.Log = h, log
		}
		db := Open(filepath.Join(dir, "x.sqlite"), opts)
		defer db.Close()
		inflight := make(chan struct{}, window)
		cpu0 := cpuNow()
		for i := range n {
			if err := db.Put("count", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Commit(); err != nil {
				t.Fatal(err)
			}
			// Up to window commits in flight, as an object keeps running
			// events while its earlier commits are synced (the Gate).
			inflight <- struct{}{}
			log.Submit(db, func(err error) {
				if err != nil {
					t.Error(err)
				}
				<-inflight
			})
		}
		for range window {
			inflight <- struct{}{}
		}
		return (cpuNow() - cpu0) / time.Duration(n)
	}
	var on, off time.Duration
	for range 3 {
		off += run(false)
		on += run(true)
	}
	t.Logf("CPU per durable commit, %d in flight: history off %s, on %s (%.0f%% more)", window, off/3, on/3, 100*(float64(on)/float64(off)-1))
}
