package metrics

import (
	"fmt"
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

// benchServer loads the test Worker (without the tests' 300 ms CPU limit,
// which a loaded machine passes) behind a server.Server, with metrics on
// or off.
func benchServer(b *testing.B, dir string, on bool) *server.Server {
	b.Helper()
	srv := &server.Server{NoRequestLog: true}
	opts := server.Options{Config: dir, PersistTo: filepath.Join(dir, fmt.Sprintf("state-%v", on)), ObjectIdle: -1}
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
	b.Cleanup(func() { srv.Swap(nil) })
	return srv
}

// BenchmarkServe measures the CPU cost of metrics on the request path: a
// stateless request and a Durable Object write through server.Server,
// with metrics off and on, in alternating blocks of 100 requests so that
// both see the same load from the rest of the machine. It reports the
// process's CPU time (user+sys) per request of each, and the difference:
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./metrics -run '^$' -bench Serve -benchtime 20000x
func BenchmarkServe(b *testing.B) {
	dir := b.TempDir()
	config := strings.Replace(testConfig, `"limits": { "cpu_ms": 300 },`, "", 1)
	for name, content := range map[string]string{"worker.js": testWorker, "wrangler.jsonc": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	servers := [2]*server.Server{benchServer(b, dir, false), benchServer(b, dir, true)}
	for _, path := range []string{"/", "/do"} {
		b.Run(path, func(b *testing.B) {
			var cpu [2]time.Duration
			var n [2]int
			const block = 100
			for i := 0; i < b.N; i += block {
				for k := range 2 {
					which := (i/block + k) % 2 // alternate which goes first
					start := cpuTime(b)
					for range min(block, b.N-i) {
						rec := httptest.NewRecorder()
						servers[which].ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
						if rec.Code != 200 {
							b.Fatalf("GET %s = %d", path, rec.Code)
						}
						n[which]++
					}
					cpu[which] += cpuTime(b) - start
				}
			}
			off := float64(cpu[0]) / float64(n[0])
			on := float64(cpu[1]) / float64(n[1])
			b.ReportMetric(off, "off-cpu-ns/req")
			b.ReportMetric(on, "on-cpu-ns/req")
			b.ReportMetric(100*(on-off)/off, "overhead-%")
		})
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
