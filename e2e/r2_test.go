package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const r2Config = `{
  "name": "r2app",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "r2_buckets": [{ "binding": "FILES", "bucket_name": "files" }],
}`

// A file server on R2, as apps that keep assets next to their objects
// write it: PUT stores the request body, GET serves it with its metadata,
// ranges and conditional requests.
const r2Worker = `
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/list") {
      const r = await env.FILES.list({ prefix: url.searchParams.get("prefix") ?? undefined, delimiter: "/", include: ["customMetadata"] });
      return Response.json({ keys: r.objects.map((o) => [o.key, o.size, o.customMetadata]), prefixes: r.delimitedPrefixes, truncated: r.truncated });
    }
    const key = decodeURIComponent(url.pathname.slice(1));
    switch (req.method) {
      case "PUT": {
        const o = await env.FILES.put(key, req.body, { httpMetadata: req.headers, customMetadata: { by: "e2e" } });
        return new Response(o.httpEtag);
      }
      case "DELETE":
        await env.FILES.delete(key);
        return new Response("deleted");
      case "GET": {
        const o = await env.FILES.get(key, { range: req.headers, onlyIf: req.headers });
        if (o === null) return new Response("no such object", { status: 404 });
        const headers = new Headers({ etag: o.httpEtag });
        o.writeHttpMetadata(headers);
        if (!("body" in o)) return new Response(null, { status: 304, headers });
        if (o.range) headers.set("content-range", "bytes " + o.range.offset + "-" + (o.range.offset + o.range.length - 1) + "/" + o.size);
        return new Response(o.body, { status: o.range ? 206 : 200, headers });
      }
    }
    return new Response("method not allowed", { status: 405 });
  },
};
`

func r2Do(t *testing.T, d *devServer, method, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, d.Logs)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestR2FileServer stores, serves, ranges, lists and deletes objects
// through a Worker, and finds them again after a restart.
func TestR2FileServer(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": r2Config, "src/index.js": r2Worker})
	state := filepath.Join(dir, "state")
	d := startDev(t, dir, state)
	const etag = `"4032af8d61035123906e58e067140cc5"` // md5("0123456789abcdef")
	if resp, body := r2Do(t, d, "PUT", "/img/a.txt", "0123456789abcdef", map[string]string{"Content-Type": "text/plain"}); resp.StatusCode != 200 || body != etag {
		t.Fatalf("put: %d %q\n%s", resp.StatusCode, body, d.Logs)
	}
	r2Do(t, d, "PUT", "/img/sub/b", "b", nil)
	r2Do(t, d, "PUT", "/top", "t", nil)

	resp, body := r2Do(t, d, "GET", "/img/a.txt", "", nil)
	if resp.StatusCode != 200 || body != "0123456789abcdef" || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Etag") != etag {
		t.Errorf("get: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = r2Do(t, d, "GET", "/img/a.txt", "", map[string]string{"Range": "bytes=2-5"})
	if resp.StatusCode != 206 || body != "2345" || resp.Header.Get("Content-Range") != "bytes 2-5/16" {
		t.Errorf("range: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = r2Do(t, d, "GET", "/img/a.txt", "", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 304 || body != "" {
		t.Errorf("if-none-match: %d %q", resp.StatusCode, body)
	}
	resp, _ = r2Do(t, d, "GET", "/nope", "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("missing: %d", resp.StatusCode)
	}
	var list struct {
		Keys     [][]any  `json:"keys"`
		Prefixes []string `json:"prefixes"`
	}
	_, body = r2Do(t, d, "GET", "/list?prefix=img/", "", nil)
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Keys) != 1 || list.Keys[0][0] != "img/a.txt" || list.Keys[0][1] != 16.0 ||
		list.Keys[0][2].(map[string]any)["by"] != "e2e" || len(list.Prefixes) != 1 || list.Prefixes[0] != "img/sub/" {
		t.Errorf("list: %s (%v)", body, err)
	}
	r2Do(t, d, "DELETE", "/top", "", nil)
	d.Stop()

	// Acknowledged writes survive a restart.
	d = startDev(t, dir, state)
	if resp, body := r2Do(t, d, "GET", "/img/a.txt", "", nil); resp.StatusCode != 200 || body != "0123456789abcdef" {
		t.Errorf("after restart: %d %q", resp.StatusCode, body)
	}
	if resp, _ := r2Do(t, d, "GET", "/top", "", nil); resp.StatusCode != 404 {
		t.Errorf("deleted object after restart: %d", resp.StatusCode)
	}
}

// TestR2CLI writes an object with `cairn r2 object put`, serves it from
// the Worker, reads it back with `get`, lists the bucket and deletes it.
func TestR2CLI(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": r2Config, "src/index.js": r2Worker, "logo.svg": "<svg/>"})
	state := filepath.Join(dir, "state")
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCairn(t, 30*time.Second, append(append([]string{"r2"}, args...), "-c", dir, "--persist-to", state)...)
		if err != nil {
			t.Fatalf("cairn r2 %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := cli("object", "put", "files/img/logo.svg", "--file", filepath.Join(dir, "logo.svg")); !strings.HasPrefix(out, "Wrote 6 bytes to files/img/logo.svg") {
		t.Errorf("put: %q", out)
	}
	d := startDev(t, dir, state)
	if resp, body := r2Do(t, d, "GET", "/img/logo.svg", "", nil); resp.StatusCode != 200 || body != "<svg/>" || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("served: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	r2Do(t, d, "PUT", "/from-worker", "w", nil)
	if out := cli("object", "get", "files/from-worker"); out != "w" {
		t.Errorf("get while dev runs: %q", out)
	}
	var buckets []map[string]any
	if err := json.Unmarshal([]byte(cli("bucket", "list")), &buckets); err != nil || len(buckets) != 1 || buckets[0]["name"] != "files" || buckets[0]["stored"] != true {
		t.Errorf("bucket list: %v %v", buckets, err)
	}
	cli("object", "delete", "files/img/logo.svg")
	if resp, _ := r2Do(t, d, "GET", "/img/logo.svg", "", nil); resp.StatusCode != 404 {
		t.Errorf("after delete: %d", resp.StatusCode)
	}
	if out, err := runCairn(t, 30*time.Second, "r2", "object", "get", "files/nope", "-c", dir, "--persist-to", state); err == nil || !strings.Contains(out, `object "files/nope" not found`) {
		t.Errorf("get of a missing object: %v %q", err, out)
	}
}
