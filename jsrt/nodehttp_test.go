package jsrt

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// node:http and node:https clients over fetch, against a real server.
func TestNodeHTTPClient(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		case "/cookies":
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Header.Get("X-Test"))
		w.WriteHeader(201)
		fmt.Fprintf(w, "%s %s %s auth=%s", r.Method, r.URL.RequestURI(), body, r.Header.Get("Authorization"))
	}))
	defer upstream.Close()
	base := upstream.URL
	tests := []struct{ name, body, want string }{
		{"request with body, headers and response stream", `const http = require("node:http");
			return await new Promise((resolve, reject) => {
				const req = http.request("` + base + `/post?q=1", { method: "POST", headers: { "X-Test": "yes" } }, (res) => {
					let data = ""; res.setEncoding("utf8");
					res.on("data", (c) => { data += c; });
					res.on("end", () => resolve([res.statusCode, res.statusMessage, res.headers["x-echo"], data, res.complete].join("|")));
				});
				req.on("error", reject);
				req.write("part1,"); req.end("part2");
			});`, "201|Created|yes|POST /post?q=1 part1,part2 auth=|true"},
		{"get with options object and auth", `const http = require("http"); const u = new URL("` + base + `");
			return await new Promise((resolve, reject) => {
				http.get({ hostname: u.hostname, port: u.port, path: "/g", auth: "ann:pw" }, (res) => {
					let data = ""; res.on("data", (c) => { data += c; }); res.on("end", () => resolve(data));
				}).on("error", reject);
			});`, "GET /g  auth=Basic YW5uOnB3"},
		{"redirects are not followed", `return await new Promise((resolve) => require("http").get("` + base + `/moved", (res) => { res.resume(); resolve(res.statusCode + " " + res.headers.location); }));`, "302 /elsewhere"},
		{"set-cookie is an array", `return await new Promise((resolve) => require("http").get("` + base + `/cookies", (res) => { res.resume(); resolve(JSON.stringify(res.headers["set-cookie"])); }));`, `["a=1","b=2"]`},
		{"timeout then destroy", `return await new Promise((resolve) => {
				const req = require("http").get("` + base + `/slow");
				const events = [];
				req.setTimeout(50, () => { events.push("timeout"); req.destroy(); });
				req.on("error", (e) => events.push(e.code));
				req.on("close", () => resolve(events.join()));
			});`, "timeout,ECONNRESET"},
		{"abort before the response", `return await new Promise((resolve) => {
				const req = require("http").get("` + base + `/slow", () => resolve("response"));
				req.on("abort", () => resolve("aborted " + req.aborted)); req.abort();
			});`, "aborted true"},
		{"connection refused", `return await new Promise((resolve) => require("http").get("http://127.0.0.1:1/", () => resolve("response")).on("error", (e) => resolve(e.code)));`, "ECONNREFUSED"},
		{"https defaults", `const https = require("node:https"); const req = https.request({ hostname: "example.invalid", path: "/x" }); req.on("error", () => {}); req.destroy();
			return [req.protocol, req.port, https.globalAgent.defaultPort, https.request === require("http").request].join();`, "https:,443,443,false"},
		{"STATUS_CODES, METHODS, Agent", `const http = require("http"); return [http.STATUS_CODES[418], http.METHODS.includes("PATCH"), new http.Agent({ keepAlive: true }).keepAlive, typeof http.globalAgent].join();`, "I'm a Teapot,true,true,object"},
		{"invalid header names throw", `try { require("http").request("` + base + `", { headers: { "bad name": "x" } }); } catch (e) { return e.code; }`, "ERR_INVALID_HTTP_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeEval(t, tt.body, Config{NodeCompat: true}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// http.createServer served through cloudflare:node's httpServerHandler,
// Express-style: status, headers, a streamed body, the request body.
func TestNodeHTTPServerHandler(t *testing.T) {
	code := `const http = require("node:http"); const { httpServerHandler } = require("cloudflare:node");
const server = http.createServer((req, res) => {
  if (req.url === "/missing") { res.writeHead(404, { "Content-Type": "text/plain" }); res.end("nope"); return; }
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    res.statusCode = 202;
    res.setHeader("X-Method", req.method);
    res.setHeader("Set-Cookie", ["a=1", "b=2"]);
    res.write("url=" + req.url + " ");
    setTimeout(() => res.end("host=" + req.headers.host + " body=" + body), 5);
  });
});
server.listen(8080);
exports.default = httpServerHandler({ port: 8080 });`
	w := newTestWorker(t, code, Config{NodeCompat: true, Runtimes: 1})
	ctx := t.Context()
	req := httptest.NewRequest("POST", "http://app.test/p?x=1", strings.NewReader("hello"))
	resp, err := w.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 || resp.Header.Get("X-Method") != "POST" || len(resp.Header.Values("Set-Cookie")) != 2 || string(b) != "url=/p?x=1 host=app.test body=hello" {
		t.Errorf("got %d %v %q", resp.StatusCode, resp.Header, b)
	}
	resp, err = w.Fetch(ctx, httptest.NewRequest("GET", "http://app.test/missing", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || string(b) != "nope" {
		t.Errorf("missing: got %d %q", resp.StatusCode, b)
	}
}

// node:http's client from 2025-08-15 (or enable_nodejs_http_modules), its
// server from 2025-09-01 (or enable_nodejs_http_server_modules); unenv's
// stubs before.
func TestNodeHTTPByCompatDate(t *testing.T) {
	body := `const http = require("http"); let server; try { http.createServer(); server = "server"; } catch { server = "no server"; }
		return (typeof http.ClientRequest === "function" && http.request.toString().includes("ClientRequest") ? "client" : "stub") + "," + server;`
	for _, tt := range []struct {
		date  string
		flags []string
		want  string
	}{
		{"2025-09-01", nil, "client,server"},
		{"2025-08-15", nil, "client,no server"},
		{"2025-08-14", []string{"enable_nodejs_http_modules", "enable_nodejs_http_server_modules"}, "client,server"},
		{"2025-08-14", nil, "stub,"},
	} {
		got := nodeEval(t, body, Config{NodeCompat: true, CompatibilityDate: tt.date, CompatibilityFlags: tt.flags})
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s %v: got %q, want %q", tt.date, tt.flags, got, tt.want)
		}
	}
}
