// Command compare benchmarks cairn against workerd, the reference Workers
// runtime, on the same machine in the same run, with Durable Object storage
// on disk for both.
//
// It builds cairn from this repository, installs a pinned workerd from npm
// into bench/.cache/ if missing, starts both serving bench/app (the same
// worker.js), drives each scenario at each connection count with the Go load
// generator in bench/load, alternating runtimes cell by cell, and prints a
// Markdown table (req/s, p50, p99 and the cairn/workerd ratio) to stdout
// and writes the same results as JSON.
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./bench/cmd/compare [-scenarios ok,sql-inc] [-duration 5s] [-conns 1,16,64] [-pin]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/bench/load"
)

func main() {
	var (
		scenarioList = flag.String("scenarios", names(), "comma-separated scenarios to run")
		duration     = flag.Duration("duration", 5*time.Second, "measured time of each run")
		warmup       = flag.Duration("warmup", time.Second, "unmeasured time before each run")
		connList     = flag.String("conns", "1,16,64", "comma-separated connection counts")
		runtimeList  = flag.String("runtimes", "cairn,workerd", "runtimes to compare (cairn-nohistory: cairn with --history=false)")
		pin          = flag.Bool("pin", false, "pin each server to core 0 (taskset) and the load generator to core 1")
		out          = flag.String("out", "", `JSON output file (default bench/results/DATE-HOST.json; "-" for none)`)
		keep         = flag.Bool("keep", false, "keep the state directories and server logs of the run")
	)
	flag.Parse()
	if err := run(*scenarioList, *connList, *runtimeList, *out, *duration, *warmup, *pin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func names() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func run(scenarioList, connList, runtimeList, out string, duration, warmup time.Duration, pin, keep bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	chosen, err := pickScenarios(scenarioList)
	if err != nil {
		return err
	}
	conns, err := parseInts(connList)
	if err != nil {
		return err
	}
	runtimes := splitList(runtimeList)
	for _, r := range runtimes {
		if r != "cairn" && r != "workerd" && r != cairnNoHistory {
			return fmt.Errorf("unknown runtime %q (want cairn, workerd, %s)", r, cairnNoHistory)
		}
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if pin {
		if err := pinSelf(); err != nil {
			return err
		}
	}
	// State lives on the repository's disk, not in a tmpfs /tmp, so fsync is real.
	cache := filepath.Join(root, "bench", ".cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(cache, "run-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "state and logs kept in", work)
	} else {
		defer os.RemoveAll(work)
	}

	rep := newReport(duration, warmup, conns, pin)
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, name := range runtimes {
		fmt.Fprintf(os.Stderr, "starting %s …\n", name)
		var p prepared
		if name == "cairn" || name == cairnNoHistory {
			p, err = prepareCairn(ctx, root, work)
			if name == cairnNoHistory {
				p = withoutHistory(p)
			}
		} else {
			p, err = prepareWorkerd(ctx, root, cache, work)
		}
		var s *server
		if err == nil {
			s, err = start(ctx, p, work, pin)
		}
		info := rep.runtime(name)
		info.Version = p.version
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(os.Stderr, "%s unavailable: %v\n", name, err)
			info.Error = err.Error()
			continue
		}
		servers[name] = s
		info.Process = s.exe()
	}

	for _, sc := range chosen {
		skip := map[string]cell{} // runtime → status and note of its cells, if it cannot run
		for _, name := range runtimes {
			s := servers[name]
			switch {
			case s == nil:
				skip[name] = cell{Status: "n/a", Note: "did not start"}
			default:
				if why := probe(ctx, s, sc); why != "" {
					skip[name] = cell{Status: "n/a", Note: why}
				}
			}
		}
		for i, c := range conns {
			order := slices.Clone(runtimes)
			if i%2 == 1 { // alternate who goes first, so drift hits both
				slices.Reverse(order)
			}
			for _, name := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				row := cell{Scenario: sc.Name, Conns: c, Runtime: name}
				s := servers[name]
				if skip[name].Status == "" && !s.alive() {
					skip[name] = cell{Status: "n/a", Note: "server exited: " + s.logTail()}
				}
				if sk := skip[name]; sk.Status != "" {
					row.Status, row.Note = sk.Status, sk.Note
				} else {
					fmt.Fprintf(os.Stderr, "%-9s %3d conns  %-7s …", sc.Name, c, name)
					cpu0, cpuErr := s.cpuTime()
					res, err := load.Run(ctx, load.Options{
						Conns: c, Duration: duration, Warmup: warmup,
						URL: func(rng *rand.Rand) string { return s.Base + sc.Path(rng) },
					})
					if err != nil {
						return err
					}
					if cpu1, err := s.cpuTime(); err == nil && cpuErr == nil && res.Requests > 0 {
						// Warmup requests are not counted, their CPU is: a
						// slight overestimate, the same for every runtime.
						row.CPUPerReq = float64((cpu1 - cpu0).Microseconds()) / float64(res.Requests)
					}
					fmt.Fprintf(os.Stderr, " %8.0f req/s  p50 %s  p99 %s  errors %d  cpu %.0f µs/req\n",
						res.ReqPerSec, fmtDur(res.P50), fmtDur(res.P99), res.Errors, row.CPUPerReq)
					row.Status, row.Result = "ok", &res
					if res.Requests == 0 {
						row.Status, row.Note = "n/a", "no successful request: "+res.FirstError
					} else if res.Errors > 0 {
						row.Note = res.FirstError
					}
				}
				rep.Cells = append(rep.Cells, row)
			}
		}
		if sc.Name == "sql-10k" {
			for _, name := range runtimes {
				if s := servers[name]; s != nil && s.alive() {
					if kb, err := s.rssKB(); err == nil {
						rep.runtime(name).RSSAfter10kKB = kb
					}
				}
			}
		}
	}

	rep.finish()
	md := rep.markdown(runtimes)
	fmt.Print(md)
	if out == "-" {
		return nil
	}
	if out == "" {
		out = filepath.Join(root, "bench", "results", rep.Date+"-"+rep.Machine.Host+".json")
	}
	if err := rep.writeJSON(out); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}

// probe warms a server for a scenario and sends one request; it returns why
// the scenario cannot run there ("" if it can). A non-2xx answer (no JS RPC,
// no D1 binding) makes the scenario n/a for that runtime instead of failing.
func probe(ctx context.Context, s *server, sc scenario) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	if err := load.Do(ctx, s.Base+sc.Path(rng)); err != nil {
		return firstLines(err.Error(), 1)
	}
	if sc.Warm != nil {
		if err := sc.Warm(ctx, s.Base); err != nil {
			return "warm-up failed: " + firstLines(err.Error(), 1)
		}
	}
	return ""
}

// pinSelf moves every thread of this process to core 1 and runs Go on it alone.
func pinSelf() error {
	if runtime.NumCPU() < 2 {
		return fmt.Errorf("-pin needs at least 2 cores, have %d", runtime.NumCPU())
	}
	out, err := exec.Command("taskset", "-a", "-p", "-c", "1", strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	runtime.GOMAXPROCS(1)
	return nil
}

// repoRoot finds the directory of cairn's go.mod, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/cairn-dev/cairn\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run inside the cairn repository (no go.mod of github.com/cairn-dev/cairn above the working directory)")
		}
		dir = parent
	}
}

func pickScenarios(list string) ([]scenario, error) {
	var out []scenario
	for _, n := range splitList(list) {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", n, names())
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

func parseInts(list string) ([]int, error) {
	var out []int
	for _, f := range splitList(list) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("bad connection count %q (want 1…1024)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
