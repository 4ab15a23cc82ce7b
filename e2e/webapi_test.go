package e2e

import (
	"encoding/json"
	"testing"
)

// A Worker exercising the Web platform APIs Workers code relies on; each
// entry is computed in JS and compared with what the standard (or Node, for
// the nodejs_compat modules) gives.
const webAPIWorker = `import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { AsyncLocalStorage } from "node:async_hooks";

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

export default {
  async fetch(req) {
    const out = {};
    out.textEncoder = Array.from(new TextEncoder().encode("hé€"));
    out.textDecoder = new TextDecoder().decode(new Uint8Array([0x68, 0xc3, 0xa9]));
    out.base64 = [btoa("hello"), atob("aGVsbG8=")];
    out.uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID());
    out.random = crypto.getRandomValues(new Uint8Array(8)).length;
    out.sha256 = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc")));
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("Jefe"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    const data = new TextEncoder().encode("what do ya want for nothing?");
    const sig = await crypto.subtle.sign("HMAC", key, data);
    out.hmac = hex(sig);
    out.hmacVerify = await crypto.subtle.verify("HMAC", key, sig, data);
    const clone = structuredClone({ d: new Date(7), m: new Map([[1, new Set(["x"])]]), n: NaN });
    out.structuredClone = [clone.d.getTime(), clone.m.get(1).has("x"), Number.isNaN(clone.n)];
    const url = new URL("https://user@example.com:8080/a/../b?x=1&y=2#h");
    url.searchParams.append("z", "3");
    out.url = [url.pathname, url.port, url.search, url.hash];
    const h = new Headers({ "X-B": "2", "x-a": "1" });
    h.append("x-a", "3");
    out.headers = [...h];
    const ac = new AbortController();
    const seen = [];
    ac.signal.addEventListener("abort", () => seen.push(ac.signal.reason));
    ac.abort("why");
    out.abort = [...seen];
    const et = new EventTarget();
    et.addEventListener("ping", (e) => seen.push(e.type), { once: true });
    et.dispatchEvent(new Event("ping"));
    et.dispatchEvent(new Event("ping"));
    out.events = [...seen];
    const ts = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
    const w = ts.writable.getWriter();
    w.write("ab"); w.write("cd"); w.close();
    const reader = ts.readable.getReader();
    let streamed = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) streamed += r.value;
    out.stream = streamed;
    out.responseText = await new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed body")); c.close(); } })).text();
    out.form = (await new Request("https://x/", { method: "POST", body: new URLSearchParams("a=1&b=2") }).formData()).get("b");
    out.performance = typeof performance.now() === "number";
    out.buffer = Buffer.from("hi").toString("base64");
    const em = new EventEmitter();
    em.on("e", (v) => seen.push("emitted " + v));
    em.emit("e", 1);
    out.emitter = seen.at(-1);
    const als = new AsyncLocalStorage();
    out.als = als.run(42, () => als.getStore());
    console.log("web api check done", { n: 1 });
    return Response.json(out);
  },
};
`

func TestWebAPIs(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "webapi", "main": "index.js", "compatibility_date": "2025-09-01", "compatibility_flags": ["nodejs_compat"]}`,
		"index.js":       webAPIWorker,
	})
	d := startDev(t, dir, t.TempDir())
	got := d.getJSON("/")
	want := map[string]string{
		"textEncoder":     `[104,195,169,226,130,172]`,
		"textDecoder":     `"hé"`,
		"base64":          `["aGVsbG8=","hello"]`,
		"uuid":            `true`,
		"random":          `8`,
		"sha256":          `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`,
		"hmac":            `"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"`, // RFC 4231 case 2
		"hmacVerify":      `true`,
		"structuredClone": `[7,true,true]`,
		"url":             `["/b","8080","?x=1\u0026y=2\u0026z=3","#h"]`,
		"headers":         `[["x-a","1, 3"],["x-b","2"]]`,
		"abort":           `["why"]`,
		"events":          `["why","ping"]`,
		"stream":          `"ABCD"`,
		"responseText":    `"streamed body"`,
		"form":            `"2"`,
		"performance":     `true`,
		"buffer":          `"aGk="`,
		"emitter":         `"emitted 1"`,
		"als":             `42`,
	}
	for k, w := range want {
		if b, _ := json.Marshal(got[k]); string(b) != w {
			t.Errorf("%s = %s, want %s", k, b, w)
		}
	}
	if !d.waitLog("web api check done") {
		t.Errorf("console.log did not reach the server log:\n%s", d.Logs)
	}
}
