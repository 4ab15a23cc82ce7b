package jsrt

import (
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/cache"
)

// newCacheStore opens a cache.Store in a temp dir.
func newCacheStore(t *testing.T) CacheStore {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "cache.sqlite"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCacheAPI(t *testing.T) {
	w := newTestWorker(t, `exports.default = { async fetch(req) {
  const out = [];
  const c = caches.default;
  const url = "https://example.com/page";
  out.push(String(await c.match(url)));
  await c.put(url, new Response("cached body", { headers: { "Cache-Control": "max-age=60", "ETag": '"e1"', "X-Mine": "1" } }));
  const hit = await c.match(new Request(url));
  out.push(hit.status, hit.headers.get("X-Mine"), hit.headers.get("CF-Cache-Status"), await hit.text());
  const cond = await c.match(new Request(url, { headers: { "If-None-Match": '"e1"' } }));
  out.push(cond.status);
  const named = await caches.open("other");
  out.push(String(await named.match(url)));
  await c.put(url + "/nostore", new Response("x", { headers: { "Cache-Control": "no-store" } }));
  out.push(String(await c.match(url + "/nostore")));
  for (const bad of [
    () => c.put(new Request(url, { method: "POST", body: "b" }), new Response("x")),
    () => c.put(url, new Response("x", { status: 206 })),
    () => c.put(url, new Response("x", { headers: { Vary: "*" } })),
  ]) {
    try { await bad(); out.push("no error"); } catch (e) { out.push(e.constructor.name + ": " + e.message); }
  }
  out.push(await c.delete(url), await c.delete(url), String(await c.match(url)));
  out.push(caches instanceof CacheStorage, c instanceof Cache);
  // The incoming request itself as the key: its body stays unread.
  await c.put(req, new Response("mine", { headers: { "Cache-Control": "max-age=60" } }));
  out.push(await (await c.match(req)).text(), req.bodyUsed);
  return new Response(out.join("|"));
} }`, Config{Cache: newCacheStore(t)})
	_, body, err := fetchBody(t, w, "http://x/")
	if err != nil {
		t.Fatal(err)
	}
	want := "undefined|200|1|HIT|cached body|304|undefined|undefined|" +
		"TypeError: Cannot cache response to non-GET request.|" +
		"TypeError: Cannot cache response to a range request (206 Partial Content).|" +
		"TypeError: Cannot cache response with 'Vary: *' header.|" +
		"true|false|undefined|true|true|mine|false"
	if body != want {
		t.Errorf("body:\n got %s\nwant %s", body, want)
	}
}

func TestCacheAPIWithoutStore(t *testing.T) {
	w := newTestWorker(t, `exports.default = { async fetch() {
  await caches.default.put("https://e/x", new Response("x", { headers: { "Cache-Control": "max-age=60" } }));
  return new Response(String(await caches.default.match("https://e/x")) + " " + await caches.default.delete("https://e/x"));
} }`, Config{})
	if _, body, err := fetchBody(t, w, "http://x/"); err != nil || body != "undefined false" {
		t.Errorf("without a store: %q %v, want \"undefined false\"", body, err)
	}
}
