package jsrt

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/r2"
)

func newTestBucket(t *testing.T) *r2.Bucket {
	t.Helper()
	b, err := r2.Open(filepath.Join(t.TempDir(), "b.sqlite"), r2.Options{MinPartSize: 3,
		Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestR2Binding runs the R2 Workers API against a real bucket: each step
// prints its result (or error), compared line by line.
func TestR2Binding(t *testing.T) {
	const code = `exports.default = { async fetch(req, env) {
  const b = env.B;
  const out = [];
  const step = async (f) => { try { out.push(String(await f())); } catch (e) { out.push(e.name + ": " + e.message.replaceAll("\n", "|")); } };
  await step(async () => {
    const o = await b.put("dir/a.txt", "hello", { httpMetadata: { contentType: "text/plain", cacheExpiry: new Date(1e12) }, customMetadata: { n: 1 } });
    return [o.constructor.name, o.key, o.size, o.etag, o.httpEtag, o.uploaded.toISOString(), o.storageClass, JSON.stringify(o.checksums)].join(" ");
  });
  await step(async () => { const o = await b.get("dir/a.txt"); return [o.constructor.name, await o.text(), o.bodyUsed, o.httpMetadata.contentType, o.customMetadata.n].join(" "); });
  await step(async () => { const o = await b.get("dir/a.txt", { range: { offset: 1, length: 3 } }); return (await o.text()) + " " + JSON.stringify(o.range); });
  await step(async () => { const o = await b.get("dir/a.txt", { range: new Headers({ range: "bytes=-2" }) }); return await o.text(); });
  await step(async () => { const o = await b.get("dir/a.txt", { onlyIf: { etagDoesNotMatch: "5d41402abc4b2a76b9719d911017c592" } }); return o.constructor.name + " " + ("body" in o); });
  await step(async () => { const o = await b.get("dir/a.txt", { onlyIf: new Headers({ "if-match": '"5d41402abc4b2a76b9719d911017c592"' }) }); return await o.text(); });
  await step(async () => { const h = new Headers(); (await b.head("dir/a.txt")).writeHttpMetadata(h); return [...h].join(";"); });
  await step(async () => { const o = await b.get("dir/a.txt"); return new Uint8Array(await new Response(o.body).arrayBuffer()).length; });
  await step(() => b.get("missing"));
  await step(() => b.head("missing"));
  await step(() => b.put("dir/a.txt", "x", { onlyIf: { etagMatches: "nope" } }));
  await step(() => b.put("x".repeat(1025), "x"));
  await step(() => b.put("s", "hello", { sha256: "00" }).then(() => "stored"));
  await step(async () => (await b.put("s", new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.close(); } }), { sha1: "c22b5f9178342609428d6f51b2c5af4c0bde6a42" })).size);
  await step(async () => { await b.put("dir/b", new Uint8Array(2)); await b.put("dir/sub/c", null); const r = await b.list({ prefix: "dir/", delimiter: "/", limit: 2 }); return JSON.stringify([r.objects.map((o) => o.key), r.delimitedPrefixes, r.truncated, typeof r.cursor, r.objects[0].httpMetadata]); });
  await step(async () => { const r = await b.list({ include: ["customMetadata"] }); return JSON.stringify(r.objects.map((o) => [o.key, o.customMetadata])); });
  await step(async () => { await b.delete(["dir/b", "dir/sub/c"]); await b.delete("s"); return (await b.list()).objects.map((o) => o.key).join(","); });
  await step(() => b.list({ limit: 5000 }));
  await step(async () => {
    const u = await b.createMultipartUpload("big", { httpMetadata: { contentType: "application/x" } });
    const p1 = await u.uploadPart(1, "aaa");
    const p2 = await b.resumeMultipartUpload("big", u.uploadId).uploadPart(2, new Uint8Array([98]));
    const o = await u.complete([p1, p2]);
    return [o.size, o.etag.endsWith("-2"), await (await b.get("big")).text(), (await b.head("big")).httpMetadata.contentType].join(" ");
  });
  await step(() => b.resumeMultipartUpload("big", "nope").uploadPart(1, "x"));
  return new Response(out.join("\n"));
} }`
	w := newTestWorker(t, code, Config{R2: map[string]R2Bucket{"B": newTestBucket(t)}})
	_, body, err := fetchBody(t, w, "http://x/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`R2Object dir/a.txt 5 5d41402abc4b2a76b9719d911017c592 "5d41402abc4b2a76b9719d911017c592" 2023-11-14T22:13:20.000Z Standard {"md5":"5d41402abc4b2a76b9719d911017c592"}`,
		`R2ObjectBody hello true text/plain 1`,
		`ell {"offset":1,"length":3}`,
		`lo`,
		`R2Object false`, // spec: a failed onlyIf gives the object without its body
		`hello`,
		`content-type,text/plain;expires,Sun, 09 Sep 2001 01:46:40 GMT`,
		`5`,
		`null`,
		`null`,
		`null`,
		`Error: put: The specified object name is not valid. (10020)`,
		"Error: put: The SHA-256 checksum you specified did not match what we received.|You provided a SHA-256 checksum with value: 00|Actual SHA-256 was: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 (10037)",
		`2`,
		`[["dir/a.txt","dir/b"],[],true,"string",null]`, // not in include: undefined
		`[["dir/a.txt",{"n":"1"}],["dir/b",{}],["dir/sub/c",{}],["s",{}]]`,
		`dir/a.txt`,
		`Error: list: MaxKeys params must be positive integer <= 1000. (10022)`,
		`4 true aaab application/x`,
		`Error: uploadPart: The specified multipart upload does not exist. (10024)`,
	}
	got := strings.Split(body, "\n")
	for i := range max(len(got), len(want)) {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, g, w)
		}
	}
}

// spec 21 (for R2 as for an outgoing fetch): an R2 put started right after
// an unawaited storage put does not reach the bucket before that write is
// durable.
func TestR2WriteWaitsForOutputGate(t *testing.T) {
	const code = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    this.ctx.storage.put("k", 1);
    await this.env.B.put("x", "v");
    return new Response("stored");
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`
	bucket := newTestBucket(t)
	log := gatesim.NewHeldLog()
	w := objectWorker(t, code, log, Config{R2: map[string]R2Bucket{"B": bucket}})
	log.Hold()
	res := asyncFetch(w, "http://x/write")
	notYet(t, res, "the response")
	if _, ok, err := bucket.Head(context.Background(), "x"); ok || err != nil {
		t.Fatalf("the R2 put reached the bucket before the object's write was durable (%v)", err)
	}
	log.Release()
	arrives(t, res, "stored")
	if _, ok, err := bucket.Head(context.Background(), "x"); !ok || err != nil {
		t.Fatalf("after release: %v %v", ok, err)
	}
}
