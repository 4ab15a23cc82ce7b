package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opsConfig binds a D1 database; the Worker fetches the URL in ?to=
// and answers its status, or the error's message.
const opsConfig = `{
  "name": "hard",
  "main": "src/index.js",
  "compatibility_date": "2026-11-01",
  "d1_databases": [{ "binding": "DB", "database_name": "db", "database_id": "bbbbbbbb-0000-0000-0000-000000000001" }]
}`

const opsWorker = `
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/fetch") {
      try {
        const r = await fetch(url.searchParams.get("to"));
        return new Response("status " + r.status + ": " + (await r.text()));
      } catch (e) {
        return new Response("error: " + e.message);
      }
    }
    if (url.pathname === "/tables") {
      const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' ORDER BY name").all();
      return new Response(results.map((r) => r.name).join(","));
    }
    return new Response("hi");
  },
};
`

// apiPost sends a POST to the admin API with the given headers and answers
// status and body.
func apiPost(t *testing.T, u, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The admin API without a token (loopback only) runs nothing a web page
// sends: a "simple" cross-origin POST (text/plain, foreign Origin), a
// DNS-rebinding request (foreign Host); and the Worker's own fetch cannot
// reach it, though under cairn dev it reaches other loopback servers.
func TestHardeningAdminAPIProbes(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": opsConfig, "src/index.js": opsWorker})
	apiPort := freePort(t)
	d := startDev(t, dir, t.TempDir(), "--api-port", fmt.Sprint(apiPort))
	query := fmt.Sprintf("http://127.0.0.1:%d/client/v4/accounts/local/d1/database/bbbbbbbb-0000-0000-0000-000000000001/query", apiPort)
	create := func(table string) string { return `{"sql":"CREATE TABLE ` + table + ` (a)"}` }

	probes := []struct {
		name   string
		body   string
		header map[string]string
		status int
	}{
		{"browser simple POST", create("csrf"), map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403},
		{"browser form POST", create("form"), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, 403},
		{"DNS rebinding", create("rebind"), map[string]string{"Content-Type": "application/json", "Host": fmt.Sprintf("evil.example:%d", apiPort)}, 403},
		{"text/plain without Origin", create("plain"), map[string]string{"Content-Type": "text/plain"}, 415},
		{"local client", create("legit"), map[string]string{"Content-Type": "application/json"}, 200},
	}
	for _, p := range probes {
		status, body := apiPost(t, query, p.body, p.header)
		if status != p.status {
			t.Errorf("%s: %d %s, want %d", p.name, status, body, p.status)
		}
	}
	d.expect("GET", "/tables", 200, "legit")

	// The Worker's fetch: never the admin API; other loopback servers, as
	// under wrangler dev.
	status := fmt.Sprintf("http://127.0.0.1:%d/client/v4/cairn/status", apiPort)
	for _, u := range []string{status, fmt.Sprintf("http://localhost:%d/client/v4/cairn/status", apiPort)} {
		_, body := d.Get("/fetch?to=" + url.QueryEscape(u))
		if !strings.HasPrefix(body, "error: ") || !strings.Contains(body, "admin API") {
			t.Errorf("Worker fetch of %s = %q, want an error naming the admin API", u, body)
		}
	}
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "local") }))
	defer local.Close()
	d.expect("GET", "/fetch?to="+url.QueryEscape(local.URL), 200, "status 200: local")
}

// --private-fetch=false (the default of a server that is not cairn dev)
// keeps the Worker's fetch off loopback and private addresses.
func TestHardeningPrivateFetchDenied(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": opsConfig, "src/index.js": opsWorker})
	d := startDev(t, dir, t.TempDir(), "--private-fetch=false")
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "local") }))
	defer local.Close()
	for _, u := range []string{local.URL, "http://169.254.169.254/latest/meta-data/", d.URL + "/"} {
		_, body := d.Get("/fetch?to=" + url.QueryEscape(u))
		if !strings.HasPrefix(body, "error: ") || !strings.Contains(body, "private address") {
			t.Errorf("Worker fetch of %s = %q, want a private-address error", u, body)
		}
	}
}

// A binding of a kind cairn does not serve warns at start with file:line,
// and the Worker finds an object whose use throws an error naming it.
func TestHardeningUnsupportedBinding(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{
  "name": "unsup",
  "main": "src/index.js",
  "compatibility_date": "2026-11-01",
  "r2_buckets": [
    { "binding": "BUCKET", "bucket_name": "b" }
  ],
  "ai": { "binding": "AI" }
}`,
		"src/index.js": `export default {
  async fetch(req, env) {
    try {
      await env.BUCKET.get("k");
      return new Response("no error");
    } catch (e) {
      return new Response(typeof env.BUCKET + " " + typeof env.AI + ": " + e.message, { status: 500 });
    }
  },
};`,
	})
	d := startDev(t, dir, t.TempDir())
	for _, w := range []string{
		`wrangler.jsonc:6: r2_buckets binding \"BUCKET\" is not supported by cairn yet`,
		`wrangler.jsonc:8: ai binding \"AI\" is not supported by cairn yet`,
	} {
		if !d.waitLog(w) {
			t.Errorf("no warning %q in the log:\n%s", w, d.Logs)
		}
	}
	d.expect("GET", "/", 500, "object object: env.BUCKET (r2_buckets) is not supported by cairn yet")
}

// A Worker name that is not one path element inside the state directory
// is refused with file:line, and nothing is written outside it.
func TestHardeningWorkerNameTraversal(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "proj")
	state := filepath.Join(root, "a", "b", "state")
	for name, content := range map[string]string{
		"wrangler.jsonc": "{\n  \"name\": \"../../x\",\n  \"main\": \"src/index.js\"\n}",
		"src/index.js":   `export default { fetch() { return new Response("hi") } }`,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCairn(t, 30*time.Second, "dev", dir, "--port", fmt.Sprint(freePort(t)), "--persist-to", state)
	if err == nil || !strings.Contains(out, `wrangler.jsonc:2: Worker name "../../x" is not valid`) {
		t.Fatalf("cairn dev = %v:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "x")); !os.IsNotExist(err) {
		t.Errorf("state written outside --persist-to: %v", err)
	}
}

// stateProject writes to a Durable Object, KV and D1; each route answers
// "ok" or the error's message with status 500.
func stateProject(t *testing.T) string {
	return writeProject(t, map[string]string{
		"wrangler.jsonc": `{
  "name": "statey",
  "main": "src/index.js",
  "compatibility_date": "2026-11-01",
  "durable_objects": { "bindings": [{ "name": "C", "class_name": "Counter" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }],
  "kv_namespaces": [{ "binding": "KV", "id": "kv1" }],
  "d1_databases": [{ "binding": "DB", "database_name": "db", "database_id": "db1" }]
}`,
		"src/index.js": `import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  async fetch() {
    const n = (this.ctx.storage.kv.get("n") ?? 0) + 1;
    this.ctx.storage.kv.put("n", n);
    return new Response(String(n));
  }
}
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    try {
      if (path === "/do") return await env.C.getByName("a").fetch(req);
      if (path === "/kv") { await env.KV.put("k", "v"); return new Response("ok"); }
      if (path === "/d1") { await env.DB.exec("CREATE TABLE IF NOT EXISTS t (a)"); await env.DB.prepare("INSERT INTO t VALUES (1)").run(); return new Response("ok"); }
    } catch (e) {
      return new Response("error: " + e.message, { status: 500 });
    }
    return new Response("?", { status: 404 });
  },
};`,
	})
}

// The state directory is locked by the server using it; deleting it while
// serving makes writes fail loudly (they used to succeed and vanish at the
// next start); a catalog that vanished with objects still present stops the
// start (it used to give every object a new id).
func TestHardeningStateDirectory(t *testing.T) {
	dir := stateProject(t)
	state := filepath.Join(t.TempDir(), "state")
	d := startDev(t, dir, state, "--no-watch")
	d.expect("GET", "/do", 200, "1")
	d.expect("GET", "/kv", 200, "ok")
	d.expect("GET", "/d1", 200, "ok")

	// A second server on the same state directory is refused.
	out, err := runCairn(t, 30*time.Second, "dev", dir, "--port", fmt.Sprint(freePort(t)), "--persist-to", state, "--no-watch")
	if err == nil || !strings.Contains(out, "state directory is in use by another cairn process") {
		t.Fatalf("second cairn dev on one state directory = %v:\n%s", err, out)
	}

	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	for _, path := range []string{"/do", "/kv", "/d1"} {
		status, body := d.Get(path)
		if status != 500 || !strings.Contains(body, "error") {
			t.Errorf("GET %s after the state directory was deleted = %d %q, want an error", path, status, body)
		}
	}
	if !d.waitLog("state directory deleted while serving") {
		t.Errorf("no error logged for the deleted state directory:\n%s", d.Logs)
	}
	d.Stop()

	// Objects without their catalog: refuse to start.
	state2 := filepath.Join(t.TempDir(), "state")
	d2 := startDev(t, dir, state2, "--no-watch")
	d2.expect("GET", "/do", 200, "1")
	d2.Stop()
	if err := os.Remove(filepath.Join(state2, "statey", "catalog.json")); err != nil {
		t.Fatal(err)
	}
	out, err = runCairn(t, 30*time.Second, "dev", dir, "--port", fmt.Sprint(freePort(t)), "--persist-to", state2, "--no-watch")
	if err == nil || !strings.Contains(out, "catalog.json is missing but Durable Object data is present") {
		t.Fatalf("cairn dev without catalog.json = %v:\n%s", err, out)
	}
}
