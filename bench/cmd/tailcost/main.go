// Command tailcost measures what live logs cost on the request path: the
// CPU time (user+sys of the server process, from /proc/PID/stat, so it does
// not depend on how busy the machine is) per request of a Worker that logs
// one console line, with no tail connected, with one tail that receives
// every item, and with one tail whose filter passes nothing (the items are
// gathered and matched but not sent).
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./bench/cmd/tailcost [-n 20000] [-c 4] [-rounds 3] [-bin PATH] [-no-tail-only]
//
// -no-tail-only measures only the first case, for a binary without tails
// (one built from a commit before them: the cost of the code when no tail
// is connected is the difference).
// The rounds alternate the three cases, so drift of the machine spreads over
// all of them; the median per case is reported. Linux only.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

const config = `{ "name": "tailcost", "main": "worker.js", "compatibility_date": "2025-09-01" }`

const worker = `export default {
  fetch(req) {
    console.log("request", req.method, new URL(req.url).pathname);
    return new Response("ok");
  },
};
`

func main() {
	n := flag.Int("n", 20000, "requests per measurement")
	c := flag.Int("c", 4, "concurrent clients")
	rounds := flag.Int("rounds", 3, "measurements per case")
	bin := flag.String("bin", "", "cairn binary to run (default: build this repository's)")
	noTailOnly := flag.Bool("no-tail-only", false, "measure only without a tail (for a binary without tails)")
	flag.Parse()
	if err := run(*n, *c, *rounds, *bin, *noTailOnly); err != nil {
		fmt.Fprintln(os.Stderr, "tailcost:", err)
		os.Exit(1)
	}
}

func run(n, c, rounds int, bin string, noTailOnly bool) error {
	work, err := os.MkdirTemp("", "cairn-tailcost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "cairn")
		build := exec.Command("go", "build", "-tags", "sqlite_fts5 sqlite_math_functions", "-o", bin, "./cmd/cairn")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	proj := filepath.Join(work, "app")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(proj, "wrangler.jsonc"), []byte(config), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(proj, "worker.js"), []byte(worker), 0o644); err != nil {
		return err
	}
	port, apiPort := freePort(), freePort()
	// The console lines go to the server's stderr, which is discarded: the
	// measurement is of gathering and sending items, not of a terminal.
	cmd := exec.Command(bin, "dev", proj, "--no-watch", "--no-request-log", "--persist-to", filepath.Join(work, "state"),
		"--port", fmt.Sprint(port), "--api-port", fmt.Sprint(apiPort))
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitReady(stdout); err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/x", port)
	api := fmt.Sprintf("http://127.0.0.1:%d/client/v4/accounts/local/workers/scripts/tailcost/tails", apiPort)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	if _, err := load(client, url, 2000, c); err != nil { // warm up
		return err
	}
	cases := []struct {
		name   string
		filter string // "": no tail
	}{
		{"no tail", ""},
		{"one tail, every item sent", `{"filters":[]}`},
		{"one tail, filter passes nothing", `{"filters":[{"query":"no such text"}]}`},
	}
	if noTailOnly {
		cases = cases[:1]
	}
	results := make([][]float64, len(cases))
	for range rounds {
		for i, cs := range cases {
			var stop func() int64
			if cs.filter != "" {
				if stop, err = attach(api, cs.filter); err != nil {
					return err
				}
			}
			before, err := cpuTicks(cmd.Process.Pid)
			if err != nil {
				return err
			}
			took, err := load(client, url, n, c)
			if err != nil {
				return err
			}
			after, _ := cpuTicks(cmd.Process.Pid)
			received := int64(-1)
			if stop != nil {
				received = stop()
			}
			us := float64(after-before) * 1e6 / float64(clockTicks) / float64(n)
			results[i] = append(results[i], us)
			fmt.Printf("%-34s %6.1f µs CPU/request  (%d requests in %.1fs wall", cs.name, us, n, took.Seconds())
			if received >= 0 {
				fmt.Printf(", tail received %d items", received)
			}
			fmt.Println(")")
		}
	}
	fmt.Println("median:")
	for i, cs := range cases {
		slices.Sort(results[i])
		fmt.Printf("  %-34s %6.1f µs CPU/request\n", cs.name, results[i][len(results[i])/2])
	}
	return nil
}

// attach creates a tail with filter and reads its items until stop, which
// returns how many arrived.
func attach(api, filter string) (stop func() int64, err error) {
	resp, err := http.Post(api, "application/json", strings.NewReader(filter))
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wsURL := between(string(b), `"url":"`, `"`)
	if wsURL == "" {
		return nil, fmt.Errorf("create tail: %s", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"trace-v1"}})
	if err != nil {
		cancel()
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the server marks the tail connected
	return func() int64 {
		time.Sleep(200 * time.Millisecond) // the last items in flight
		cancel()
		conn.CloseNow()
		<-done
		return got.Load()
	}, nil
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// load sends n GETs from c clients.
func load(client *http.Client, url string, n, c int) (time.Duration, error) {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

// cpuTicks returns utime+stime of pid.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of the server (Linux only): %w", err)
	}
	// Fields after the command name (which may hold spaces) in parens.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

func waitReady(stdout io.Reader) error {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Ready on ") {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return nil
		}
	}
	return errors.New("cairn dev exited before it was ready")
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
