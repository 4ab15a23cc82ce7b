// Command backuplat measures backups of a served state directory: it
// builds cairn, fills a Worker's state directory with -size MiB of SQLite
// databases, serves it with `cairn dev` under a write load on Durable
// Objects, KV and D1, and reports the write latency (p50, p99, max) with
// no backup running, during `cairn backup --remote` (the server's backup:
// acknowledgements held back during its second pass) and during `cairn
// backup` beside the server (per database), each backup's time and size,
// and the time of restoring one.
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./bench/cmd/backuplat [-size 1024] [-conns 4]
//
// Timings on a shared machine are noisy: compare the phases of one run.
package main

import (
	"bufio"
	"database/sql"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

const config = `{
  "name": "bk",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ACCT", "class_name": "Acct" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Acct"] }],
  "kv_namespaces": [{ "binding": "KV", "id": "bk-kv" }],
  "d1_databases": [{ "binding": "DB", "database_name": "bk", "database_id": "bk-db" }],
}`

const worker = `import { DurableObject } from "cloudflare:workers";
export class Acct extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS a (seq INTEGER PRIMARY KEY, pad BLOB)");
  }
  async fetch(req) {
    this.ctx.storage.sql.exec("INSERT INTO a VALUES (?, randomblob(1000))", Number(new URL(req.url).pathname.split("/")[4]));
    return new Response("ok");
  }
}
export default {
  async fetch(req, env) {
    const [, kind, name, , seq] = new URL(req.url).pathname.split("/");
    if (kind === "o") return env.ACCT.getByName(name).fetch(req);
    await env.DB.exec("CREATE TABLE IF NOT EXISTS w (seq INTEGER PRIMARY KEY)");
    await env.KV.put("k" + seq, seq);
    await env.DB.prepare("INSERT INTO w VALUES (?)").bind(Number(seq)).run();
    return new Response("ok");
  },
};
`

func main() {
	size := flag.Int("size", 1024, "MiB of SQLite databases in the state directory")
	conns := flag.Int("conns", 4, "concurrent writers")
	window := flag.Duration("window", 8*time.Second, "length of the no-backup phase")
	flag.Parse()
	if err := run(*size, *conns, *window); err != nil {
		fmt.Fprintln(os.Stderr, "backuplat:", err)
		os.Exit(1)
	}
}

type sample struct {
	at  time.Time
	lat time.Duration
}

func run(size, conns int, window time.Duration) error {
	work, err := os.MkdirTemp("", "cairn-backuplat-")
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
	proj := filepath.Join(work, "proj")
	os.MkdirAll(filepath.Join(proj, "src"), 0o755)
	os.WriteFile(filepath.Join(proj, "wrangler.jsonc"), []byte(config), 0o644)
	os.WriteFile(filepath.Join(proj, "src", "index.js"), []byte(worker), 0o644)
	state := filepath.Join(work, "state")
	fmt.Printf("filling %d MiB of databases…\n", size)
	if err := fill(filepath.Join(state, "bk", "filler"), size); err != nil {
		return err
	}

	port, apiPort := freePort(), freePort()
	srv := exec.Command(bin, "dev", proj, "--no-watch", "--no-request-log", "--persist-to", state, "--port", fmt.Sprint(port), "--api-port", fmt.Sprint(apiPort))
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Ready on ") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var (
		mu      sync.Mutex
		samples []sample
		seq     atomic.Int64
		errs    atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: time.Minute}
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				path := fmt.Sprintf("/x/-/write/%d", n)
				if n%4 != 0 {
					path = fmt.Sprintf("/o/obj%d/write/%d", (int(n)+c)%16, n)
				}
				t0 := time.Now()
				resp, err := client.Post(base+path, "text/plain", nil)
				if err != nil || resp.StatusCode != 200 {
					errs.Add(1)
					if resp != nil {
						resp.Body.Close()
					}
					continue
				}
				resp.Body.Close()
				mu.Lock()
				samples = append(samples, sample{t0, time.Since(t0)})
				mu.Unlock()
			}
		}()
	}
	phase := func(name string, from, to time.Time) {
		mu.Lock()
		var lats []time.Duration
		for _, s := range samples {
			if !s.at.Before(from) && s.at.Before(to) {
				lats = append(lats, s.lat)
			}
		}
		mu.Unlock()
		slices.Sort(lats)
		if len(lats) == 0 {
			fmt.Printf("%-28s no requests\n", name)
			return
		}
		q := func(p float64) time.Duration {
			return lats[min(len(lats)-1, int(p*float64(len(lats))))].Round(10 * time.Microsecond)
		}
		fmt.Printf("%-28s %6d writes %7.0f/s  p50 %-9s p99 %-9s max %s\n", name, len(lats), float64(len(lats))/to.Sub(from).Seconds(), q(0.5), q(0.99), lats[len(lats)-1].Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second) // warm up
	t0 := time.Now()
	time.Sleep(window)
	phase("no backup", t0, time.Now())

	backup := func(name string, args ...string) (string, error) {
		to := filepath.Join(work, name)
		start := time.Now()
		cmd := exec.Command(bin, append([]string{"backup", "--to", to, "-q"}, args...)...)
		var ru string
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s: %v: %s", name, err, out)
		}
		end := time.Now()
		if st := cmd.ProcessState; st != nil {
			ru = fmt.Sprintf("(client CPU %s)", (st.UserTime() + st.SystemTime()).Round(time.Millisecond))
		}
		phase("during "+name, start, end)
		fmt.Printf("  %s: %s, %d MiB %s\n", name, end.Sub(start).Round(time.Millisecond), dirSize(to)>>20, ru)
		return to, nil
	}
	if _, err := backup("backup --remote (cut)", "--remote", fmt.Sprintf("http://127.0.0.1:%d", apiPort)); err != nil {
		return err
	}
	time.Sleep(time.Second)
	cli, err := backup("backup beside (per-db)", "-c", proj, "--persist-to", state)
	if err != nil {
		return err
	}
	close(stop)
	wg.Wait()
	fmt.Printf("failed writes: %d\n", errs.Load())

	start := time.Now()
	cmd := exec.Command(bin, "restore", "-q", "-c", proj, "--persist-to", filepath.Join(work, "restored"), "--from", cli)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("restore: %v: %s", err, out)
	}
	fmt.Printf("restore: %s (CPU %s)\n", time.Since(start).Round(time.Millisecond), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Round(time.Millisecond))
	return nil
}

// fill makes databases of 64 MiB each (the last smaller) in dir, size MiB
// in all.
func fill(dir string, size int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; size > 0; i++ {
		mb := min(size, 64)
		size -= mb
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, fmt.Sprintf("f%03d.sqlite", i))+"?_journal_mode=WAL&_synchronous=OFF")
		if err != nil {
			return err
		}
		_, err = db.Exec(fmt.Sprintf("CREATE TABLE t (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d) INSERT INTO t SELECT randomblob(4000) FROM n", mb*256))
		db.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
