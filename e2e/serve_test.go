package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Two Workers for cairn serve. alpha has a Durable Object counter, a slow
// endpoint, a WebSocket echo and a service binding to beta; beta answers
// with its name and path. alpha's routes are in cairn.toml; beta's in its
// own wrangler config.
const (
	serveAlphaConfig = `{
  "name": "alpha",
  "main": "index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}],
  "services": [{"binding": "BETA", "service": "beta"}],
  "vars": {"GREETING": "from wrangler", "OTHER": "kept"},
  "d1_databases": [{"binding": "DB", "database_name": "shared", "database_id": "shared-db"}],
  "kv_namespaces": [{"binding": "KV", "id": "shared-kv"}],
}`
	serveAlphaWorker = `import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  value() {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS c(v INTEGER)");
    return this.ctx.storage.sql.exec("SELECT count(*) AS n FROM c").one().n;
  }
  async fetch(req) {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS c(v INTEGER)");
    if (req.method === "POST") {
      const v = sql.exec("SELECT count(*) AS n FROM c").one().n + 1;
      sql.exec("INSERT INTO c VALUES (?)", v);
      return new Response(String(v));
    }
    return new Response(String(sql.exec("SELECT count(*) AS n FROM c").one().n));
  }
}
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const name = url.searchParams.get("name") ?? "x";
    switch (url.pathname) {
      case "/whoami": return new Response("alpha");
      case "/vars": return new Response(env.GREETING + ", " + env.OTHER);
      case "/share":
        await env.KV.put("k", "from alpha");
        await env.DB.exec("CREATE TABLE IF NOT EXISTS t(v TEXT)");
        await env.DB.prepare("INSERT INTO t VALUES (?)").bind("from alpha").run();
        return new Response("shared");
      case "/count": return env.COUNTER.getByName(name).fetch(req);
      case "/slow":
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms"))));
        return new Response("slow done");
      case "/call-beta": {
        const res = await env.BETA.fetch("http://beta.internal/from-alpha");
        return new Response("beta said: " + (await res.text()));
      }
      case "/ws": {
        const pair = new WebSocketPair();
        pair[1].accept();
        pair[1].addEventListener("message", (e) => pair[1].send("echo:" + e.data));
        return new Response(null, { status: 101, webSocket: pair[0] });
      }
    }
    return new Response("alpha: no " + url.pathname, { status: 404 });
  },
};`
	serveBetaConfig = `{
  "name": "beta",
  "main": "index.js",
  "compatibility_date": "2025-09-01",
  "d1_databases": [{"binding": "DB", "database_name": "shared", "database_id": "shared-db"}],
  "kv_namespaces": [{"binding": "KV", "id": "shared-kv"}],
  "durable_objects": {"bindings": [{"name": "ALPHA_COUNTER", "class_name": "Counter", "script_name": "alpha"}]},
  "routes": [
    "beta.test/*",
    {"pattern": "*.beta.test/*", "zone_name": "beta.test"},
    "alpha.test/beta/*",
  ],
}`
	serveBetaWorker = `export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/remote-inc") {
      const res = await env.ALPHA_COUNTER.getByName("shared").fetch("http://do/count", { method: "POST" });
      return new Response("inc " + (await res.text()));
    }
    if (path === "/remote-rpc") return new Response("rpc " + (await env.ALPHA_COUNTER.getByName("shared").value()));
    if (path === "/kv") return new Response(await env.KV.get("k") ?? "none");
    if (path === "/d1") return new Response(String(await env.DB.prepare("SELECT v FROM t").first("v")));
    return new Response("beta " + path);
  },
};`
)

// serveProject writes the two Workers and a cairn.toml (with the given
// settings lines before the Workers) and returns the cairn.toml's path and
// the data dir.
func serveProject(t *testing.T, settings string) (file, data string) {
	t.Helper()
	dir := writeProject(t, map[string]string{
		"alpha/wrangler.jsonc": serveAlphaConfig,
		"alpha/index.js":       serveAlphaWorker,
		"beta/wrangler.jsonc":  serveBetaConfig,
		"beta/index.js":        serveBetaWorker,
	})
	data = filepath.Join(dir, "data")
	toml := fmt.Sprintf(`data_dir = "data"
%s
[[workers]]
config = "alpha"
routes = ["alpha.test/*", "127.0.0.1/*"]
vars = { GREETING = "from cairn.toml" }

[[workers]]
config = "beta/wrangler.jsonc"
`, settings)
	file = filepath.Join(dir, "cairn.toml")
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, data
}

// startServe runs cairn serve -c file with env added, and waits for its
// Ready line. The HTTP port is given by CAIRN_HTTP (so the environment
// overriding the file is exercised by every test).
func startServe(t *testing.T, file string, env ...string) *devServer {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(cairnBin, "serve", "-c", file)
	cmd.Env = append(os.Environ(), append([]string{fmt.Sprintf("CAIRN_HTTP=127.0.0.1:%d", port)}, env...)...)
	return startCommand(t, port, cmd)
}

// hostGet GETs path on d with the Host header host.
func hostGet(t *testing.T, d *devServer, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", d.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v\n%s", host, path, err, d.Logs)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two Workers on two hostnames and a path, each with its own state
// directory; routes from cairn.toml and from a wrangler config; the most
// specific route wins; no route → 404; a service binding reaches the other
// Worker; the admin API serves both.
func TestServeRoutesTwoWorkers(t *testing.T) {
	file, data := serveProject(t, "[admin]\nlisten = \"127.0.0.1:0\"\n")
	adminPort := freePort(t)
	d := startServe(t, file, fmt.Sprintf("CAIRN_ADMIN=127.0.0.1:%d", adminPort))
	for _, tt := range []struct {
		host, path string
		status     int
		body       string
	}{
		{"alpha.test", "/whoami", 200, "alpha"},
		{"ALPHA.test:80", "/whoami", 200, "alpha"},
		{"beta.test", "/x", 200, "beta /x"},
		{"eu.beta.test", "/y/z", 200, "beta /y/z"},
		{"alpha.test", "/beta/q", 200, "beta /beta/q"}, // alpha.test/beta/* is more specific than alpha.test/*
		{"alpha.test", "/betamax", 404, "alpha: no /betamax"},
		{"alpha.test", "/call-beta", 200, "beta said: beta /from-alpha"}, // service binding
		{"alpha.test", "/count?name=a", 200, "0"},
		{"alpha.test", "/vars", 200, "from cairn.toml, kept"}, // cairn.toml's vars over the config's
	} {
		if status, body := hostGet(t, d, tt.host, tt.path); status != tt.status || body != tt.body {
			t.Errorf("GET %s%s = %d %q, want %d %q", tt.host, tt.path, status, body, tt.status, tt.body)
		}
	}
	if strings.Contains(d.Logs.String(), "routes") && strings.Contains(d.Logs.String(), "not cairn dev") {
		t.Errorf("cairn serve warns that beta's routes are ignored:\n%s", d.Logs)
	}
	status, body := hostGet(t, d, "gamma.test", "/a")
	if status != 404 || !strings.Contains(body, "No Worker route matches gamma.test/a") {
		t.Errorf("unrouted host = %d %q", status, body)
	}
	if status, body := d.Do("POST", "/count?name=a", ""); status != 200 || body != "1" {
		t.Errorf("POST /count = %d %q", status, body)
	}
	// beta reaches alpha's Durable Objects through script_name, by fetch
	// and by RPC; alpha sees the same object.
	for _, want := range []string{"inc 1", "inc 2"} {
		if status, body := hostGet(t, d, "beta.test", "/remote-inc"); status != 200 || body != want {
			t.Errorf("beta /remote-inc = %d %q, want %q\n%s", status, body, want, d.Logs)
		}
	}
	if status, body := hostGet(t, d, "beta.test", "/remote-rpc"); status != 200 || body != "rpc 2" {
		t.Errorf("beta /remote-rpc = %d %q", status, body)
	}
	if status, body := hostGet(t, d, "alpha.test", "/count?name=shared"); status != 200 || body != "2" {
		t.Errorf("alpha's own view of the object = %d %q", status, body)
	}
	// D1 and KV belong to the account: what alpha writes, beta (binding
	// the same ids) reads.
	if status, body := hostGet(t, d, "beta.test", "/kv"); status != 200 || body != "none" {
		t.Errorf("beta /kv before = %d %q", status, body)
	}
	if status, body := hostGet(t, d, "alpha.test", "/share"); status != 200 || body != "shared" {
		t.Fatalf("alpha /share = %d %q\n%s", status, body, d.Logs)
	}
	for path, want := range map[string]string{"/kv": "from alpha", "/d1": "from alpha"} {
		if status, body := hostGet(t, d, "beta.test", path); status != 200 || body != want {
			t.Errorf("beta %s = %d %q, want %q", path, status, body, want)
		}
	}
	// Each Worker's state lives in its own directory under data_dir.
	for _, p := range []string{"cairn.lock", "alpha/cairn.lock", "alpha/catalog.json", "beta/cairn.lock",
		".account/d1/shared-db.sqlite", ".account/kv/shared-kv.sqlite"} {
		if _, err := os.Stat(filepath.Join(data, p)); err != nil {
			t.Errorf("state: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "beta", "Counter")); err == nil {
		t.Errorf("beta's state holds alpha's objects")
	}

	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/cairn/healthz", 200, `"status":"ok"`},
		// alpha hosts both objects, "a" and the one beta reached by script_name.
		{"/client/v4/cairn/workers", 200, `{"name":"alpha","routes":["alpha.test/*","127.0.0.1/*"],"loaded":true,"liveObjects":2},{"name":"beta","routes":["alpha.test/beta/*","beta.test/*","*.beta.test/*"]`},
		{"/workers/alpha/client/v4/cairn/status", 200, `"name":"alpha"`},
		{"/workers/beta/client/v4/cairn/status", 200, `"name":"beta"`},
		{"/workers/nope/client/v4/cairn/status", 404, `no Worker named \"nope\"`},
		{"/client/v4/cairn/objects/COUNTER", 200, `"name":"a"`},
	} {
		resp, err := testClient.Get(admin + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
			t.Errorf("admin GET %s = %d %s, want %d with %s", tt.path, resp.StatusCode, b, tt.status, tt.want)
		}
	}
}

// A second cairn serve on the same data dir refuses to start, naming the
// lock and the process holding it.
func TestServeDataDirLocked(t *testing.T) {
	file, _ := serveProject(t, "")
	d := startServe(t, file)
	cmd := exec.Command(cairnBin, "serve", "-c", file, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second serve: err %v, want exit status 1\n%s", err, out)
	}
	want := fmt.Sprintf("state directory is in use by another cairn process (pid %d)", d.cmd.Process.Pid)
	if !strings.Contains(string(out), want) {
		t.Errorf("second serve said:\n%s\nwant %q", out, want)
	}
	if status, body := d.Get("/whoami"); status != 200 || body != "alpha" {
		t.Errorf("first serve after the second failed: %d %q", status, body)
	}
}

// SIGTERM under load: requests in flight finish, a WebSocket is closed with
// 1012, the process exits 0, and every acknowledged Durable Object write
// is there after a restart.
func TestServeGracefulShutdown(t *testing.T) {
	file, _ := serveProject(t, "shutdown_timeout = \"20s\"\n")
	d := startServe(t, file)

	ws := dial(t, d, "/ws")
	if got := roundTrip(t, ws, "hi"); got != "echo:hi" {
		t.Fatalf("ws echo = %q", got)
	}
	wsClosed := make(chan websocket.StatusCode, 1)
	go func() {
		code, _ := closeCode(t, ws)
		wsClosed <- code
	}()

	// Writers: each increments its own object until the server stops
	// answering, remembering the last value acknowledged.
	const writers = 8
	acked := make([]int, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := testClient.Post(fmt.Sprintf("%s/count?name=w%d", d.URL, i), "text/plain", nil)
				if err != nil {
					return // the server closed
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return
				}
				n, err := strconv.Atoi(string(b))
				if err != nil || n != acked[i]+1 {
					t.Errorf("writer %d: got %q after %d", i, b, acked[i])
					return
				}
				acked[i] = n
			}
		}()
	}
	// A slow request in flight when SIGTERM comes must finish.
	slow := make(chan string, 1)
	go func() {
		resp, err := testClient.Get(d.URL + "/slow?ms=1500")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(700 * time.Millisecond) // load running, the slow request in flight
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, d.Logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("cairn serve did not exit within 20s of SIGTERM\n%s", d.Logs)
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if got := <-slow; got != "200 slow done" {
		t.Errorf("in-flight request across SIGTERM = %q, want 200 slow done", got)
	}
	if took < 500*time.Millisecond {
		t.Errorf("exited %s after SIGTERM: it cannot have waited for the slow request", took)
	}
	select {
	case code := <-wsClosed:
		if code != websocket.StatusServiceRestart {
			t.Errorf("WebSocket closed with %d, want 1012", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("WebSocket not closed")
	}
	if !strings.Contains(d.Logs.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", d.Logs)
	}
	total := 0
	for _, n := range acked {
		total += n
	}
	if total < writers {
		t.Fatalf("only %d writes acknowledged before SIGTERM: no load", total)
	}

	// Every acknowledged write is there after a restart.
	d2 := startServe(t, file)
	for i, n := range acked {
		_, body := d2.Get(fmt.Sprintf("/count?name=w%d", i))
		got, err := strconv.Atoi(body)
		if err != nil || got < n {
			t.Errorf("writer %d: %q after restart, %d acknowledged", i, body, n)
		}
	}
	t.Logf("%d writes acknowledged by %d writers; shutdown took %s", total, writers, took.Round(time.Millisecond))
}

// A request still running at shutdown_timeout does not hold the process:
// it exits with status 1 at the deadline.
func TestServeShutdownDeadline(t *testing.T) {
	file, _ := serveProject(t, "shutdown_timeout = \"1s\"\n")
	d := startServe(t, file)
	go func() {
		if resp, err := testClient.Get(d.URL + "/slow?ms=20000"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit past the deadline: %v, want status 1", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after SIGTERM with a 1s deadline\n%s", d.Logs)
	}
	if took := time.Since(start); took < 900*time.Millisecond || took > 5*time.Second {
		t.Errorf("exited %s after SIGTERM, want about 1s", took)
	}
	if !strings.Contains(d.Logs.String(), "shutdown deadline passed") {
		t.Errorf("log does not say why:\n%s", d.Logs)
	}
}

// Configuration errors stop cairn serve before it starts, with file:line.
func TestServeConfigErrors(t *testing.T) {
	file, _ := serveProject(t, "")
	dir := filepath.Dir(file)
	for _, tt := range []struct {
		name, toml string
		args, env  []string
		want       string
	}{
		{name: "no data dir", toml: "[[workers]]\nconfig = \"alpha\"\n",
			want: "no data_dir: set it in the file, or give --data-dir or CAIRN_DATA_DIR"},
		{name: "unknown key", toml: "data_dir = \"d\"\nlisten = \":80\"\n[[workers]]\nconfig = \"alpha\"\n",
			want: `cairn.toml:2: unknown key "listen"`},
		{name: "bad route", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\nroutes = [\"a.test/x*y\"]\n",
			want: "cairn.toml:4: workers[0].routes[0]: invalid route"},
		{name: "two Workers no routes", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\nroutes = []\n[[workers]]\nconfig = \"alpha\"\nroutes = []\n",
			want: "several Workers and no routes"},
		{name: "same Worker twice", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\nroutes = [\"a.test/*\"]\n[[workers]]\nconfig = \"alpha\"\nroutes = [\"b.test/*\"]\n",
			want: `two Workers are named "alpha"`},
		{name: "admin off loopback without token", toml: "data_dir = \"d\"\n[admin]\nlisten = \"0.0.0.0:9999\"\n[[workers]]\nconfig = \"alpha\"\n",
			want: "the admin API needs a token"},
		{name: "bad env timeout", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\n", env: []string{"CAIRN_SHUTDOWN_TIMEOUT=soon"},
			want: `CAIRN_SHUTDOWN_TIMEOUT="soon"`},
		{name: "flag over env", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\n", env: []string{"CAIRN_LOG_FORMAT=json"}, args: []string{"--log-format", "xml"},
			want: `log format "xml"`},
		{name: "https without files", toml: "data_dir = \"d\"\n[[workers]]\nconfig = \"alpha\"\n", args: []string{"--https", ":8443"},
			want: "HTTPS needs a certificate and a key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(dir, "cairn.toml")
			if err := os.WriteFile(f, []byte(tt.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(cairnBin, append([]string{"serve", "-c", f}, tt.args...)...)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("err %v, output:\n%s\nwant %q", err, out, tt.want)
			}
		})
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cairn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"alpha.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// HTTPS with certificate files: the same Workers over TLS, an https://
// route matching only there.
func TestServeHTTPS(t *testing.T) {
	file, _ := serveProject(t, "")
	dir := filepath.Dir(file)
	_, _, pool := writeCert(t, dir)
	// beta also gets https://127.0.0.1/secure/*, over alpha's 127.0.0.1/*.
	if err := os.WriteFile(filepath.Join(dir, "beta/wrangler.jsonc"), []byte(`{"name": "beta", "main": "index.js",
  "routes": ["beta.test/*", "https://127.0.0.1/secure/*"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	httpsPort := freePort(t)
	toml, _ := os.ReadFile(file)
	toml = []byte(strings.Replace(string(toml), "\n", fmt.Sprintf("\n[https]\nlisten = \"127.0.0.1:%d\"\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n", httpsPort), 1))
	if err := os.WriteFile(file, toml, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startServe(t, file)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(url string) string {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, d.Logs)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	if got := get(base + "/whoami"); got != "200 alpha" {
		t.Errorf("https /whoami = %q", got)
	}
	if got := get(base + "/secure/x"); got != "200 beta /secure/x" {
		t.Errorf("https /secure/x = %q, want beta's https-only route", got)
	}
	if got := get(d.URL + "/secure/x"); got != "404 alpha: no /secure/x" {
		t.Errorf("http /secure/x = %q, want alpha (the https:// route does not match http)", got)
	}
}

// A second SIGTERM while a request holds the shutdown exits at once with
// status 1.
func TestServeSecondSignal(t *testing.T) {
	file, _ := serveProject(t, "shutdown_timeout = \"30s\"\n")
	d := startServe(t, file)
	go func() {
		if resp, err := testClient.Get(d.URL + "/slow?ms=25000"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if !d.waitLog("shutting down") {
		t.Fatalf("no shutdown after SIGTERM\n%s", d.Logs)
	}
	time.Sleep(700 * time.Millisecond) // past the window where a repeat counts as the same signal
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit after a second signal: %v, want status 1", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after the second SIGTERM\n%s", d.Logs)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exited %s after the second signal", took)
	}
	if !strings.Contains(d.Logs.String(), "second signal") {
		t.Errorf("log does not say why:\n%s", d.Logs)
	}
}
