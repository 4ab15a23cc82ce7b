package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const basicConfig = `{
  // comments and trailing commas are fine
  "name": "basic",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "vars": { "NAME": "cairn", },
  "limits": { "cpu_ms": 300 },
}`

const basicWorker = `export default {
  async fetch(req, env, ctx) {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/hello":
        return new Response("hello " + env.NAME);
      case "/json":
        return Response.json({ method: req.method, q: url.searchParams.get("q"), h: req.headers.get("x-test") });
      case "/echo":
        return new Response(await req.text(), { status: 201, headers: { "x-echo": "yes" } });
      case "/throw":
        throw new Error("boom");
      case "/reject":
        return Promise.reject(new Error("nope"));
      case "/loop":
        for (;;) {}
      case "/loop-later":
        await new Promise((resolve) => setTimeout(resolve, 1));
        for (;;) {}
      case "/timer":
        return new Promise((resolve) => setTimeout(() => resolve(new Response("timed")), 20));
      case "/redirect": {
        const manual = await fetch(env.UPSTREAM + "/moved", { redirect: "manual" });
        const followed = await fetch(env.UPSTREAM + "/moved");
        let error = "no error";
        try { await fetch(env.UPSTREAM + "/moved", { redirect: "error" }); } catch (e) { error = e.name; }
        return new Response([manual.status, manual.headers.get("location"), followed.status, await followed.text(), error].join(" "));
      }
      case "/fetch": {
        const res = await fetch(env.UPSTREAM + "/up?x=1", { method: "POST", body: "ping", headers: { "x-from": "worker" } });
        return new Response(res.status + " " + (await res.text()) + " " + res.headers.get("x-up"));
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`

func TestWorkerServesRequests(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/target", http.StatusFound)
			return
		}
		body := make([]byte, 16)
		n, _ := r.Body.Read(body)
		w.Header().Set("x-up", r.Header.Get("x-from"))
		w.WriteHeader(202)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body[:n])
	}))
	defer upstream.Close()

	dir := writeProject(t, map[string]string{"wrangler.jsonc": basicConfig, "src/index.js": basicWorker})
	d := startDev(t, dir, t.TempDir(), "--var", "UPSTREAM:"+upstream.URL)

	d.expect("GET", "/hello", 200, "hello cairn")
	d.expect("GET", "/nowhere", 404, "not found")
	d.expect("GET", "/timer", 200, "timed")
	d.expect("GET", "/fetch", 200, "202 POST /up?x=1 ping worker")
	d.expect("GET", "/redirect", 200, "302 /target 202 GET /target  TypeError")

	req, _ := http.NewRequest("PUT", d.URL+"/json?q=42", nil)
	req.Header.Set("X-Test", "hdr")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got["method"] != "PUT" || got["q"] != "42" || got["h"] != "hdr" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("/json = %v (content-type %q)", got, resp.Header.Get("Content-Type"))
	}

	resp, err = testClient.Post(d.URL+"/echo", "text/plain", strings.NewReader("some body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Echo") != "yes" {
		t.Errorf("/echo = %d, x-echo %q", resp.StatusCode, resp.Header.Get("X-Echo"))
	}
	d.expect("POST", "/echo", 201, "")
}

func TestWorkerFailuresDoNotStopServer(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": basicConfig, "src/index.js": basicWorker})
	d := startDev(t, dir, t.TempDir())

	for _, path := range []string{"/throw", "/reject", "/loop", "/loop-later"} {
		status, _ := d.Get(path)
		if status != 500 {
			t.Errorf("GET %s = %d, want 500", path, status)
		}
		// The server and every runtime keep working, promises included.
		for range 4 {
			d.expect("GET", "/hello", 200, "hello cairn")
			d.expect("GET", "/timer", 200, "timed")
		}
	}
	for _, want := range []string{"boom", "nope", "CPU time limit"} {
		if !d.waitLog(want) {
			t.Errorf("logs lack %q:\n%s", want, d.Logs)
		}
	}
}

// A TypeScript worker that throws: the logged stack names the .ts file and
// line, through the bundle's source map.
func TestStackTracesPointAtSource(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.toml": "name = \"ts\"\nmain = \"src/index.ts\"\ncompatibility_date = \"2025-09-01\"\n",
		"src/index.ts": `interface Env { X?: string }

function fail(n: number): never {
  throw new Error("failed with " + n);
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    if (new URL(req.url).pathname === "/fail") fail(7);
    return new Response("fine");
  },
};
`,
	})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/", 200, "fine")
	if status, _ := d.Get("/fail"); status != 500 {
		t.Fatalf("GET /fail = %d, want 500", status)
	}
	if !d.waitLog("failed with 7") || !d.waitLog("src/index.ts:4") {
		t.Errorf("logs lack the source-mapped frame src/index.ts:4:\n%s", d.Logs)
	}
}

func TestBadProjectsFailWithFileAndLine(t *testing.T) {
	const cfg = `{"name": "bad", "main": "src/index.ts", "compatibility_date": "2025-09-01"}`
	tests := []struct {
		name  string
		files map[string]string
		want  string // regexp the output must match
	}{
		{"no config", map[string]string{"README": "x"}, `no wrangler\.jsonc, wrangler\.json or wrangler\.toml`},
		{"no main", map[string]string{"wrangler.jsonc": `{"name": "x"}`}, `"main" is required`},
		{"bad config value", map[string]string{"wrangler.jsonc": "{\n  \"name\": \"x\",\n  \"main\": 5,\n}"}, `wrangler\.jsonc:3`},
		{"syntax error", map[string]string{"wrangler.jsonc": cfg, "src/index.ts": "export default {\n  fetch() { return new Response( }\n};\n"}, `src/index\.ts:2:\d+`},
		{"unresolved import", map[string]string{"wrangler.jsonc": cfg, "src/index.ts": "import x from \"./missing\";\nexport default { fetch() { return new Response(x) } };\n"}, `src/index\.ts:1:\d+: Could not resolve "\./missing"`},
		{"class not exported", map[string]string{
			"wrangler.jsonc": `{"name": "bad", "main": "src/index.ts", "compatibility_date": "2025-09-01",
			  "durable_objects": {"bindings": [{"name": "OBJ", "class_name": "Missing"}]},
			  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Missing"]}]}`,
			"src/index.ts": "export default { fetch() { return new Response(\"x\") } };\n",
		}, `class "Missing" is not exported`},
		{"throws at load", map[string]string{"wrangler.jsonc": cfg, "src/index.ts": "\nthrow new Error(\"at load\");\nexport default {};\n"}, `at load[\s\S]*src/index\.ts:2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeProject(t, tt.files)
			out, err := runCairn(t, 60*time.Second, "dev", dir, "--port", fmt.Sprint(freePort(t)), "--persist-to", t.TempDir())
			if err == nil {
				t.Fatalf("cairn dev succeeded, want failure; output:\n%s", out)
			}
			if !regexp.MustCompile(tt.want).MatchString(out) {
				t.Errorf("output does not match %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestReloadOnSourceChangeKeepsState(t *testing.T) {
	const src = `import { DurableObject } from "cloudflare:workers";
export class Box extends DurableObject {
  async fetch(req) {
    const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", n);
    return new Response(VERSION + " " + n);
  }
}
const VERSION = "v1";
export default { fetch(req, env) { return env.BOX.getByName("one").fetch(req); } };
`
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "reload", "main": "index.js", "compatibility_date": "2025-09-01",
		  "durable_objects": {"bindings": [{"name": "BOX", "class_name": "Box"}]},
		  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Box"]}]}`,
		"index.js": src,
	})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/", 200, "v1 1")
	last := 1
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(strings.Replace(src, `"v1"`, `"v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := d.Get("/")
		var version string
		var n int
		if _, err := fmt.Sscanf(body, "%s %d", &version, &n); err != nil {
			t.Fatalf("body %q: %v\n%s", body, err, d.Logs)
		}
		if n != last+1 {
			t.Fatalf("count went from %d to %d (%q): state lost or doubled", last, n, body)
		}
		last = n
		if version == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload within 15s; last body %q\n%s", body, d.Logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A Worker whose default export has no fetch handler answers 500, as
// wrangler dev does, and says why in the log.
func TestWorkerWithoutFetchHandler(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "nofetch", "main": "index.js", "compatibility_date": "2025-09-01"}`,
		"index.js":       "export default { scheduled() {} };\n",
	})
	d := startDev(t, dir, t.TempDir())
	if status, _ := d.Get("/anything"); status != 500 {
		t.Errorf("GET /anything = %d, want 500", status)
	}
	if !d.waitLog("Handler does not export a fetch() function.") {
		t.Errorf("log does not say why:\n%s", d.Logs)
	}
}

// Secrets in .dev.vars reach env, as with wrangler dev; --var wins over both.
func TestDevVars(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "secrets", "main": "index.js", "compatibility_date": "2025-09-01", "vars": {"A": "config", "B": "config"}}`,
		".dev.vars":      "# local secrets\nB=devvars\nC=\"quoted secret\"\n",
		"index.js":       "export default { fetch(req, env) { return new Response([env.A, env.B, env.C, env.D].join(\",\")) } };\n",
	})
	d := startDev(t, dir, t.TempDir(), "--var", "D:flag")
	d.expect("GET", "/", 200, "config,devvars,quoted secret,flag")
}
