package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// deployConfig is the wrangler config of the deploy tests' Worker: a
// Durable Object counter, its class and migrations given.
func deployConfig(class, migrations string) string {
	return `{
  "name": "deployme",
  "main": "src/index.js",
  "compatibility_date": "2026-01-01",
  "durable_objects": { "bindings": [{ "name": "COUNTER", "class_name": "` + class + `" }] },
  "migrations": ` + migrations + `
}`
}

// deployScript is its code: "/" answers the version label, "/count" adds
// one to the counter object "a" and answers "label:n".
func deployScript(label, class string) string {
	return `import { DurableObject } from "cloudflare:workers";
export class ` + class + ` extends DurableObject {
  add() {
    const n = (this.ctx.storage.kv.get("n") ?? 0) + 1;
    this.ctx.storage.kv.put("n", n);
    return n;
  }
}
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/count") {
      return new Response("` + label + `:" + await env.COUNTER.getByName("a").add());
    }
    if (path === "/slow") {
      await new Promise(r => setTimeout(r, 1000));
      return new Response("` + label + `:slow");
    }
    if (path === "/stream") {
      const { readable, writable } = new TransformStream();
      const w = writable.getWriter();
      (async () => {
        for (let i = 0; i < 5; i++) {
          await w.write(new TextEncoder().encode("` + label + `;"));
          await new Promise(r => setTimeout(r, 300));
        }
        await w.close();
      })();
      return new Response(readable);
    }
    return new Response("` + label + `");
  }
};
`
}

const v1Migrations = `[{ "tag": "v1", "new_sqlite_classes": ["Counter"] }]`

func deployProject(t *testing.T, label, class, migrations string) string {
	return writeProject(t, map[string]string{
		"wrangler.jsonc": deployConfig(class, migrations),
		"src/index.js":   deployScript(label, class),
	})
}

// deployTarget is a cairn dev serving the project with its admin API on,
// not watching files (so only deploys change the code).
type deployTarget struct {
	*devServer
	api   string
	state string
}

func startDeployTarget(t *testing.T, project string) *deployTarget {
	t.Helper()
	apiPort := freePort(t)
	state := t.TempDir()
	d := startDev(t, project, state, "--no-watch", "--api-port", fmt.Sprint(apiPort), "--api-token", "tok", "--no-request-log")
	return &deployTarget{devServer: d, api: fmt.Sprintf("http://127.0.0.1:%d", apiPort), state: state}
}

var versionIDLine = regexp.MustCompile(`Current Version ID: ([0-9a-f-]{36})`)

// deploy runs cairn deploy and returns the new version's id.
func (d *deployTarget) deploy(project, message string) string {
	d.t.Helper()
	out, err := runCairn(d.t, 2*time.Minute, "deploy", project, "--to", d.api, "--token", "tok", "--message", message)
	if err != nil {
		d.t.Fatalf("cairn deploy: %v\n%s\nserver log:\n%s", err, out, d.Logs)
	}
	m := versionIDLine.FindStringSubmatch(out)
	if m == nil {
		d.t.Fatalf("cairn deploy printed no version id:\n%s", out)
	}
	return m[1]
}

type listedVersion struct {
	ID      string `json:"id"`
	Number  int    `json:"number"`
	Message string `json:"message"`
	Source  string `json:"source"`
	Active  bool   `json:"active"`
}

func (d *deployTarget) versions() []listedVersion {
	d.t.Helper()
	out, err := runCairn(d.t, time.Minute, "versions", "list", "--json", "--remote", d.api, "--token", "tok", "--name", "deployme")
	if err != nil {
		d.t.Fatalf("cairn versions list: %v\n%s", err, out)
	}
	var vs []listedVersion
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		d.t.Fatalf("versions list --json: %v\n%s", err, out)
	}
	return vs
}

func (d *deployTarget) catalog() []byte {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.state, "deployme", "catalog.json"))
	if err != nil {
		d.t.Fatal(err)
	}
	return b
}

// cairn deploy, versions list and rollback against cairn dev --api-port:
// a deploy serves the new code at once, Durable Objects keep their state,
// migrations apply with the deploy, rollback redeploys the previous version.
func TestDeployVersionsRollback(t *testing.T) {
	d := startDeployTarget(t, deployProject(t, "files", "Counter", v1Migrations))
	d.expect("GET", "/count", 200, "files:1")

	v1 := d.deploy(deployProject(t, "v1", "Counter", v1Migrations), "first")
	d.expect("GET", "/", 200, "v1")
	d.expect("GET", "/count", 200, "v1:2")
	v2 := d.deploy(deployProject(t, "v2", "Counter", v1Migrations), "second")
	d.expect("GET", "/", 200, "v2")
	d.expect("GET", "/count", 200, "v2:3") // the object moved to the new code with its state

	vs := d.versions()
	if len(vs) != 2 || vs[0].ID != v2 || !vs[0].Active || vs[1].ID != v1 || vs[1].Active ||
		vs[0].Number != 2 || vs[0].Message != "second" || vs[0].Source != "cairn deploy" {
		t.Fatalf("versions list = %+v; want v2 (%s, deployed) then v1 (%s)", vs, v2, v1)
	}

	// Rollback with no argument: the version deployed before the current one.
	out, err := runCairn(t, time.Minute, "rollback", "--remote", d.api, "--token", "tok", "--name", "deployme", "-m", "undo")
	if err != nil || !strings.Contains(out, v1) {
		t.Fatalf("cairn rollback: %v\n%s", err, out)
	}
	d.expect("GET", "/", 200, "v1")
	d.expect("GET", "/count", 200, "v1:4")
	if vs := d.versions(); !vs[1].Active || vs[0].Active {
		t.Fatalf("after rollback, versions list = %+v; want v1 deployed", vs)
	}
	// ... and to a version by id.
	if out, err := runCairn(t, time.Minute, "rollback", v2, "--remote", d.api, "--token", "tok", "--name", "deployme"); err != nil {
		t.Fatalf("cairn rollback %s: %v\n%s", v2, err, out)
	}
	d.expect("GET", "/", 200, "v2")

	// A rename migration applies with the deploy: the renamed class keeps
	// its objects' data.
	renamed := `[{ "tag": "v1", "new_sqlite_classes": ["Counter"] }, { "tag": "v2", "renamed_classes": [{ "from": "Counter", "to": "Tally" }] }]`
	d.deploy(deployProject(t, "v3", "Tally", renamed), "rename")
	d.expect("GET", "/count", 200, "v3:5")
	if !bytes.Contains(d.catalog(), []byte(`"Tally"`)) || bytes.Contains(d.catalog(), []byte(`"Counter"`)) {
		t.Fatalf("catalog after the rename:\n%s", d.catalog())
	}
	// Rolling back over a migration is refused: it cannot be undone.
	out, err = runCairn(t, time.Minute, "rollback", "--remote", d.api, "--token", "tok", "--name", "deployme")
	if err == nil || !strings.Contains(out, `predates the Durable Object migration "v2"`) {
		t.Fatalf("rollback over a migration: %v\n%s", err, out)
	}
	d.expect("GET", "/count", 200, "v3:6")
}

// A deploy that fails changes nothing: the previous version keeps serving,
// no version is added, the catalog is as it was, and the error says why.
func TestDeployFailureChangesNothing(t *testing.T) {
	d := startDeployTarget(t, deployProject(t, "files", "Counter", v1Migrations))
	d.deploy(deployProject(t, "v1", "Counter", v1Migrations), "good")
	d.expect("GET", "/count", 200, "v1:1")
	catalog := d.catalog()

	tests := []struct {
		name  string
		files map[string]string
		want  string // in cairn deploy's error
	}{{
		// esbuild finds it while bundling, before anything is uploaded.
		name: "syntax error",
		files: map[string]string{
			"wrangler.jsonc": deployConfig("Counter", v1Migrations),
			"src/index.js":   deployScript("bad", "Counter") + "const x = ;\n",
		},
		want: fmt.Sprintf("src/index.js:%d:10: Unexpected", strings.Count(deployScript("bad", "Counter"), "\n")+1),
	}, {
		name: "bound class not exported",
		files: map[string]string{
			"wrangler.jsonc": deployConfig("Counter", v1Migrations),
			"src/index.js":   strings.Replace(deployScript("bad", "Counter"), "export class", "class", 1),
		},
		want: `class "Counter" is not exported`,
	}, {
		name: "throws at load",
		files: map[string]string{
			"wrangler.jsonc": deployConfig("Counter", v1Migrations),
			"src/index.js":   strings.Replace(deployScript("bad", "Counter"), "export default", "throw new Error(\"boom at load\");\nexport default", 1),
		},
		want: "boom at load\n\tat src/index.js:9:",
	}, {
		// Valid on its own, but the class exists (a different history).
		name: "failing migration",
		files: map[string]string{
			"wrangler.jsonc": deployConfig("Counter", `[{ "tag": "other", "new_sqlite_classes": ["Counter"] }]`),
			"src/index.js":   deployScript("bad", "Counter"),
		},
		want: `migration "other": cannot create class "Counter": it already exists`,
	}, {
		// The first migration would apply, the second fails: neither is kept.
		name: "second migration fails",
		files: map[string]string{
			"wrangler.jsonc": deployConfig("Counter", `[{ "tag": "w1", "new_sqlite_classes": ["Extra"] }, { "tag": "w2", "new_sqlite_classes": ["Counter"] }]`),
			"src/index.js":   deployScript("bad", "Counter"),
		},
		want: `migration "w2": cannot create class "Counter"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCairn(t, 2*time.Minute, "deploy", writeProject(t, tt.files), "--to", d.api, "--token", "tok")
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("cairn deploy: err %v, output:\n%s\nwant an error containing %q", err, out, tt.want)
			}
			d.expect("GET", "/", 200, "v1")
			if vs := d.versions(); len(vs) != 1 || !vs[0].Active {
				t.Fatalf("versions after a failed deploy: %+v", vs)
			}
			if got := d.catalog(); !bytes.Equal(got, catalog) {
				t.Fatalf("catalog changed by a failed deploy:\n%s\nwas:\n%s", got, catalog)
			}
		})
	}
	d.expect("GET", "/count", 200, "v1:2")
}

// The admin API's deploy routes refuse bad requests in Cloudflare's
// envelope: a wrong token (401), an unknown version or Worker (404), an
// upload too large (413), a traffic split (400), an upload without
// cairn's config or with a script that does not compile (400, nothing
// stored).
func TestDeployAPIErrors(t *testing.T) {
	d := startDeployTarget(t, deployProject(t, "files", "Counter", v1Migrations))
	v1 := d.deploy(deployProject(t, "v1", "Counter", v1Migrations), "good")
	base := d.api + "/client/v4/accounts/x/workers/scripts/deployme"
	call := func(method, url, token, contentType string, body io.Reader) (int, []apiErr) {
		t.Helper()
		req, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Success bool     `json:"success"`
			Errors  []apiErr `json:"errors"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: %d, not an envelope: %v", method, url, resp.StatusCode, err)
		}
		if env.Success != (resp.StatusCode == 200) {
			t.Fatalf("%s %s: status %d with success %v", method, url, resp.StatusCode, env.Success)
		}
		return resp.StatusCode, env.Errors
	}
	expect := func(what string, status int, errs []apiErr, wantStatus int, want string) {
		t.Helper()
		if status != wantStatus || len(errs) == 0 || !strings.Contains(errs[0].Message, want) {
			t.Errorf("%s: %d %+v, want %d with %q", what, status, errs, wantStatus, want)
		}
	}

	st, errs := call("GET", base+"/versions", "wrong", "", nil)
	expect("wrong token", st, errs, 401, "Authentication error")
	if len(errs) == 1 && errs[0].Code != 10000 {
		t.Errorf("wrong token: code %d, want 10000", errs[0].Code)
	}
	out, err := runCairn(t, time.Minute, "versions", "list", "--remote", d.api, "--token", "wrong", "--name", "deployme")
	if err == nil || !strings.Contains(out, "401") {
		t.Errorf("versions list with a wrong token: %v\n%s", err, out)
	}
	st, errs = call("GET", base+"/versions/00000000-0000-4000-8000-000000000000", "tok", "", nil)
	expect("unknown version", st, errs, 404, "not found")
	out, err = runCairn(t, time.Minute, "rollback", "00000000-0000-4000-8000-000000000000", "--remote", d.api, "--token", "tok", "--name", "deployme")
	if err == nil || !strings.Contains(out, "(404)") {
		t.Errorf("rollback to an unknown version: %v\n%s", err, out)
	}
	st, errs = call("GET", d.api+"/client/v4/accounts/x/workers/scripts/other/versions", "tok", "", nil)
	expect("unknown Worker", st, errs, 404, "does not exist")
	split := `{"strategy":"percentage","versions":[{"version_id":"` + v1 + `","percentage":50},{"version_id":"` + v1 + `","percentage":50}]}`
	st, errs = call("POST", base+"/deployments", "tok", "application/json", strings.NewReader(split))
	expect("traffic split", st, errs, 400, "one version at 100%")

	// 413 before the body is read: the client declares 100 MB and sends none.
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.api, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /client/v4/accounts/x/workers/scripts/deployme HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, _ := io.ReadAll(io.LimitReader(conn, 12))
	conn.Close()
	if string(line) != "HTTP/1.1 413" {
		t.Errorf("oversized upload: status line %q, want HTTP/1.1 413", line)
	}

	form := func(meta string, script string) (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormField("metadata")
		io.WriteString(w, meta)
		w, _ = mw.CreateFormFile("worker.js", "worker.js")
		io.WriteString(w, script)
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	body, ct := form(`{"main_module":"worker.js"}`, "export default {}")
	st, errs = call("POST", base+"/versions", "tok", ct, body)
	expect("upload without cairn's config", st, errs, 400, "no cairn config")
	cfg := `{"Name":"deployme","CompatibilityDate":"2026-01-01"}`
	body, ct = form(`{"main_module":"worker.js","cairn":{"config":`+cfg+`}}`, "module.exports = { fetch() { return new Response('x') } ;\n")
	st, errs = call("POST", base+"/versions", "tok", ct, body)
	expect("script that does not compile", st, errs, 400, "worker.js: Line 1:")
	body, ct = form(`{"main_module":"worker.js","cairn":{"config":{"Name":"../etc"}}}`, "module.exports = {}")
	st, errs = call("POST", base+"/versions", "tok", ct, body)
	expect("config naming a path", st, errs, 400, `"../etc" may not name`)
	// Static assets whose paths leave the directory are refused.
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "../../escape.txt", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	zw.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("metadata")
	io.WriteString(w, `{"main_module":"worker.js","cairn":{"config":{"Name":"deployme","Assets":{"Directory":"public"}}}}`)
	w, _ = mw.CreateFormFile("worker.js", "worker.js")
	io.WriteString(w, "")
	w, _ = mw.CreateFormFile("cairn-assets", "assets.tar.gz")
	w.Write(tgz.Bytes())
	mw.Close()
	st, errs = call("POST", base+"/versions", "tok", mw.FormDataContentType(), &buf)
	expect("assets escaping their directory", st, errs, 400, `"../../escape.txt" is not a path inside`)
	if vs := d.versions(); len(vs) != 1 {
		t.Fatalf("refused uploads were stored: %+v", vs)
	}
	d.expect("GET", "/", 200, "v1")
}

type apiErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// A deploy under load: 16 connections keep requesting (a stateless route
// and a Durable Object counter) while versions are deployed; no request
// fails, every answer comes from one version or the next, and the counter
// counts every successful request exactly once (no object ran twice or
// lost a write in the handoff). It reports p99 latency overall and around
// each switch.
func TestDeployUnderLoad(t *testing.T) {
	const conns, deploys = 16, 4
	d := startDeployTarget(t, deployProject(t, "v0", "Counter", v1Migrations))
	projects := make([]string, deploys)
	for i := range projects {
		projects[i] = deployProject(t, fmt.Sprintf("v%d", i+1), "Counter", v1Migrations)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	type sample struct {
		at, took time.Duration
		ok       bool
	}
	var (
		mu       sync.Mutex
		samples  []sample
		failures []string
		counts   []int
	)
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/"
				if (c+i)%4 == 0 {
					path = "/count"
				}
				t0 := time.Now()
				resp, err := client.Get(d.URL + path)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				took := time.Since(t0)
				ok := err == nil && resp.StatusCode == 200 && regexp.MustCompile(`^v\d(:\d+)?$`).Match(body)
				mu.Lock()
				samples = append(samples, sample{t0.Sub(start), took, ok})
				if !ok {
					status := 0
					if resp != nil {
						status = resp.StatusCode
					}
					failures = append(failures, fmt.Sprintf("%s: %d %q %v", path, status, body, err))
				} else if path == "/count" {
					var n int
					fmt.Sscanf(string(body[strings.IndexByte(string(body), ':')+1:]), "%d", &n)
					counts = append(counts, n)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	type window struct{ from, to time.Duration }
	var switches []window
	for _, p := range projects {
		from := time.Since(start)
		d.deploy(p, "under load")
		switches = append(switches, window{from, time.Since(start) + 100*time.Millisecond})
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed during the deploys; first: %v", len(failures), len(samples), failures[:min(5, len(failures))])
	}
	d.expect("GET", "/", 200, fmt.Sprintf("v%d", deploys))
	// Every counted request added one: the answers are 1..n, each once.
	slices.Sort(counts)
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("counter answers are not 1..%d: at %d got %d (a write lost or an object run twice)", len(counts), i, n)
		}
	}
	var all, during, outside []time.Duration
	for _, s := range samples {
		all = append(all, s.took)
		in := false
		for _, w := range switches {
			if s.at+s.took >= w.from && s.at <= w.to {
				in = true
				break
			}
		}
		if in {
			during = append(during, s.took)
		} else {
			outside = append(outside, s.took)
		}
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[min(len(ds)-1, int(float64(len(ds))*q))]
	}
	t.Logf("deploy under load: %d requests over %d connections, %d failed, %d deploys; p50 %v p99 %v overall; "+
		"%d requests during the switches: p50 %v p99 %v max %v; %d outside them: p50 %v p99 %v (noisy shared machine)",
		len(samples), conns, len(failures), deploys, p(all, 0.5), p(all, 0.99),
		len(during), p(during, 0.5), p(during, 0.99), p(during, 1), len(outside), p(outside, 0.5), p(outside, 0.99))
}

// Requests in flight when a version is deployed finish on it: a slow
// response and a streaming one started before the deploy complete with the
// previous version's answer, while new requests get the new version.
func TestDeployInFlight(t *testing.T) {
	d := startDeployTarget(t, deployProject(t, "v1", "Counter", v1Migrations))
	get := func(path string, into *string, errp *error) func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := testClient.Get(d.URL + path)
			if err != nil {
				*errp = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			*into, *errp = string(b), err
			if err == nil && resp.StatusCode != 200 {
				*errp = fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
		return func() { <-done }
	}
	var slow, stream string
	var slowErr, streamErr error
	waitSlow := get("/slow", &slow, &slowErr)
	waitStream := get("/stream", &stream, &streamErr)
	time.Sleep(300 * time.Millisecond)
	d.deploy(deployProject(t, "v2", "Counter", v1Migrations), "while busy")
	d.expect("GET", "/", 200, "v2")
	waitSlow()
	waitStream()
	if slowErr != nil || slow != "v1:slow" {
		t.Errorf("slow request in flight during the deploy: %q, %v; want v1:slow", slow, slowErr)
	}
	if streamErr != nil || stream != "v1;v1;v1;v1;v1;" {
		t.Errorf("streaming response in flight during the deploy: %q, %v; want five v1 chunks", stream, streamErr)
	}
	d.expect("GET", "/stream", 200, "v2;v2;v2;v2;v2;")
}

// A deploy carries the project's static assets (with _headers and
// .assetsignore applied on the server), and a version of a static site
// without a Worker deploys too.
func TestDeployStaticAssets(t *testing.T) {
	site := func(label string, withWorker bool) string {
		files := map[string]string{
			"public/index.html":    "<h1>" + label + "</h1>",
			"public/css/site.css":  "h1 { color: " + label + " }",
			"public/_headers":      "/*\n  X-Version: " + label + "\n",
			"public/.assetsignore": "secret.txt\n",
			"public/secret.txt":    "not served",
		}
		if withWorker {
			files["wrangler.jsonc"] = `{"name": "deployme", "main": "src/index.js", "compatibility_date": "2026-01-01", "assets": {"directory": "public"}}`
			files["src/index.js"] = `export default { fetch() { return new Response("worker ` + label + `") } };`
		} else {
			files["wrangler.jsonc"] = `{"name": "deployme", "compatibility_date": "2026-01-01", "assets": {"directory": "public"}}`
		}
		return writeProject(t, files)
	}
	d := startDeployTarget(t, site("files", true))
	d.deploy(site("red", true), "assets")
	check := func(path string, wantStatus int, want, wantHeader string) {
		t.Helper()
		resp, err := testClient.Get(d.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || string(b) != want || (wantHeader != "" && resp.Header.Get("X-Version") != wantHeader) {
			t.Errorf("GET %s = %d %q (X-Version %q), want %d %q (%q)\n%s", path, resp.StatusCode, b, resp.Header.Get("X-Version"), wantStatus, want, wantHeader, d.Logs)
		}
	}
	check("/", 200, "<h1>red</h1>", "red")
	check("/css/site.css", 200, "h1 { color: red }", "red")
	check("/secret.txt", 200, "worker red", "") // ignored: the Worker answers
	check("/api", 200, "worker red", "")

	d.deploy(site("blue", false), "static only")
	check("/", 200, "<h1>blue</h1>", "blue")
	check("/css/site.css", 200, "h1 { color: blue }", "blue")
	check("/nope", 404, "", "")
}

// cairn deploy against cairn serve: the admin address routes the Worker's
// script routes to it, the new version serves at once, versions list
// shows both, and a restart of cairn serve serves the version deployed
// last, not the project on disk.
func TestServeDeploy(t *testing.T) {
	project := deployProject(t, "v1", "Counter", v1Migrations)
	dir := t.TempDir()
	file := filepath.Join(dir, "cairn.toml")
	toml := fmt.Sprintf("data_dir = %q\n[admin]\ntoken = \"tok\"\n\n[[workers]]\nconfig = %q\n", filepath.Join(dir, "data"), project)
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	adminPort := freePort(t)
	admin := fmt.Sprintf("CAIRN_ADMIN=127.0.0.1:%d", adminPort)
	d := startServe(t, file, admin)
	d.expect("GET", "/count", 200, "v1:1")
	target := &deployTarget{devServer: d, api: fmt.Sprintf("http://127.0.0.1:%d", adminPort)}
	v2 := target.deploy(deployProject(t, "v2", "Counter", v1Migrations), "second")
	d.expect("GET", "/count", 200, "v2:2")
	vs := target.versions()
	if len(vs) != 1 || vs[0].ID != v2 || !vs[0].Active {
		t.Errorf("versions after deploying to serve = %+v, want the deployed v2 active", vs)
	}
	d.Stop()
	d = startServe(t, file, admin)
	d.expect("GET", "/count", 200, "v2:3")
}
