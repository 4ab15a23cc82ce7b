package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/bench/load"
)

// workerdVersion is the npm version of workerd the harness installs.
const workerdVersion = "1.20261117.1"

// A server is one runtime serving bench/app on a loopback port.
type server struct {
	Name    string
	Base    string // http://127.0.0.1:PORT
	Version string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// prepared is a runtime ready to start: the command line, minus pinning.
type prepared struct {
	name, version string
	argv          []string // with PORT where the port goes
	dir           string
}

// prepareCairn builds cairn from the repository into work.
func prepareCairn(ctx context.Context, root, work string) (prepared, error) {
	version := "repo"
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		version = "git " + strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
			version += "+dirty"
		}
	}
	bin := filepath.Join(work, "cairn")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "sqlite_fts5 sqlite_math_functions", "-o", bin, "./cmd/cairn")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return prepared{name: "cairn", version: version},
			fmt.Errorf("go build ./cmd/cairn: %v\n%s", err, firstLines(string(out), 8))
	}
	state := filepath.Join(work, "cairn-state")
	return prepared{
		name: "cairn", version: version, dir: root,
		argv: []string{bin, "dev", filepath.Join(root, "bench", "app"), "--port", "PORT",
			"--ip", "127.0.0.1", "--persist-to", state, "--no-watch", "--no-request-log"},
	}, nil
}

// prepareWorkerd installs workerd from npm into cache if missing and writes
// its config for bench/app into work.
func prepareWorkerd(ctx context.Context, root, cache, work string) (prepared, error) {
	bin, err := installWorkerd(ctx, cache)
	if err != nil {
		return prepared{}, err
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return prepared{}, fmt.Errorf("%s --version: %v", bin, err)
	}
	dir := filepath.Join(work, "workerd")
	disk := filepath.Join(work, "workerd-state")
	for _, d := range []string{dir, disk, filepath.Join(disk, "kv")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return prepared{}, err
		}
	}
	js, err := os.ReadFile(filepath.Join(root, "bench", "app", "worker.js"))
	if err != nil {
		return prepared{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "worker.js"), js, 0o644); err != nil {
		return prepared{}, err
	}
	wasm, err := os.ReadFile(filepath.Join(root, "bench", "app", "calc.wasm"))
	if err != nil {
		return prepared{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "calc.wasm"), wasm, 0o644); err != nil {
		return prepared{}, err
	}
	backend, err := os.ReadFile(filepath.Join(root, "bench", "app", "d1-backend.js"))
	if err != nil {
		return prepared{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "d1-backend.js"), backend, 0o644); err != nil {
		return prepared{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.capnp"), []byte(workerdConfig(disk, filepath.Join(root, "bench", "app", "public"))), 0o644); err != nil {
		return prepared{}, err
	}
	return prepared{
		name: "workerd", version: strings.TrimSpace(string(out)) + " (npm " + workerdVersion + ")", dir: dir,
		argv: []string{bin, "serve", "config.capnp", "--socket-addr", "http=127.0.0.1:PORT"},
	}, nil
}

// workerdConfig is the workerd equivalent of bench/app/wrangler.jsonc, with
// Durable Object SQLite storage on disk under dir. workerd has no local KV
// store of its own: its KV binding speaks HTTP to a service, and a writable
// disk service answers the get/put/delete it sends (one file per key; no
// metadata, expiration or list, which the bench does not use).
// The D1 binding is workerd's own (cloudflare-internal:d1-api) in front of a
// Miniflare-style backend: bench/app/d1-backend.js, a SQLite Durable Object.
// Static assets (bench/app/public) are a read-only disk service the Worker
// forwards /static/ requests to.
func workerdConfig(dir, assets string) string {
	return fmt.Sprintf(`using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .bench),
    (name = "d1", worker = .d1),
    (name = "do-disk", disk = (path = %q, writable = true)),
    (name = "kv-disk", disk = (path = %q, writable = true)),
    (name = "assets", disk = (path = %q)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const bench :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "calc.wasm", wasm = embed "calc.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [(className = "Bench", uniqueKey = "bench-Bench", enableSql = true)],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [
    (name = "BENCH", durableObjectNamespace = "Bench"),
    (name = "KV", kvNamespace = "kv-disk"),
    (name = "ASSETS", service = "assets"),
    (name = "DB", wrapped = (moduleName = "cloudflare-internal:d1-api",
      innerBindings = [(name = "fetcher", service = "d1")])),
  ],
);

const d1 :Workerd.Worker = (
  modules = [(name = "d1-backend.js", esModule = embed "d1-backend.js")],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [(className = "D1Backend", uniqueKey = "bench-D1Backend", enableSql = true)],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [(name = "D1", durableObjectNamespace = "D1Backend")],
);
`, dir, filepath.Join(dir, "kv"), assets)
}

// installWorkerd returns the workerd binary in cache, installing the pinned
// version with npm if it is not there. The binary is the platform package's
// ELF file itself, so the process started is workerd, not a wrapper.
func installWorkerd(ctx context.Context, cache string) (string, error) {
	arch := map[string]string{"amd64": "64", "arm64": "arm64"}[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		return "", fmt.Errorf("workerd: no npm package for %s/%s in this harness", runtime.GOOS, runtime.GOARCH)
	}
	prefix := filepath.Join(cache, "workerd")
	bin := filepath.Join(prefix, "node_modules", "@cloudflare", "workerd-linux-"+arch, "bin", "workerd")
	if installedVersion(prefix) == workerdVersion {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	fmt.Fprintf(os.Stderr, "installing workerd@%s into %s …\n", workerdVersion, prefix)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	npm := exec.CommandContext(ctx, "npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
		"--no-save", "workerd@"+workerdVersion)
	if out, err := npm.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install workerd@%s: %v\n%s", workerdVersion, err, firstLines(string(out), 8))
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("workerd binary not found after npm install: %w", err)
	}
	return bin, nil
}

func installedVersion(prefix string) string {
	b, err := os.ReadFile(filepath.Join(prefix, "node_modules", "workerd", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Version string }
	_ = json.Unmarshal(b, &pkg)
	return pkg.Version
}

// start runs p on a free loopback port (pinned to core 0 with taskset if pin)
// and waits until GET /ok answers.
func start(ctx context.Context, p prepared, work string, pin bool) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv := make([]string, 0, len(p.argv)+3)
	if pin {
		// taskset execs the server, so the pid stays the server's own.
		argv = append(argv, "taskset", "-c", "0")
	}
	for _, a := range p.argv {
		argv = append(argv, strings.ReplaceAll(a, "PORT", strconv.Itoa(port)))
	}
	logPath := filepath.Join(work, p.name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{Name: p.name, Version: p.version, Base: fmt.Sprintf("http://127.0.0.1:%d", port),
		cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() { _ = cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(90 * time.Second)
	for {
		probe, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := load.Do(probe, s.Base+"/ok")
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited during start-up: %s", p.name, s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not serving GET /ok after 90s (%v): %s", p.name, err, s.logTail())
		}
	}
}

// alive reports whether the server process is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after 10s, and waits for the exit.
func (s *server) stop() {
	if !s.alive() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// rssKB is VmRSS of the server process from /proc, in KiB.
func (s *server) rssKB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// exe is the executable of the running process, to show what RSS measured.
func (s *server) exe() string {
	p, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.cmd.Process.Pid))
	return filepath.Base(p)
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
