// Command objmem measures what Durable Objects cost in memory while live
// and after idle eviction: it builds cairn, runs bench/app with a short
// --object-idle, writes once to N objects, and reads the Go heap and the
// process RSS (after a GC) with the objects live and once they are evicted.
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./bench/cmd/objmem [-n 10000] [-idle 5s]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 10000, "objects to create")
	idle := flag.Duration("idle", 5*time.Second, "--object-idle for the server")
	conns := flag.Int("conns", 16, "concurrent connections while creating objects")
	flag.Parse()
	if err := run(*n, *idle, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "objmem:", err)
		os.Exit(1)
	}
}

func run(n int, idle time.Duration, conns int) error {
	work, err := os.MkdirTemp("", "cairn-objmem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "cairn")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5 sqlite_math_functions", "-o", bin, "./cmd/cairn")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	port, apiPort := freePort(), freePort()
	cmd := exec.Command(bin, "dev", "bench/app", "--no-watch", "--persist-to", filepath.Join(work, "state"),
		"--port", fmt.Sprint(port), "--api-port", fmt.Sprint(apiPort), "--object-idle", idle.String())
	stdout, _ := cmd.StdoutPipe()
	logFile, err := os.Create(filepath.Join(os.TempDir(), "objmem-server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Ready on") {
	}
	go io.Copy(io.Discard, stdout)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	api := fmt.Sprintf("http://127.0.0.1:%d/client/v4/cairn/status?gc=1", apiPort)

	before, err := status(api, cmd.Process.Pid)
	if err != nil {
		return err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				resp, err := client.Get(fmt.Sprintf("%s/sql/inc?id=mem-%d", base, i))
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	created := time.Since(start)
	live, err := status(api, cmd.Process.Pid)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2*idle + time.Minute)
	var evicted sample
	for {
		time.Sleep(idle / 2)
		if evicted, err = status(api, cmd.Process.Pid); err != nil {
			return err
		}
		if evicted.Live == 0 || time.Now().After(deadline) {
			break
		}
	}
	fmt.Printf("%d objects created with one SQL write each in %s (%d failed)\n\n", n, created.Round(time.Millisecond), failed.Load())
	fmt.Println("| state | live objects | Go heap in use | RSS | heap per object | RSS per object |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	row := func(name string, s sample) {
		fmt.Printf("| %s | %d | %.1f MiB | %.1f MiB | %s | %s |\n", name, s.Live, mib(s.Heap), mib(s.RSS),
			perObject(s.Heap-before.Heap, n), perObject(s.RSS-before.RSS, n))
	}
	row("before", before)
	row("all live", live)
	row("all evicted", evicted)
	return nil
}

type sample struct {
	Live       int
	Heap, RSS  int64
	Goroutines int
}

func status(url string, pid int) (sample, error) {
	resp, err := http.Get(url)
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	var env struct {
		Result struct {
			LiveObjects int   `json:"liveObjects"`
			HeapInuse   int64 `json:"heapInuse"`
			Goroutines  int   `json:"goroutines"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return sample{}, err
	}
	return sample{Live: env.Result.LiveObjects, Heap: env.Result.HeapInuse, RSS: rss(pid), Goroutines: env.Result.Goroutines}, nil
}

// rss reads VmRSS of pid in bytes (0 if unknown).
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func perObject(b int64, n int) string {
	return fmt.Sprintf("%.1f KiB", float64(b)/1024/float64(n))
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
