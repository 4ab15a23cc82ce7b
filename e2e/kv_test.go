package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const kvConfig = `{
  "name": "kvapp",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "kv_namespaces": [
    { "binding": "CACHE", "id": "cache-ns" },
    { "binding": "OTHER", "id": "other-ns", "preview_id": "other-preview" },
  ],
}`

const kvWorker = `
async function attempt(fn) {
  try { await fn(); return "ok"; } catch (e) { return e.name + ": " + e.message; }
}

async function text(stream) { return await new Response(stream).text(); }

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const kv = env.CACHE;
    switch (url.pathname) {
      case "/values": {
        const bytes = new TextEncoder().encode("xxbytes!yy");
        await kv.put("s", "héllo");
        await kv.put("ab", bytes.buffer.slice(2, 8));
        await kv.put("view", bytes.subarray(2, 8));
        await kv.put("stream", new Blob(["str", "eam"]).stream());
        await kv.put("j", JSON.stringify({ a: [1, 2] }), { metadata: { owner: "me", n: 7 } });
        await kv.put("num", 42);
        const ab = await kv.get("ab", "arrayBuffer");
        const meta = await kv.getWithMetadata("j", { type: "json" });
        const missing = await kv.getWithMetadata("nope");
        const bulk = await kv.get(["s", "nope", "j"]);
        const bulkJSON = await kv.getWithMetadata(["j"], "json");
        const before = await kv.get("s");
        await kv.delete("s");
        return Response.json({
          text: before,
          afterDelete: await kv.get("s"),
          ab: ab instanceof ArrayBuffer ? new TextDecoder().decode(ab) : "not an ArrayBuffer",
          view: await kv.get("view"),
          stream: await kv.get("stream", { type: "stream", cacheTtl: 60 }).then(text),
          json: await kv.get("j", "json"),
          num: await kv.get("num"),
          meta,
          missing,
          bulk: [...bulk],
          bulkJSON: [...bulkJSON],
          other: await env.OTHER.get("j"),
          tag: Object.prototype.toString.call(kv),
        });
      }
      case "/errors": {
        const big = "v".repeat(25 * 1024 * 1024 + 1);
        const manyKeys = Array.from({ length: 101 }, (_, i) => "k" + i);
        const out = {
          empty: await attempt(() => kv.put("", "v")),
          dot: await attempt(() => kv.put(".", "v")),
          dotdot: await attempt(() => kv.get("..")),
          emptyDelete: await attempt(() => kv.delete("")),
          longKey: await attempt(() => kv.put("k".repeat(513), "v")),
          longGet: await attempt(() => kv.get("k".repeat(513))),
          bigValue: await attempt(() => kv.put("big", big)),
          bigStream: await attempt(() => kv.put("bigs", new Blob([big]).stream())),
          bigMeta: await attempt(() => kv.put("m", "v", { metadata: "m".repeat(1030) })),
          ttl30: await attempt(() => kv.put("t", "v", { expirationTtl: 30 })),
          expSoon: await attempt(() => kv.put("t", "v", { expiration: Math.floor(Date.now() / 1000) + 10 })),
          object: await attempt(() => kv.put("o", { a: 1 })),
          type: await attempt(() => kv.get("s", "blob")),
          cacheTtl: await attempt(() => kv.get("s", { cacheTtl: 5 })),
          bulk101: await attempt(() => kv.get(manyKeys)),
          bulkType: await attempt(() => kv.get(["a"], "arrayBuffer")),
          limit1001: await attempt(() => kv.list({ limit: 1001 })),
        };
        await kv.put("p:1", "v");
        await kv.put("p:2", "v");
        const page = await kv.list({ prefix: "p:", limit: 1 });
        out.otherPrefixCursor = await attempt(() => kv.list({ prefix: "q:", cursor: page.cursor }));
        out.stored = (await kv.list()).keys.map((k) => k.name);
        return Response.json(out);
      }
      case "/list": {
        for (let i = 0; i < 5; i++) await kv.put("user:" + i, String(i), { metadata: { i } });
        await kv.put("user:ttl", "t", { expirationTtl: 3600 });
        await kv.put("team:x", "x");
        const pages = [];
        let cursor;
        for (;;) {
          const r = await kv.list({ prefix: "user:", limit: 2, cursor });
          pages.push(r);
          if (r.list_complete) break;
          cursor = r.cursor;
        }
        return Response.json({ pages, now: Math.floor(Date.now() / 1000) });
      }
      case "/set": {
        await kv.put(url.searchParams.get("k"), await req.text());
        return new Response("ok");
      }
      case "/get":
        return new Response(await kv.get(url.searchParams.get("k")) ?? "null");
    }
    return new Response("not found", { status: 404 });
  },
};
`

func kvProject(t *testing.T) string {
	return writeProject(t, map[string]string{"wrangler.jsonc": kvConfig, "src/index.js": kvWorker})
}

func TestKVValuesAndTypes(t *testing.T) {
	dir := kvProject(t)
	d := startDev(t, dir, filepath.Join(dir, "state"))
	var got map[string]any
	getJSON(t, d, "/values", &got)
	want := map[string]any{
		"text":        "héllo",
		"afterDelete": nil,
		"ab":          "bytes!",
		"view":        "bytes!",
		"stream":      "stream",
		"json":        map[string]any{"a": []any{1.0, 2.0}},
		"num":         "42",
		"meta":        map[string]any{"value": map[string]any{"a": []any{1.0, 2.0}}, "metadata": map[string]any{"owner": "me", "n": 7.0}, "cacheStatus": nil},
		"missing":     map[string]any{"value": nil, "metadata": nil, "cacheStatus": nil},
		"bulk":        []any{[]any{"s", "héllo"}, []any{"nope", nil}, []any{"j", `{"a":[1,2]}`}},
		"bulkJSON":    []any{[]any{"j", map[string]any{"value": map[string]any{"a": []any{1.0, 2.0}}, "metadata": map[string]any{"owner": "me", "n": 7.0}}}},
		"other":       nil, // another namespace
		"tag":         "[object KvNamespace]",
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
}

func TestKVBadInput(t *testing.T) {
	dir := kvProject(t)
	d := startDev(t, dir, filepath.Join(dir, "state"))
	var got map[string]any
	getJSON(t, d, "/errors", &got)
	want := map[string]any{
		"empty":             "TypeError: Key name cannot be empty.",
		"dot":               `TypeError: "." is not allowed as a key name.`,
		"dotdot":            `TypeError: ".." is not allowed as a key name.`,
		"emptyDelete":       "TypeError: Key name cannot be empty.",
		"longKey":           "Error: KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
		"longGet":           "Error: KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
		"bigValue":          "Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
		"bigStream":         "Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
		"bigMeta":           "Error: KV PUT failed: 413 Metadata length of 1032 exceeds limit of 1024.",
		"ttl30":             "Error: KV PUT failed: 400 Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
		"object":            "TypeError: KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.",
		"type":              `TypeError: Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`,
		"cacheTtl":          "Error: KV GET failed: 400 Invalid cache_ttl of 5. Cache TTL must be at least 30.",
		"bulk101":           "Error: KV GET_BULK failed: 400 You can request a maximum of 100 keys",
		"bulkType":          `Error: KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use "json" or "text"`,
		"limit1001":         "Error: KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.",
		"otherPrefixCursor": `Error: KV GET failed: 400 Invalid cursor: it was returned by a list with prefix "p:", not "q:".`,
		// Nothing of the rejected puts was stored.
		"stored": []any{"p:1", "p:2"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if s, _ := got["expSoon"].(string); !strings.HasPrefix(s, "Error: KV PUT failed: 400 Invalid expiration of ") || !strings.HasSuffix(s, "Expiration times must be at least 60 seconds in the future.") {
		t.Errorf("expSoon = %q", got["expSoon"])
	}
}

// spec 73: list reports expiration as absolute epoch seconds even when set
// with a TTL; pages follow the cursor.
func TestKVList(t *testing.T) {
	dir := kvProject(t)
	d := startDev(t, dir, filepath.Join(dir, "state"))
	var got struct {
		Pages []struct {
			Keys []struct {
				Name       string         `json:"name"`
				Expiration *int64         `json:"expiration"`
				Metadata   map[string]any `json:"metadata"`
			} `json:"keys"`
			ListComplete bool    `json:"list_complete"`
			Cursor       *string `json:"cursor"`
			CacheStatus  any     `json:"cacheStatus"`
		} `json:"pages"`
		Now int64 `json:"now"`
	}
	getJSON(t, d, "/list", &got)
	var names []string
	for i, p := range got.Pages {
		last := i == len(got.Pages)-1
		if p.ListComplete != last || (p.Cursor == nil) != last {
			t.Errorf("page %d: list_complete %v cursor %v", i, p.ListComplete, p.Cursor)
		}
		for _, k := range p.Keys {
			names = append(names, k.Name)
			switch {
			case k.Name == "user:ttl":
				if k.Expiration == nil || *k.Expiration < got.Now+3590 || *k.Expiration > got.Now+3610 {
					t.Errorf("user:ttl expiration = %v, now %d", k.Expiration, got.Now)
				}
			case k.Expiration != nil:
				t.Errorf("%s has expiration %d", k.Name, *k.Expiration)
			case fmt.Sprint(k.Metadata["i"]) != strings.TrimPrefix(k.Name, "user:"):
				t.Errorf("%s metadata = %v", k.Name, k.Metadata)
			}
		}
	}
	if strings.Join(names, ",") != "user:0,user:1,user:2,user:3,user:4,user:ttl" || len(got.Pages) != 3 {
		t.Errorf("listed %v in %d pages", names, len(got.Pages))
	}
}

func TestKVSurvivesRestart(t *testing.T) {
	dir := kvProject(t)
	state := filepath.Join(dir, "state")
	d := startDev(t, dir, state)
	d.expect("POST", "/set?k=greeting", 200, "ok") // empty body
	if status, body := d.Do("POST", "/set?k=greeting", "persisted"); status != 200 || body != "ok" {
		t.Fatalf("set = %d %s", status, body)
	}
	d.expect("GET", "/get?k=greeting", 200, "persisted") // read-your-writes
	d.Stop()
	d2 := startDev(t, dir, state)
	d2.expect("GET", "/get?k=greeting", 200, "persisted")
	d2.expect("GET", "/get?k=absent", 200, "null")
	// Stored where the docs say: <persist>/<worker>/kv/<namespace id>.sqlite.
	if _, err := os.Stat(filepath.Join(state, "kvapp", "kv", "cache-ns.sqlite")); err != nil {
		t.Fatal(err)
	}
}

// The CLI reads and writes the namespace cairn dev serves, while it runs.
func TestKVCLI(t *testing.T) {
	dir := kvProject(t)
	state := filepath.Join(dir, "state")
	kvArgs := func(args ...string) []string { return append(args, "--config", dir, "--persist-to", state) }
	run := func(args ...string) string {
		t.Helper()
		out, err := runCairn(t, 30*time.Second, kvArgs(args...)...)
		if err != nil {
			t.Fatalf("cairn %v: %v\n%s", args, err, out)
		}
		return out
	}
	d := startDev(t, dir, state)
	if out := run("kv", "key", "put", "cli-key", "from the CLI", "--binding", "CACHE", "--metadata", `{"by":"cli"}`, "--ttl", "600"); !strings.Contains(out, `Wrote 12 bytes to key "cli-key" in namespace cache-ns.`) {
		t.Errorf("put: %s", out)
	}
	d.expect("GET", "/get?k=cli-key", 200, "from the CLI")
	d.expect("POST", "/set?k=worker-key", 200, "ok")
	if out := run("kv", "key", "get", "cli-key", "--binding", "CACHE"); out != "from the CLI" {
		t.Errorf("get = %q", out)
	}
	if out := run("kv", "key", "get", "nope", "--namespace-id", "cache-ns"); out != "Value not found\n" {
		t.Errorf("get missing = %q", out)
	}
	var keys []map[string]any
	if err := json.Unmarshal([]byte(run("kv", "key", "list", "--binding", "CACHE")), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0]["name"] != "cli-key" || keys[1]["name"] != "worker-key" ||
		!reflect.DeepEqual(keys[0]["metadata"], map[string]any{"by": "cli"}) || keys[0]["expiration"] == nil {
		t.Errorf("list = %v", keys)
	}
	run("kv", "key", "delete", "cli-key", "--binding", "CACHE")
	d.expect("GET", "/get?k=cli-key", 200, "null")

	var nss []map[string]any
	if err := json.Unmarshal([]byte(run("kv", "namespace", "list")), &nss); err != nil {
		t.Fatal(err)
	}
	if len(nss) != 2 || nss[0]["id"] != "cache-ns" || nss[0]["stored"] != true || nss[1]["id"] != "other-ns" || nss[1]["binding"] != "OTHER" {
		t.Errorf("namespace list = %v", nss)
	}
	// Bad input: the documented error, nothing stored, exit status 1.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kv", "key", "put", "t", "v", "--binding", "CACHE", "--ttl", "30"}, "Invalid expiration_ttl of 30. Expiration TTL must be at least 60."},
		{[]string{"kv", "key", "put", "..", "v", "--binding", "CACHE"}, `Illegal key name "..". Please use a different name.`},
		{[]string{"kv", "key", "put", "m", "v", "--binding", "CACHE", "--metadata", `"` + strings.Repeat("m", 1100) + `"`}, "Metadata length of 1102 exceeds limit of 1024."},
		{[]string{"kv", "key", "get", "k", "--binding", "NOPE"}, `no kv_namespaces binding "NOPE"`},
		{[]string{"kv", "key", "get", "k"}, "--binding or --namespace-id is required"},
	} {
		out, err := runCairn(t, 30*time.Second, kvArgs(tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("cairn %v: err %v, output %q, want %q", tc.args, err, out, tc.want)
		}
	}
	if err := json.Unmarshal([]byte(run("kv", "key", "list", "--binding", "CACHE")), &keys); err != nil || len(keys) != 1 {
		t.Errorf("after bad puts: %v %v", keys, err)
	}
}

// The admin REST API (cairn dev --api-port) reads and writes the namespaces
// the Worker uses, in Cloudflare's v4 shapes.
func TestKVRESTAPI(t *testing.T) {
	dir := kvProject(t)
	apiPort := freePort(t)
	d := startDev(t, dir, filepath.Join(dir, "state"), "--api-port", fmt.Sprint(apiPort), "--api-token", "tok")
	base := fmt.Sprintf("http://127.0.0.1:%d/client/v4/accounts/local/storage/kv/namespaces", apiPort)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := call("PUT", "/cache-ns/values/"+url.PathEscape("rest/key"), "from REST"); status != 200 || !strings.Contains(body, `"success":true`) {
		t.Fatalf("put = %d %s", status, body)
	}
	d.expect("GET", "/get?k="+url.QueryEscape("rest/key"), 200, "from REST")
	d.Do("POST", "/set?k=w", "from the Worker")
	if status, body := call("GET", "/cache-ns/values/w", ""); status != 200 || body != "from the Worker" {
		t.Fatalf("get = %d %q", status, body)
	}
	status, body := call("GET", "/cache-ns/keys", "")
	var env struct {
		Success    bool              `json:"success"`
		Result     []json.RawMessage `json:"result"`
		ResultInfo struct {
			Count  int    `json:"count"`
			Cursor string `json:"cursor"`
		} `json:"result_info"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || status != 200 || !env.Success || env.ResultInfo.Count != 2 ||
		string(env.Result[0]) != `{"name":"rest/key"}` || string(env.Result[1]) != `{"name":"w"}` {
		t.Fatalf("keys = %d %s", status, body)
	}
	if status, body := call("PUT", "/cache-ns/values/t?expiration_ttl=10", "v"); status != 400 ||
		!strings.Contains(body, "Invalid expiration_ttl of 10. Expiration TTL must be at least 60.") {
		t.Fatalf("bad ttl = %d %s", status, body)
	}
	if status, body := call("DELETE", "/cache-ns/values/w", ""); status != 200 {
		t.Fatalf("delete = %d %s", status, body)
	}
	d.expect("GET", "/get?k=w", 200, "null")
	if status, _ := call("GET", "/missing-ns/keys", ""); status != 404 {
		t.Fatalf("unknown namespace = %d", status)
	}
}
