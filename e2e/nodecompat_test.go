package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// nodejs_compat through the real binary (testdata/corpus/nodecompat, npm
// packages pinned by its package-lock.json): simple-get, an npm HTTP client
// on node:http, against a real server; Express 4 served by cloudflare:node's
// httpServerHandler; node:fs's virtual file system with a /tmp per request;
// zlib's brotli both ways; process.env from the vars.
func TestCorpusNodeCompat(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", r.Header.Get("X-From"))
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
	}))
	defer upstream.Close()
	dir := installProject(t, "testdata/corpus/nodecompat")
	d := startDev(t, dir, t.TempDir())

	t.Run("simple-get over node:http", func(t *testing.T) {
		var got struct {
			Status       int
			Header, Body string
		}
		getJSON(t, d, "/get?url="+url.QueryEscape(upstream.URL+"/x?y=1"), &got)
		if got.Status != 200 || got.Header != "simple-get" || got.Body != "GET /x?y=1" {
			t.Errorf("got %+v", got)
		}
		status, body := d.Get("/get?url=" + url.QueryEscape("http://127.0.0.1:1/"))
		if status != 502 || !strings.Contains(body, "connection refused") {
			t.Errorf("refused: %d %q", status, body)
		}
	})

	t.Run("express via httpServerHandler", func(t *testing.T) {
		resp, err := http.Get(d.URL + "/express/hello/ada?q=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != `{"hello":"ada","q":"1"}` || resp.Header.Get("X-Powered") != "express" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("got %d %v %s", resp.StatusCode, resp.Header, b)
		}
		resp, err = http.Post(d.URL+"/express/echo", "application/json", strings.NewReader(`{"a":[1,2]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || string(b) != `{"got":{"a":[1,2]}}` {
			t.Errorf("echo: %d %s", resp.StatusCode, b)
		}
		d.expect("GET", "/express/none", 404, "no express route")
	})

	t.Run("fs: /tmp per request, /bundle read-only", func(t *testing.T) {
		for _, v := range []string{"one", "two"} {
			var got map[string]any
			getJSON(t, d, "/fs?v="+v, &got)
			want := map[string]any{"before": []any{}, "note": v + "!", "bundle": true, "bundleWrite": "EROFS", "zero": 0.0}
			if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		}
	})

	t.Run("brotli", func(t *testing.T) {
		var in bytes.Buffer
		w := brotli.NewWriter(&in)
		text := strings.Repeat("compress me ", 100)
		w.Write([]byte(text))
		w.Close()
		resp, err := http.Post(d.URL+"/brotli", "application/octet-stream", &in)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(brotli.NewReader(resp.Body))
		if err != nil || string(out) != strings.ToUpper(text) || resp.Header.Get("X-Text-Length") != fmt.Sprint(len(text)) {
			t.Errorf("got %d %q %v (%v)\n%s", resp.StatusCode, out, resp.Header, err, d.Logs)
		}
	})

	d.expect("GET", "/env", 200, "hello from vars")
}

// process.env is populated from compatibility date 2025-04-01, or earlier
// with nodejs_compat_populate_process_env, as on Cloudflare.
func TestNodeCompatProcessEnvByDate(t *testing.T) {
	worker := `export default { fetch() { return new Response(JSON.stringify(process.env)); } };`
	for _, tt := range []struct{ date, flags, want string }{
		{"2025-03-31", `"nodejs_compat"`, `{}`},
		{"2025-04-01", `"nodejs_compat"`, `{"GREETING":"hi"}`},
		{"2024-06-01", `"nodejs_compat", "nodejs_compat_populate_process_env"`, `{"GREETING":"hi"}`},
	} {
		t.Run(tt.date, func(t *testing.T) {
			dir := writeProject(t, map[string]string{
				"worker.js": worker,
				"wrangler.jsonc": `{ "name": "env", "main": "worker.js", "compatibility_date": "` + tt.date + `",
  "compatibility_flags": [` + tt.flags + `], "vars": { "GREETING": "hi", "OBJ": { "a": 1 } } }`,
			})
			d := startDev(t, dir, t.TempDir())
			status, body := d.Get("/")
			var got, want map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%d %s: %v", status, body, err)
			}
			_ = json.Unmarshal([]byte(tt.want), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %s, want %s", body, tt.want)
			}
		})
	}
}
