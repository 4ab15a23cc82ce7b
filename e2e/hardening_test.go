package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const hardeningWorker = `export default {
  async fetch(req) {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/json": {
        try { await req.json(); return new Response("parsed"); }
        catch (e) { return new Response(e.name, { status: 400 }); }
      }
      case "/json-uncaught":
        return Response.json(await req.json());
      case "/regex":
        // a lookahead makes goja use its backtracking engine: exponential here
        return new Response(String(/^(a+)+$(?!x)/.test("a".repeat(40) + "b")));
      case "/alloc": {
        const keep = [];
        for (;;) keep.push(new Uint8Array(1 << 20));
      }
      case "/internals":
        return new Response(typeof globalThis.__cairn);
    }
    return new Response("ok");
  },
};`

// The real binary survives what used to end it or wedge it (issue 17): a
// 5 MB deeply nested JSON body, a catastrophic regular expression and an
// allocation loop each fail only their own request, other requests are
// answered meanwhile, and the server still answers the next request and
// shuts down on time.
func TestHardeningSurvives(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "hardening", "main": "src/index.js", "compatibility_date": "2025-09-01",
  "limits": {"cpu_ms": 4000, "memory_mb": 128}}`,
		"src/index.js": hardeningWorker,
	})
	d := startDev(t, dir, t.TempDir())
	nested := strings.Repeat("[", 2_500_000) + strings.Repeat("]", 2_500_000)

	if status, body := d.Do("POST", "/json", nested); status != 400 || body != "SyntaxError" {
		t.Errorf("POST 5 MB nested JSON = %d %q, want 400 SyntaxError", status, body)
	}
	if status, _ := d.Do("POST", "/json-uncaught", nested); status != 500 {
		t.Errorf("POST 5 MB nested JSON, uncaught = %d, want 500", status)
	}
	d.expect("GET", "/", 200, "ok")
	d.expect("GET", "/internals", 200, "undefined")

	// The regex runs past the CPU limit; other requests are served meanwhile.
	var wg sync.WaitGroup
	wg.Add(1)
	var regexStatus int
	var regexTook time.Duration
	go func() {
		defer wg.Done()
		start := time.Now()
		resp, err := testClient.Get(d.URL + "/regex")
		regexTook = time.Since(start)
		if err == nil {
			regexStatus = resp.StatusCode
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	for range 8 { // round robin reaches the busy runtime's turn
		start := time.Now()
		d.expect("GET", "/", 200, "ok")
		if took := time.Since(start); took > 2*time.Second { // one queued behind the regex waits ~4 s
			t.Errorf("a request during the regex took %s", took)
		}
	}
	wg.Wait()
	if regexStatus != http.StatusInternalServerError || regexTook > 10*time.Second {
		t.Errorf("catastrophic regex = %d after %s, want 500 within 10 s (CPU limit 4 s)", regexStatus, regexTook)
	}
	t.Logf("catastrophic regex failed after %s", regexTook)
	if !d.waitLog("exceeded CPU time limit") {
		t.Errorf("no CPU limit in the log:\n%s", d.Logs)
	}
	d.expect("GET", "/", 200, "ok")

	start := time.Now()
	if status, _ := d.Get("/alloc"); status != 500 {
		t.Errorf("allocation loop = %d, want 500", status)
	}
	t.Logf("allocation loop failed after %s", time.Since(start))
	if !d.waitLog("exceeded memory limit") {
		t.Errorf("no memory limit in the log:\n%s", d.Logs)
	}
	for range 4 {
		d.expect("GET", "/", 200, "ok")
	}

	// SIGTERM while a regex runs: the server still exits in time (Stop
	// fails the test after 15 s).
	go func() {
		if resp, err := testClient.Get(d.URL + "/regex"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	start = time.Now()
	d.Stop()
	t.Logf("shutdown during a regex took %s", time.Since(start))
}

const cpuLimitWorker = `import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  n = 0;
  async fetch() { return new Response(String(++this.n)); }
}
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/spin": await null; for (;;) {}
      case "/regex": return new Response(String(/^(a+)+$(?!x)/.test("a".repeat(40) + "b")));
      case "/wait": // three times cpu_ms of waiting: not CPU time
        await new Promise((r) => setTimeout(r, 3000));
        return new Response("waited");
      case "/slow-fetch": return new Response(await (await fetch(url.searchParams.get("u"))).text());
      case "/count": return env.C.getByName("a").fetch(req);
    }
    return new Response("ok");
  },
};`

// The CPU limit counts CPU and stops only the offender (issue 17): on a
// server with a single runtime, a loop and a catastrophic regular
// expression each get "Worker exceeded CPU time limit." at about cpu_ms,
// while requests waiting (a timer, a slow fetch) for longer than cpu_ms on
// the same runtime are answered and a Durable Object's in-memory counter
// on it keeps counting. Before, the limit was a task's wall time and a
// reset failed every request in flight on the runtime and dropped the
// object's state.
func TestCPULimitHurtsOnlyTheOffender(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second)
		io.WriteString(w, "slow answer")
	}))
	defer slow.Close()
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "cpulimit", "main": "src/index.js", "compatibility_date": "2025-09-01",
  "limits": {"cpu_ms": 1000},
  "durable_objects": {"bindings": [{"name": "C", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_classes": ["Counter"]}]}`,
		"src/index.js": cpuLimitWorker,
	})
	d := startDev(t, dir, t.TempDir(), "--runtimes", "1")
	d.expect("GET", "/count", 200, "1")
	d.expect("GET", "/count", 200, "2")

	// Requests that wait longer than cpu_ms, in flight while the
	// offenders run on the same runtime.
	var wg sync.WaitGroup
	for path, want := range map[string]string{"/wait": "waited", "/slow-fetch?u=" + url.QueryEscape(slow.URL): "slow answer"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			d.expect("GET", path, 200, want)
			t.Logf("%s answered after %s", path, time.Since(start))
		}()
	}
	time.Sleep(200 * time.Millisecond)

	for _, path := range []string{"/spin", "/regex"} {
		start := time.Now()
		status, _ := d.Get(path)
		took := time.Since(start)
		if status != http.StatusInternalServerError || took < time.Second || took > 6*time.Second {
			t.Errorf("%s = %d after %s, want 500 after about the 1 s CPU limit", path, status, took)
		}
		t.Logf("%s failed after %s", path, took)
	}
	if !d.waitLog("Worker exceeded CPU time limit.") {
		t.Errorf("no CPU limit error in the log:\n%s", d.Logs)
	}
	wg.Wait()
	d.expect("GET", "/count", 200, "3") // the object's in-memory state survived
	d.expect("GET", "/", 200, "ok")
}
