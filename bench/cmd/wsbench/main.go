// Command wsbench measures WebSockets in cairn side by side with workerd on
// bench/wsapp: echo round trips through a stateless Worker and through a
// Durable Object's hibernation handler, and many concurrent hibernatable
// sockets on one object (server memory per socket, broadcast time).
//
//	go build -tags "sqlite_fts5 sqlite_math_functions" -o /tmp/cairn ./cmd/cairn
//	go run ./bench/cmd/wsbench -cairn /tmp/cairn -workerd bench/.cache/workerd/node_modules/.bin/workerd
//
// Either server may be left out. Results go to stdout as a Markdown table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
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

func main() {
	cairn := flag.String("cairn", "", "cairn binary (empty: skip cairn)")
	workerd := flag.String("workerd", "", "workerd binary (empty: skip workerd)")
	app := flag.String("app", "bench/wsapp", "the benchmark app directory")
	dur := flag.Duration("duration", 5*time.Second, "measured time of each echo run")
	conns := flag.String("conns", "1,16", "concurrent connections of the echo runs")
	sockets := flag.Int("sockets", 10000, "hibernatable sockets on one object")
	idle := flag.Int("idle", 0, "idle hibernatable sockets, 10,000 per object, held by client processes (0: skip)")
	settle := flag.Duration("idle-settle", 5*time.Second, "how long the idle sockets sit before the server is measured (Go forces a collection every 2 minutes)")
	scenarios := flag.String("scenarios", "echo,wake,many,idle", "scenarios to run")
	client := flag.String("idle-client", "", "internal: run as a client process of the idle scenario against this URL")
	clientN := flag.Int("idle-client-n", 0, "internal: sockets of the client process")
	clientFirst := flag.Int("idle-client-first", 0, "internal: index of the client process's first socket")
	clientLocal := flag.String("idle-client-local", "127.0.0.1", "internal: the client process's source address")
	flag.Parse()
	if *client != "" {
		if err := runIdleClient(*client, *clientFirst, *clientN, *clientLocal); err != nil {
			fmt.Fprintln(os.Stderr, "wsbench client:", err)
			os.Exit(1)
		}
		return
	}
	if *idle > 0 {
		// The servers inherit the limit; the clients raise their own.
		if got := raiseFileLimit(uint64(*idle) + 1000); got < uint64(*idle)+1000 {
			fmt.Fprintf(os.Stderr, "wsbench: RLIMIT_NOFILE is %d (raising it needs CAP_SYS_RESOURCE): the server cannot hold %d sockets\n", got, *idle)
		}
	}
	if err := run(*cairn, *workerd, *app, *dur, *conns, *sockets, *idle, *settle, *scenarios); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

// server is a started runtime.
type server struct {
	name string
	cmd  *exec.Cmd
	url  string // ws://127.0.0.1:PORT
	// pprof is cairn's profiler address (CAIRN_PPROF), for heap and
	// goroutine counts; empty for workerd.
	pprof string
}

func run(cairnBin, workerdBin, app string, dur time.Duration, connList string, sockets, idle int, settle time.Duration, scenarioList string) error {
	scenarios := make(map[string]bool)
	for _, s := range strings.Split(scenarioList, ",") {
		scenarios[strings.TrimSpace(s)] = true
	}
	app, err := filepath.Abs(app)
	if err != nil {
		return err
	}
	var ns []int
	for _, s := range strings.Split(connList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-conns: %w", err)
		}
		ns = append(ns, n)
	}
	type starter struct {
		name, bin string
		start     func(bin, app string) (*server, error)
	}
	fmt.Println("| runtime | scenario | conns | msgs/s | p50 | p99 | server CPU per message |")
	fmt.Println("|---|---|---|---|---|---|---|")
	var hib, wakes, idles []string
	for _, st := range []starter{{"cairn", cairnBin, startCairn}, {"workerd", workerdBin, startWorkerd}} {
		if st.bin == "" {
			continue
		}
		s, err := st.start(st.bin, app)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		for _, sc := range []struct{ name, path string }{{"worker-echo", "/echo"}, {"object-echo", "/room?id=echo"}} {
			if !scenarios["echo"] {
				break
			}
			for _, n := range ns {
				r, err := echo(s.url+sc.path, n, dur, s.cpu)
				if err != nil {
					s.stop()
					return fmt.Errorf("%s %s: %w", st.name, sc.name, err)
				}
				fmt.Printf("| %s | %s | %d | %.0f | %s | %s | %.1f µs |\n", st.name, sc.name, n, r.rate, r.p50, r.p99, r.cpuPerMsg)
			}
		}
		if st.name == "cairn" && scenarios["wake"] {
			wake, err := wakeLatency(s.url + "/room?id=wake")
			if err != nil {
				s.stop()
				return fmt.Errorf("%s wake-up: %w", st.name, err)
			}
			wakes = append(wakes, fmt.Sprintf("| %s | %s |", st.name, wake))
		}
		if scenarios["many"] {
			line, err := manySockets(s, sockets)
			if err != nil {
				line = fmt.Sprintf("| %s | %d | failed: %v | | |", st.name, sockets+1, err)
			}
			hib = append(hib, line)
		}
		if scenarios["idle"] && idle > 0 {
			line, err := idleSockets(s, idle, settle)
			if err != nil {
				line = fmt.Sprintf("| %s | %d | failed: %v |", st.name, idle, err)
			}
			idles = append(idles, line)
		}
		s.stop()
	}
	fmt.Println()
	fmt.Println("| runtime | wake-up: one message to a hibernated object and its reply (median of 5) |")
	fmt.Println("|---|---|")
	for _, l := range wakes {
		fmt.Println(l)
	}
	fmt.Println()
	fmt.Println("| runtime | sockets | server RSS before → after | per socket | broadcast to all (median of 5) |")
	fmt.Println("|---|---|---|---|---|")
	for _, l := range hib {
		fmt.Println(l)
	}
	if len(idles) > 0 {
		fmt.Println()
		fmt.Println("| runtime | idle hibernated sockets | server live heap (after GC) | per socket | server heap in use | per socket | server RSS | per socket | server goroutines | client RSS per socket | open all | wake all (echo each) |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, l := range idles {
			fmt.Println(l)
		}
	}
	return nil
}

// wakeLatency measures the round trip of one message to an object that
// was evicted while its hibernatable socket stayed open (cairn runs with
// --hibernate-idle 1s): the constructor runs, then webSocketMessage.
func wakeLatency(url string) (time.Duration, error) {
	c, err := dial(url)
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var times []time.Duration
	for range 5 {
		time.Sleep(2500 * time.Millisecond) // past the idle time and the next sweep
		start := time.Now()
		if err := c.Write(ctx, websocket.MessageText, []byte("wake")); err != nil {
			return 0, err
		}
		if _, _, err := c.Read(ctx); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startCairn(bin, app string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "wsbench-cairn-")
	if err != nil {
		return nil, err
	}
	// A short hibernation idle time, for the wake-up measurement.
	cmd := exec.Command(bin, "dev", app, "--port", strconv.Itoa(port), "--persist-to", state, "--no-watch", "--hibernate-idle", "1s")
	pport, err := freePort()
	if err != nil {
		return nil, err
	}
	pprof := fmt.Sprintf("127.0.0.1:%d", pport)
	cmd.Env = append(os.Environ(), "CAIRN_PPROF="+pprof)
	s, err := start("cairn", cmd, port)
	if s != nil {
		s.pprof = pprof
	}
	return s, err
}

func startWorkerd(bin, app string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wsbench-workerd-")
	if err != nil {
		return nil, err
	}
	js, err := os.ReadFile(filepath.Join(app, "worker.js"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.js"), js, 0o644); err != nil {
		return nil, err
	}
	disk := filepath.Join(dir, "state")
	if err := os.MkdirAll(disk, 0o755); err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .app), (name = "do-disk", disk = (path = %q, writable = true))],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const app :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [(className = "Room", uniqueKey = "wsbench-Room", enableSql = true)],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [(name = "ROOM", durableObjectNamespace = "Room")],
);
`, disk)
	if err := os.WriteFile(filepath.Join(dir, "config.capnp"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "config.capnp", "--socket-addr", fmt.Sprintf("http=127.0.0.1:%d", port))
	cmd.Dir = dir
	return start("workerd", cmd, port)
}

// start runs cmd and waits until it accepts WebSockets on port.
func start(name string, cmd *exec.Cmd, port int) (*server, error) {
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, url: fmt.Sprintf("ws://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := dial(s.url + "/echo")
		if err == nil {
			c.CloseNow()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("not ready after 60s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// cpu returns the user and system CPU time the server used so far
// (clock ticks of /proc/PID/stat, 10 ms each), 0 if unknown: timings on a
// shared machine vary with its load, CPU per message much less.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rss returns the server's resident memory in bytes.
func (s *server) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

func dial(url string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	return c, err
}

type echoResult struct {
	rate      float64
	p50, p99  time.Duration
	cpuPerMsg float64 // server user+system CPU per echoed message, µs
}

// echo runs n connections that each send a 32-byte message and wait for
// the echo, for dur after a 1 s warm-up.
func echo(url string, n int, dur time.Duration, cpu func() time.Duration) (echoResult, error) {
	msg := []byte(strings.Repeat("x", 32))
	var (
		mu        sync.Mutex
		lat       []time.Duration
		measuring atomic.Bool
		firstErr  error
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur+time.Second)
	defer cancel()
	for range n {
		c, err := dial(url)
		if err != nil {
			return echoResult{}, err
		}
		c.SetReadLimit(1 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					break
				}
				if _, _, err := c.Read(ctx); err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						firstErr = cmp(firstErr, err)
						mu.Unlock()
					}
					break
				}
				if measuring.Load() {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(time.Second)
	cpu0 := cpu()
	measuring.Store(true)
	t0 := time.Now()
	wg.Wait()
	elapsed := time.Since(t0)
	cpuUsed := cpu() - cpu0
	if firstErr != nil {
		return echoResult{}, firstErr
	}
	if len(lat) == 0 {
		return echoResult{}, errors.New("no echo completed")
	}
	slices.Sort(lat)
	return echoResult{
		rate:      float64(len(lat)) / elapsed.Seconds(),
		p50:       lat[len(lat)/2].Round(time.Microsecond),
		p99:       lat[len(lat)*99/100].Round(time.Microsecond),
		cpuPerMsg: float64(cpuUsed.Microseconds()) / float64(len(lat)),
	}, nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// manySockets opens n hibernatable sockets on one object, reports the
// server's memory growth per socket and how long a broadcast to all takes
// (from the request to the last socket receiving it).
func manySockets(s *server, n int) (string, error) {
	url := s.url + "/room?id=many"
	first, err := dial(url) // creates the object
	if err != nil {
		return "", err
	}
	time.Sleep(500 * time.Millisecond)
	before, err := s.rss()
	if err != nil {
		return "", err
	}
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(url)
			if err != nil {
				failed.Add(1)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
		first.CloseNow()
	}()
	if f := failed.Load(); f > 0 {
		return "", fmt.Errorf("%d of %d sockets failed to open", f, n)
	}
	time.Sleep(2 * time.Second)
	after, err := s.rss()
	if err != nil {
		return "", err
	}
	// One reader per socket for all rounds: a Read whose context ends
	// closes the connection.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan struct{}, n+1)
	for _, c := range append(conns, first) {
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				got <- struct{}{}
			}
		}()
	}
	var times []time.Duration
	for range 5 {
		t0 := time.Now()
		if err := first.Write(ctx, websocket.MessageText, []byte("bcast")); err != nil {
			return "", err
		}
		timeout := time.After(60 * time.Second)
		for i := 0; i <= n; i++ {
			select {
			case <-got:
			case <-timeout:
				return "", fmt.Errorf("broadcast reached %d of %d sockets", i, n+1)
			}
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	per := float64(after-before) / float64(n)
	return fmt.Sprintf("| %s | %d | %d MiB → %d MiB | %.1f KiB | %s |", s.name, n+1, before>>20, after>>20, per/1024, times[2].Round(time.Millisecond)), nil
}
