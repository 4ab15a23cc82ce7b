package metrics

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/server"
)

// cpuTime returns the process's user+sys CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServe measures a stateless request and a Durable Object write
// through server.Server with metrics off and on; cpu-ns/op (user+sys of
// the process) is the robust number on a shared machine:
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./metrics -run '^$' -bench Serve -benchtime 20000x -count 5
func BenchmarkServe(b *testing.B) {
	dir := b.TempDir()
	// Without the tests' 300 ms CPU limit: a loaded machine passes it.
	config := strings.Replace(testConfig, `"limits": { "cpu_ms": 300 },`, "", 1)
	for name, content := range map[string]string{"worker.js": testWorker, "wrangler.jsonc": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		srv := &server.Server{NoRequestLog: true}
		opts := server.Options{Config: dir, PersistTo: filepath.Join(dir, "state-"+name), ObjectIdle: -1}
		if on {
			m, err := New(prometheus.NewRegistry(), srv.Apps, nil)
			if err != nil {
				b.Fatal(err)
			}
			srv.Observer, opts.Observer = m, m
		}
		app, err := server.Load(opts)
		if err != nil {
			b.Fatal(err)
		}
		srv.Swap(app)
		for _, path := range []string{"/", "/do"} {
			b.Run(name+path, func(b *testing.B) {
				start := cpuTime(b)
				b.ResetTimer()
				for range b.N {
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
					if rec.Code != 200 {
						b.Fatalf("GET %s = %d", path, rec.Code)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
		srv.Swap(nil)
	}
}

// BenchmarkObserveRequest is what metrics add to each request in
// server.Server besides the CPU-time clock reads: the context value and
// the two histogram observations.
func BenchmarkObserveRequest(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), func() []*server.App { return nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := httptest.NewRequest("GET", "/", nil).Context()
	b.ReportAllocs()
	start := cpuTime(b)
	for range b.N {
		cpu := new(jsrt.CPUTime)
		_ = jsrt.WithCPUTime(ctx, cpu)
		m.Request("worker", "", 200, time.Millisecond, cpu.Load())
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}
