package kv

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// cpuTime returns the process's user+system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPutHistory is the write path of a namespace with and without
// its history (every commit a record), one put at a time through a commit
// log, reporting the process's CPU time per put beside the wall time
// (which the fsyncs dominate):
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./kv -run '^$' -bench PutHistory -benchtime 2000x
func BenchmarkPutHistory(b *testing.B) {
	for _, history := range []bool{false, true} {
		b.Run(fmt.Sprintf("history=%v", history), func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "kv", "ns.sqlite")
			log := commit.NewLocal(0)
			defer log.Close()
			opts := Options{Commit: log, SweepInterval: -1}
			if history {
				hs := commit.NewHistories(filepath.Join(dir, "history"), nil)
				defer hs.Close()
				log.SetHistories(hs)
				rec, err := hs.Recorder("kv/ns", path)
				if err != nil {
					b.Fatal(err)
				}
				opts.Recorder = rec
			}
			ns, err := Open(path, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer ns.Close()
			ctx := context.Background()
			value := make([]byte, 100)
			b.ResetTimer()
			start := cpuTime()
			for i := range b.N {
				if err := ns.Put(ctx, fmt.Sprint("k", i%1000), value, PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
