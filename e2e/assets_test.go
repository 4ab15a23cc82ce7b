package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get sends a GET with headers (name, value pairs) and no redirects
// followed.
func getRaw(t *testing.T, d *devServer, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", d.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := *testClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, d.Logs)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// examples/spa: static assets with a single-page app, run_worker_first on
// /api/*, env.ASSETS.fetch, _headers, _redirects, request.cf, a module
// rule for Markdown, and the cron trigger through --test-scheduled.
func TestStaticAssetsSPA(t *testing.T) {
	dir := copyDir(t, "../examples/spa")
	d := startDev(t, dir, t.TempDir(), "--test-scheduled")
	index, err := os.ReadFile(filepath.Join(dir, "public/index.html"))
	if err != nil {
		t.Fatal(err)
	}

	// Assets, served from Go.
	resp, body := getRaw(t, d, "/")
	if resp.StatusCode != 200 || body != string(index) || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET / = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := getRaw(t, d, "/", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("GET / with If-None-Match %s = %d, want 304", etag, resp.StatusCode)
	}
	resp, body = getRaw(t, d, "/assets/app.js")
	if resp.StatusCode != 200 || !strings.Contains(body, "getElementById") ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /assets/app.js = %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := getRaw(t, d, "/about.html"); resp.StatusCode != 307 || resp.Header.Get("Location") != "/about" {
		t.Errorf("GET /about.html = %d %q, want 307 to /about", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := getRaw(t, d, "/old-about"); resp.StatusCode != 301 || resp.Header.Get("Location") != "/about" {
		t.Errorf("GET /old-about = %d %q, want 301 to /about (_redirects)", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A client-side route: index.html for a browser's navigation.
	if resp, body := getRaw(t, d, "/settings/profile", "Sec-Fetch-Mode", "navigate"); resp.StatusCode != 200 || body != string(index) {
		t.Errorf("navigate /settings/profile = %d %q, want index.html", resp.StatusCode, body)
	}
	if resp, body := getRaw(t, d, "/settings/profile"); resp.StatusCode != 200 || body != string(index) {
		t.Errorf("GET /settings/profile = %d %q, want index.html (run_worker_first rules keep the SPA fallback)", resp.StatusCode, body)
	}

	// The Worker, first for /api/*.
	var hello struct{ Hello, Country, Colo string }
	getJSON(t, d, "/api/hello", &hello)
	if hello.Hello != "world" || hello.Country == "" || hello.Colo == "" {
		t.Errorf("/api/hello = %+v, want request.cf.country and colo set", hello)
	}
	d.expect("GET", "/api/notes", 200, "# Notes\n\nImported as text by a module rule.\n")
	d.expect("GET", "/api/page", 200, "200 text/html; charset=utf-8 <p>about</p>\n")
	d.expect("GET", "/api/unknown", 200, string(index))

	// The Cache API: the second answer comes from the cache.
	resp, first := getRaw(t, d, "/api/time")
	if resp.Header.Get("CF-Cache-Status") != "" {
		t.Errorf("first /api/time has CF-Cache-Status %q", resp.Header.Get("CF-Cache-Status"))
	}
	if resp, second := getRaw(t, d, "/api/time"); second != first || resp.Header.Get("CF-Cache-Status") != "HIT" {
		t.Errorf("second /api/time = %q (CF-Cache-Status %q), want the cached %q", second, resp.Header.Get("CF-Cache-Status"), first)
	}

	// The cron trigger, run by hand.
	d.expect("GET", "/api/cron", 200, "never")
	d.expect("GET", "/cdn-cgi/handler/scheduled?cron=*/30+*+*+*+*&time=1700000000000", 200, "")
	d.expect("GET", "/api/cron", 200, "*/30 * * * * at 1700000000000")
	d.expect("GET", "/__scheduled?cron=0+0+*+*+*", 200, "Ran scheduled event")
	before := time.Now().UnixMilli()
	if _, body := d.Get("/api/cron"); !strings.HasPrefix(body, "0 0 * * * at ") || body[len("0 0 * * * at "):] > fmt.Sprint(before) {
		t.Errorf("/api/cron = %q, want 0 0 * * * at a time before now (%d)", body, before)
	}

	// One log line per request, as wrangler prints it, and console lines
	// naming their request.
	for _, want := range []string{`msg="GET / 200 OK (`, `msg="GET / 304 Not Modified (`, `msg="GET /api/hello 200 OK (`, `msg="hello from GB"`} {
		if !d.waitLog(want) {
			t.Errorf("log lacks %q:\n%s", want, d.Logs)
		}
	}
}

// Assets change while cairn dev runs: the next request sees them, without
// restarting the Worker.
func TestStaticAssetsReload(t *testing.T) {
	dir := copyDir(t, "../examples/spa")
	d := startDev(t, dir, t.TempDir())
	if status, _ := d.Get("/new.txt"); status != 200 { // the SPA fallback, for now
		t.Fatalf("GET /new.txt = %d", status)
	}
	if err := os.WriteFile(filepath.Join(dir, "public/new.txt"), []byte("fresh"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := d.Get("/new.txt")
		if status == 200 && body == "fresh" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /new.txt = %d %q after writing it, want fresh\n%s", status, body, d.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(d.Logs.String(), "msg=reloaded ") {
		t.Errorf("an asset change reloaded the Worker:\n%s", d.Logs)
	}
}

// A project whose Worker runs first for everything and uses env.ASSETS;
// --log-format json; a build command that makes the asset directory.
func TestAssetsBindingWorkerFirstJSONLog(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "assets": {"directory": "dist", "binding": "STATIC", "run_worker_first": true, "not_found_handling": "404-page"},
  "build": {"command": "mkdir -p dist && printf built > dist/index.html && printf missing > dist/404.html"},
  "observability": {"enabled": true},
}`,
		"src/index.js": `export default { async fetch(req, env) {
  const r = await env.STATIC.fetch(req);
  return new Response("worker saw " + r.status + ": " + await r.text(), { status: r.status, headers: { "X-Country": req.cf.country, "X-Colo": req.cf.colo } });
} }`,
		"cf.json": `{"country": "NZ", "city": "Wellington"}`,
	})
	d := startDev(t, dir, t.TempDir(), "--log-format", "json", "--cf", filepath.Join(dir, "cf.json"))
	if resp, _ := getRaw(t, d, "/"); resp.Header.Get("X-Country") != "NZ" || resp.Header.Get("X-Colo") != "LHR" {
		t.Errorf("request.cf with --cf: country %q colo %q, want NZ (from the file) and LHR (default)", resp.Header.Get("X-Country"), resp.Header.Get("X-Colo"))
	}
	d.expect("GET", "/", 200, "worker saw 200: built")
	d.expect("GET", "/nope", 404, "worker saw 404: missing")
	if !d.waitLog(`"msg":"GET /nope 404 Not Found (`) {
		t.Errorf("no JSON request log line:\n%s", d.Logs)
	}
	var found bool
	for _, line := range strings.Split(d.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["path"] == "/nope" && rec["status"] == float64(404) && rec["method"] == "GET" && rec["request"] != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log record with method, path, status and request id:\n%s", d.Logs)
	}
	if !strings.Contains(d.Logs.String(), `\"observability\" is a deployment setting; ignored`) {
		t.Errorf("no warning for the observability key:\n%s", d.Logs)
	}
}

// A project of static assets only (no "main"), as wrangler allows:
// everything is the assets', including not_found_handling.
func TestAssetsOnlyProject(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc":       `{"name": "site", "compatibility_date": "2025-09-01", "assets": {"directory": "site", "not_found_handling": "404-page"}}`,
		"site/index.html":      "home",
		"site/docs/index.html": "docs",
		"site/404.html":        "not here",
	})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/", 200, "home")
	d.expect("GET", "/docs/", 200, "docs")
	d.expect("GET", "/missing", 404, "not here")
	d.expect("POST", "/", 405, "")
}

// build.command runs before the first bundle and again when a file under
// build.watch_dir changes.
func TestBuildCommandWatch(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "build": {"command": "mkdir -p gen && printf 'export default \"%s\";' \"$(cat name.txt)\" > gen/name.js", "cwd": "tmpl", "watch_dir": "tmpl"},
}`,
		"tmpl/name.txt": "one",
		"src/index.js":  `import name from "../tmpl/gen/name.js"; export default { fetch() { return new Response(name) } }`,
	})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/", 200, "one")
	if err := os.WriteFile(filepath.Join(dir, "tmpl/name.txt"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, body := d.Get("/"); body == "two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET / still not \"two\" after changing the build input\n%s", d.Logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The build's own writes (gen/ is under watch_dir) do not start
	// another build: the start, then one for the change.
	time.Sleep(time.Second)
	if n := strings.Count(d.Logs.String(), "Running custom build"); n != 2 {
		t.Errorf("%d builds, want 2:\n%s", n, d.Logs)
	}
}
