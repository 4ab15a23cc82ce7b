// Package e2e drives the real cairn binary over real HTTP: it builds
// cmd/cairn once, runs `cairn dev` on projects written to temp dirs, and
// checks what a user would see.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cairnBin is the binary under test, built by TestMain.
var cairnBin string

// testClient bounds every request, so a hung server fails a test instead
// of stalling the suite.
var testClient = &http.Client{Timeout: 30 * time.Second}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cairnBin = filepath.Join(dir, "cairn")
	args := []string{"build", "-tags", "sqlite_fts5 sqlite_math_functions", "-o", cairnBin}
	if os.Getenv("CAIRN_E2E_RACE") != "" { // CAIRN_E2E_RACE=1 go test ./e2e: the server runs with the race detector
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/cairn")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cairn:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devServer is a running `cairn dev`.
type devServer struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	Logs *syncBuffer // stderr: the server log
	done chan error
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDev runs `cairn dev dir --port P --persist-to state args…` and waits
// until it prints its Ready line.
func startDev(t *testing.T, dir, state string, args ...string) *devServer {
	t.Helper()
	port := freePort(t)
	all := append([]string{"dev", dir, "--port", fmt.Sprint(port), "--persist-to", state}, args...)
	return startServer(t, port, cairnBin, all...)
}

// startServer runs bin with args, a server that listens on port and prints
// "Ready on …" when it serves, and waits for that line.
func startServer(t *testing.T, port int, bin string, args ...string) *devServer {
	t.Helper()
	return startCommand(t, port, exec.Command(bin, args...))
}

// startCommand starts cmd, a server that listens on port and prints
// "Ready on …" when it serves, and waits for that line. Its stderr and
// stdout go to the devServer's Logs.
func startCommand(t *testing.T, port int, cmd *exec.Cmd) *devServer {
	t.Helper()
	name := filepath.Base(cmd.Path)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &devServer{t: t, cmd: cmd, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Logs: logs, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if strings.HasPrefix(sc.Text(), "Ready on ") {
				close(ready)
			}
		}
	}()
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { d.Stop() })
	select {
	case <-ready:
	case err := <-d.done:
		d.done <- err
		t.Fatalf("%s exited before ready: %v\n%s", name, err, logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after 60s\n%s", name, logs)
	}
	return d
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *devServer) Stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("cairn dev exit after SIGTERM: %v\n%s", err, d.Logs)
		}
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		d.t.Errorf("cairn dev did not stop within 15s of SIGTERM\n%s", d.Logs)
	}
}

// Do sends a request and returns status and body.
func (d *devServer) Do(method, path, body string) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.URL+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v\n%s", method, path, err, d.Logs)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitLog waits up to 5s for the server log to contain want (the log
// reaches us through a pipe, a moment after the response).
func (d *devServer) waitLog(want string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.Logs.String(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Get is Do("GET", path, "").
func (d *devServer) Get(path string) (int, string) {
	d.t.Helper()
	return d.Do("GET", path, "")
}

// expect checks one request's status and body.
func (d *devServer) expect(method, path string, wantStatus int, wantBody string) {
	d.t.Helper()
	status, body := d.Do(method, path, "")
	if status != wantStatus || body != wantBody {
		d.t.Errorf("%s %s = %d %q, want %d %q\nlogs:\n%s", method, path, status, body, wantStatus, wantBody, d.Logs)
	}
}

// writeProject writes files (path → content) under a new temp dir.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runCairn runs the binary to completion and returns its combined output.
func runCairn(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cairnBin, args...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		t.Fatalf("cairn %v did not exit within %s\n%s", args, timeout, out.String())
		return "", nil
	}
}

// getJSON GETs path, which must answer 200, and decodes its JSON body into v.
func getJSON(t *testing.T, d *devServer, path string, v any) {
	t.Helper()
	status, body := d.Get(path)
	if status != 200 {
		t.Fatalf("GET %s = %d %s\n%s", path, status, body, d.Logs)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// installExample copies examples/name into a temp dir and installs its npm
// packages there (pinned by its package-lock.json); it skips the test
// without npm.
func installExample(t *testing.T, name string) string {
	t.Helper()
	return installProject(t, "../examples/"+name)
}

// installProject copies the npm project at src to a temporary directory
// and runs npm ci there (versions pinned by its package-lock.json).
func installProject(t *testing.T, src string) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed: cannot install the example's packages")
	}
	dir := copyDir(t, src)
	install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	done := make(chan struct{})
	var out []byte
	go func() { out, err = install.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = install.Process.Kill()
		t.Fatal("npm ci took over 3 minutes")
	}
	if err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	return dir
}
