// Command uploadmem measures the peak memory of cairn while concurrent
// large uploads go through a Worker that hashes them (issue 14): it runs
// `cairn dev` on a small project, sends -n uploads of -size bytes at once
// (generated on the fly, never held by the client), checks each answer is
// the SHA-256 of what was sent, and reads the server's peak RSS (VmHWM in
// /proc/PID/status, Linux only).
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./bench/cmd/uploadmem [-n 8] [-size 256MiB] [-mode stream|buffer] [-bin PATH]
//
// -mode stream hashes with crypto.DigestStream as the body arrives
// (request.body.pipeTo); -mode buffer reads the whole body first
// (request.arrayBuffer() and crypto.subtle.digest), as every Worker had to
// before bodies streamed. -bin runs another cairn binary (e.g. one built
// from an older commit; buffer mode works with any); without it, cairn is
// built from this repository.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const config = `{ "name": "uploadmem", "main": "worker.js", "compatibility_date": "2025-09-01" }`

const worker = `export default {
  async fetch(req) {
    const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
    if (new URL(req.url).pathname === "/buffer") {
      return new Response(hex(await crypto.subtle.digest("SHA-256", await req.arrayBuffer())));
    }
    const ds = new crypto.DigestStream("SHA-256");
    await req.body.pipeTo(ds);
    return new Response(hex(await ds.digest));
  },
};
`

func main() {
	n := flag.Int("n", 8, "concurrent uploads")
	size := flag.String("size", "256MiB", "bytes per upload (suffixes KiB, MiB, GiB)")
	mode := flag.String("mode", "stream", "stream (crypto.DigestStream) or buffer (arrayBuffer)")
	bin := flag.String("bin", "", "cairn binary to run (default: build this repository's)")
	flag.Parse()
	bytes, err := parseSize(*size)
	if err == nil && *mode != "stream" && *mode != "buffer" {
		err = fmt.Errorf("-mode %q: want stream or buffer", *mode)
	}
	if err == nil {
		err = run(*n, bytes, *mode, *bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "uploadmem:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return v * mult, nil
}

func run(n int, size int64, mode, bin string) error {
	work, err := os.MkdirTemp("", "cairn-uploadmem-")
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
	port := freePort()
	args := []string{"dev", proj, "--no-watch", "--persist-to", filepath.Join(work, "state"), "--port", fmt.Sprint(port)}
	if size > 100<<20 {
		args = append(args, "--max-body-size", fmt.Sprint(size))
	}
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	logs := &strings.Builder{}
	cmd.Stderr = &lockedWriter{w: logs}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := waitReady(stdout); err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/%s", port, mode)
	idle, _ := procStatus(cmd.Process.Pid, "VmRSS")

	start := time.Now()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- upload(base, size, byte(i))
		}()
	}
	wg.Wait()
	close(errs)
	elapsed := time.Since(start)
	var failed []error
	for err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	peak, err := procStatus(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return err
	}
	fmt.Printf("mode=%s uploads=%d size=%d MiB total=%d MiB time=%.1fs idle_rss=%d MiB peak_rss=%d MiB failed=%d\n",
		mode, n, size>>20, int64(n)*size>>20, elapsed.Seconds(), idle>>10, peak>>10, len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("%d uploads failed, first: %w\nserver log:\n%s", len(failed), failed[0], logs.String())
	}
	return nil
}

// upload sends size bytes (a pattern seeded by seed) and checks the answer
// is their SHA-256.
func upload(url string, size int64, seed byte) error {
	h := sha256.New()
	body := io.TeeReader(io.LimitReader(&pattern{next: seed}, size), h)
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if want := hex.EncodeToString(h.Sum(nil)); resp.StatusCode != 200 || string(got) != want {
		return fmt.Errorf("status %d, body %.200q, want hash %s", resp.StatusCode, got, want)
	}
	return nil
}

// pattern is an endless cheap byte sequence.
type pattern struct{ next byte }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = p.next
		p.next = p.next*31 + 7
	}
	return len(b), nil
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of the server (Linux only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func waitReady(stdout io.Reader) error {
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Ready on ") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
		return nil
	case <-time.After(60 * time.Second):
		return errors.New("the server was not ready within 60s")
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
