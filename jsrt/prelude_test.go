package jsrt

import (
	"io"
	"log/slog"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"
	"github.com/evanw/esbuild/pkg/api"

	"github.com/cairn-dev/cairn/jsrt/jsclone"
	"github.com/cairn-dev/cairn/jsrt/webapi"
)

// preludeShims stands in for the timers the runtime installs when they are absent from the bare test runtime.
const preludeShims = `
globalThis.__drainWireStream = async (h) => {
  const parts = [];
  for (let c; (c = await h.read()) !== null;) parts.push(...c);
  return new Uint8Array(parts).buffer;
};
(function () {
  if (typeof queueMicrotask !== "function") {
    globalThis.queueMicrotask = (fn) => { Promise.resolve().then(fn); };
  }
  if (typeof setTimeout !== "function") {
    let next = 1;
    const cancelled = new Set();
    globalThis.setTimeout = (fn, ms, ...args) => {
      const id = next++;
      Promise.resolve().then(() => { if (!cancelled.has(id)) fn(...args); });
      return id;
    };
    globalThis.clearTimeout = (id) => { cancelled.add(id); };
  }
})();
`

// preludeRuntime builds a bare runtime with the natives the prelude needs,
// a fake fetchNative that echoes the request, and the prelude itself.
func preludeRuntime(t *testing.T) *goja.Runtime {
	t.Helper()
	vm := goja.New()
	new(require.Registry).Enable(vm)
	natives := newNatives(vm)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(webapi.InstallURL(vm, natives))
	must(webapi.InstallEncoding(vm, natives))
	must(webapi.InstallCrypto(vm, natives))
	must(webapi.InstallStreams(vm, natives))
	must(webapi.InstallConsole(vm, natives, slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	must(jsclone.Install(vm, natives))
	// fetchNative echoes: status 200, the request's method and URL in
	// headers, and the request body as the response body.
	must(natives.Set("fetchNative", func(wire *goja.Object) goja.Value {
		p, resolve, _ := vm.NewPromise()
		headers := []any{
			[]any{"x-method", wire.Get("method").String()},
			[]any{"x-url", wire.Get("url").String()},
		}
		if hs, ok := wire.Get("headers").Export().([]any); ok {
			for _, h := range hs {
				pair := h.([]any)
				headers = append(headers, []any{"x-echo-" + pair[0].(string), pair[1]})
			}
		}
		res := vm.NewObject()
		_ = res.Set("status", 200)
		_ = res.Set("statusText", "OK")
		_ = res.Set("headers", headers)
		_ = res.Set("body", wire.Get("body"))
		if stream, ok := wire.Get("stream").(*goja.Object); ok {
			// A streamed body: drain its reader (the prelude's goReader)
			// first, as Go would.
			drain, _ := goja.AssertFunction(vm.Get("__drainWireStream"))
			done, err := drain(goja.Undefined(), stream)
			if err != nil {
				panic(err)
			}
			then, _ := goja.AssertFunction(done.ToObject(vm).Get("then"))
			_, _ = then(done, vm.ToValue(func(buf goja.Value) {
				_ = res.Set("body", buf)
				_ = resolve(res)
			}))
			return vm.ToValue(p)
		}
		_ = resolve(res)
		return vm.ToValue(p)
	}))
	_, err := vm.RunString(preludeShims)
	must(err)
	must(runPrelude(vm))
	return vm
}

// preludeLower lowers the syntax goja lacks (for await, async generators)
// the way bundle.Build does for Worker code, so snippets can use it and
// exercise the prelude as bundled code would.
func preludeLower(t *testing.T, src string) string {
	t.Helper()
	res := api.Transform(src, api.TransformOptions{
		Loader:    api.LoaderJS,
		Target:    api.ES2022,
		Supported: map[string]bool{"async-generator": false, "for-await": false},
	})
	if len(res.Errors) > 0 {
		t.Fatalf("lowering: %s", res.Errors[0].Text)
	}
	return string(res.Code)
}

// preludeEval runs the body of an async function, src, and returns what it
// returns as a string. A rejected promise yields "rejected: <error>".
func preludeEval(t *testing.T, vm *goja.Runtime, src string) string {
	t.Helper()
	_, err := vm.RunString(preludeLower(t, `globalThis.out = undefined; (async () => { `+src+` })().then(
		(v) => { if (v !== undefined) globalThis.out = v; },
		(e) => { globalThis.out = "rejected: " + (e && e.name ? e.name + ": " + e.message : String(e)); });`))
	if err != nil {
		return "error: " + err.Error()
	}
	return vm.Get("out").String()
}

func TestPrelude(t *testing.T) {
	tests := []struct {
		name, js, want string
	}{
		// --- events ---
		{"event basics", `
			const et = new EventTarget();
			const log = [];
			et.addEventListener("x", (e) => log.push("a:" + e.type + ":" + (e.target === et)));
			et.addEventListener("x", { handleEvent(e) { log.push("b"); } });
			et.addEventListener("x", () => log.push("once"), { once: true });
			et.dispatchEvent(new Event("x"));
			et.dispatchEvent(new Event("x"));
			return log.join(",");`, "a:x:true,b,once,a:x:true,b"},
		{"event preventDefault", `
			const et = new EventTarget();
			et.addEventListener("x", (e) => e.preventDefault());
			const r1 = et.dispatchEvent(new Event("x"));
			const r2 = et.dispatchEvent(new Event("x", { cancelable: true }));
			return r1 + "," + r2;`, "true,false"},
		{"stopImmediatePropagation", `
			const et = new EventTarget(); const log = [];
			et.addEventListener("x", (e) => { log.push(1); e.stopImmediatePropagation(); });
			et.addEventListener("x", () => log.push(2));
			et.dispatchEvent(new Event("x"));
			return log.join(",");`, "1"},
		{"custom event", `
			const et = new EventTarget(); let d;
			et.addEventListener("c", (e) => { d = e.detail; });
			et.dispatchEvent(new CustomEvent("c", { detail: 42 }));
			return String(d) + "," + (new CustomEvent("c") instanceof Event);`, "42,true"},
		{"listener signal", `
			const et = new EventTarget(); const ac = new AbortController(); let n = 0;
			et.addEventListener("x", () => n++, { signal: ac.signal });
			et.dispatchEvent(new Event("x")); ac.abort(); et.dispatchEvent(new Event("x"));
			return String(n);`, "1"},
		{"DOMException", `
			const e = new DOMException("boom", "AbortError");
			return [e.name, e.message, e.code, e instanceof Error, DOMException.ABORT_ERR].join(",");`, "AbortError,boom,20,true,20"},
		{"abort controller", `
			const ac = new AbortController(); const log = [];
			ac.signal.onabort = () => log.push("onabort");
			ac.signal.addEventListener("abort", () => log.push("listener"));
			ac.abort(); ac.abort();
			log.push(ac.signal.aborted, ac.signal.reason.name);
			try { ac.signal.throwIfAborted(); } catch (e) { log.push("threw " + e.name); }
			return log.join(",");`, "onabort,listener,true,AbortError,threw AbortError"},
		{"AbortSignal statics", `
			const a = AbortSignal.abort("why");
			const ac = new AbortController();
			const any = AbortSignal.any([ac.signal, AbortSignal.timeout(1000000)]);
			const before = any.aborted;
			ac.abort("r2");
			const t = AbortSignal.timeout(0);
			await new Promise((r) => setTimeout(r, 0));
			await null;
			return [a.aborted, a.reason, before, any.aborted, any.reason, t.aborted, t.reason.name].join(",");`,
			"true,why,false,true,r2,true,TimeoutError"},

		// --- Headers ---
		{"headers case and order", `
			const h = new Headers({ "X-B": "2", "Content-Type": "text/plain" });
			h.append("x-a", "1"); h.append("X-A", "  one more ");
			return JSON.stringify([...h]) + "|" + h.get("x-a") + "|" + h.has("CONTENT-type");`,
			`[["content-type","text/plain"],["x-a","1, one more"],["x-b","2"]]|1, one more|true`},
		{"headers set-cookie", `
			const h = new Headers([["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["x", "y"]]);
			return JSON.stringify([...h.entries()]) + "|" + h.get("set-cookie") + "|" + JSON.stringify(h.getSetCookie());`,
			`[["set-cookie","a=1"],["set-cookie","b=2"],["x","y"]]|a=1, b=2|["a=1","b=2"]`},
		{"headers from headers, set, delete, forEach", `
			const h = new Headers(new Headers({ a: "1", b: "2" }));
			h.set("A", "3"); h.delete("b");
			const out = []; h.forEach((v, k) => out.push(k + "=" + v));
			return out.join(",") + "|" + [...h.keys()] + "|" + [...h.values()];`, "a=3|a|3"},
		{"headers invalid", `
			const errs = [];
			for (const f of [() => new Headers({ "bad name": "x" }), () => new Headers([["a"]]), () => new Headers().set("x", "a\nb")]) {
				try { f(); errs.push("no"); } catch (e) { errs.push(e.constructor.name); }
			}
			return errs.join(",");`, "TypeError,TypeError,TypeError"},
		// --- Request / Response ---
		{"request basics", `
			const r = new Request("https://example.com/a?b=1", { method: "post", body: "hi", headers: { "X-Y": "z" }, cf: { k: 1 } });
			return [r.url, r.method, r.headers.get("content-type"), r.headers.get("x-y"), r.cf.k, r.redirect, r.signal.aborted, await r.text()].join(",");`,
			"https://example.com/a?b=1,POST,text/plain;charset=UTF-8,z,1,follow,false,hi"},
		{"request errors", `
			const errs = [];
			for (const f of [() => new Request("/relative"), () => new Request("https://x/", { method: "GET", body: "x" }),
				() => new Request("https://x/", { method: "HEAD", body: "x" }), () => new Request("https://x/", { method: "bad method" }),
				() => new Request("https://x/", { redirect: "nope" })]) {
				try { f(); errs.push("no"); } catch (e) { errs.push(e.constructor.name); }
			}
			return errs.join(",");`, "TypeError,TypeError,TypeError,TypeError,TypeError"},
		{"request from request", `
			const a = new Request(new URL("https://x.test/p"), { method: "PUT", body: "data", headers: { a: "1" } });
			const b = new Request(a, { headers: { b: "2" } });
			return [b.url, b.method, b.headers.get("a"), b.headers.get("b"), await b.text(), new Request("https://x.test", { method: "patch" }).method].join(",");`,
			"https://x.test/p,PUT,,2,data,PATCH"},
		{"response errors", `
			const errs = [];
			for (const f of [() => new Response("x", { status: 199 }), () => new Response("x", { status: 600 }),
				() => new Response(null, { status: 101 }), () => new Response("x", { status: 204 }), () => Response.redirect("https://x/", 200)]) {
				try { f(); errs.push("no"); } catch (e) { errs.push(e.constructor.name); }
			}
			const ws = new Response(null, { status: 101, webSocket: { fake: true } });
			return errs.join(",") + "|" + ws.status + "," + ws.webSocket.fake;`, "RangeError,RangeError,RangeError,TypeError,RangeError|101,true"},
		{"response basics", `
			const r = new Response("hello", { status: 201, statusText: "Created", headers: { "x-a": "b" } });
			return [r.status, r.statusText, r.ok, r.type, r.url, r.redirected, r.headers.get("content-type"), r.bodyUsed, await r.text(), r.bodyUsed].join(",");`,
			"201,Created,true,default,,false,text/plain;charset=UTF-8,false,hello,true"},
		{"body read once", `
			const r = new Response("once");
			await r.text();
			try { await r.text(); return "no"; } catch (e) { return e.constructor.name + ":" + e.message.slice(0, 26); }`,
			"TypeError:Body has already been used"},
		{"body read after body access", `
			const r = new Response("x");
			const s = r.body;
			const t = await r.text();
			try { await r.arrayBuffer(); return "no"; } catch (e) { return t + "," + r.bodyUsed + "," + (s instanceof ReadableStream); }`,
			"x,true,true"},
		{"bodyUsed: a null body is never used; a body moved into a new Request uses its source", `
			const empty = new Request("http://x/", { method: "POST" });
			const t = await empty.text();
			const twice = await empty.text();
			const src = new Request("http://x/", { method: "POST", body: "moved" });
			const moved = new Request(src);
			return [JSON.stringify(t + twice), empty.bodyUsed, src.bodyUsed, await moved.text()].join(",");`,
			"\"\",false,true,moved"},
		{"body kinds", `
			const out = [];
			out.push(await new Response(new Uint8Array([104, 105])).text());
			out.push(new TextDecoder().decode(await new Response(new Uint8Array([1, 2, 3]).buffer).arrayBuffer()).length);
			const blob = new Response(new Blob(["ab"], { type: "text/x-test" }));
			out.push(blob.headers.get("content-type"), await blob.text());
			const usp = new Response(new URLSearchParams({ a: "1", b: "x y" }));
			out.push(usp.headers.get("content-type"), await usp.text());
			out.push(JSON.stringify(Array.from(await new Response("é").bytes())));
			const b2 = await new Response("zz", { headers: { "content-type": "a/b" } }).blob();
			out.push(b2.type, b2.size);
			out.push(String(new Response(null).body), await new Response().text() === "");
			return out.join("|");`,
			"hi|3|text/x-test|ab|application/x-www-form-urlencoded;charset=UTF-8|a=1&b=x+y|[195,169]|a/b|2|null|true"},
		{"clone", `
			const r = new Response("twice", { status: 202 });
			const c = r.clone();
			const s = new Response(new ReadableStream({ start(ctl) { ctl.enqueue(new Uint8Array([65])); ctl.enqueue(new Uint8Array([66])); ctl.close(); } }));
			const sc = s.clone();
			const req = new Request("https://x/", { method: "POST", body: "rb" });
			const rc = req.clone();
			await r.text();
			let err = "";
			try { r.clone(); } catch (e) { err = e.constructor.name; }
			return [await c.text(), c.status, await s.text(), await sc.text(), await req.text(), await rc.text(), rc.method, err].join(",");`,
			"twice,202,AB,AB,rb,rb,POST,TypeError"},
		{"Response.json/redirect/error", `
			const j = Response.json({ a: [1, 2] }, { status: 418, headers: { "x-h": "1" } });
			const r = Response.redirect("https://example.com/next", 301);
			const e = Response.error();
			let immut = "";
			try { r.headers.set("x", "y"); } catch (x) { immut = x.message; }
			return [j.status, j.headers.get("content-type"), j.headers.get("x-h"), JSON.stringify(await j.json()),
				r.status, r.headers.get("location"), immut, e.status, e.type].join(",");`,
			`418,application/json,1,{"a":[1,2]},301,https://example.com/next,Can't modify immutable headers.,0,error`},
		{"json parse error", `
			try { await new Response("{oops").json(); return "no"; } catch (e) { return e.constructor.name; }`, "SyntaxError"},
		// --- Blob / File / FormData ---
		{"blob slice", `
			const b = new Blob(["hello ", new Uint8Array([119, 111]), new Blob(["rld"])], { type: "Text/Plain" });
			return [b.size, b.type, await b.slice(6).text(), await b.slice(-3).text(), await b.slice(1, 4, "x/y").text(), b.slice(1, 4, "x/y").type, b.slice(4, 1).size].join(",");`,
			"11,text/plain,world,rld,ell,x/y,0"},
		{"blob stream and file", `
			const f = new File(["abc"], "a.txt", { type: "text/plain", lastModified: 5 });
			const chunks = [];
			for await (const c of f.stream()) chunks.push(c.length);
			return [f.name, f.lastModified, f.size, f instanceof Blob, chunks.join("+"), JSON.stringify(Array.from(await f.bytes())), (await f.arrayBuffer()).byteLength].join(",");`,
			"a.txt,5,3,true,3,[97,98,99],3"},
		{"formdata basics", `
			const f = new FormData();
			f.append("a", "1"); f.append("a", "2"); f.append("b", new Blob(["x"]), "x.bin"); f.set("c", "3");
			const before = f.getAll("a").join("+");
			f.set("a", "9");
			const keys = [...f.keys()].join("");
			f.delete("c");
			return [before, f.get("a"), f.get("b").name, f.get("b") instanceof File, f.has("c"), keys, f.get("zz")].join(",");`,
			"1+2,9,x.bin,true,false,abc,"},
		{"formdata urlencoded round trip", `
			const r = new Request("https://x/", { method: "POST", body: new URLSearchParams("a=1&b=two+words&a=3") });
			const f = await r.formData();
			return JSON.stringify([...f]);`, `[["a","1"],["b","two words"],["a","3"]]`},
		{"formdata multipart round trip", `
			const f = new FormData();
			f.append("name", "value with \"quotes\"");
			f.append("file", new File([new Uint8Array([0, 255, 13, 10, 45, 45])], "data.bin", { type: "application/x-bin" }));
			f.append("text", "line1\nline2");
			const r = new Response(f);
			const ct = r.headers.get("content-type");
			const g = await r.formData();
			const file = g.get("file");
			return [ct.startsWith("multipart/form-data; boundary="), g.get("name"), file.name, file.type, JSON.stringify(Array.from(await file.bytes())), JSON.stringify(g.get("text"))].join("|");`,
			`true|value with "quotes"|data.bin|application/x-bin|[0,255,13,10,45,45]|"line1\r\nline2"`},
		{"formdata parse foreign multipart", `
			const body = "--XyZ\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
			const g = await new Response(body, { headers: { "content-type": "multipart/form-data; boundary=XyZ" } }).formData();
			let err = "";
			try { await new Response("x").formData(); } catch (e) { err = e.constructor.name; }
			return [g.get("k"), g.get("f").name, await g.get("f").text(), err].join(",");`, "v,a.txt,file body,TypeError"},
		// --- streams ---
		{"reader reads chunks", `
			let n = 0;
			const rs = new ReadableStream({ pull(c) { n++; if (n > 3) c.close(); else c.enqueue("c" + n); } });
			const reader = rs.getReader();
			const out = [];
			for (;;) { const { value, done } = await reader.read(); if (done) break; out.push(value); }
			await reader.closed;
			const locked = rs.locked;
			reader.releaseLock();
			return out.join(",") + "|" + locked + "," + rs.locked;`, "c1,c2,c3|true,false"},
		{"stream error and cancel", `
			const out = [];
			const rs = new ReadableStream({ start(c) { c.enqueue(1); c.error(new Error("boom")); } });
			try { await rs.getReader().read(); } catch (e) { out.push(e.message); }
			let reason;
			const rs2 = new ReadableStream({ cancel(r) { reason = r; } });
			await rs2.cancel("stop");
			out.push(reason, (await rs2.getReader().read()).done);
			try { rs2.getReader(); rs2.getReader(); } catch (e) { out.push(e.constructor.name); }
			return out.join(",");`, "boom,stop,true,TypeError"},
		{"transform uppercase pipeline", `
			const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); }, flush(c) { c.enqueue("!"); } });
			const src = new ReadableStream({ start(c) { c.enqueue("abc"); c.enqueue("def"); c.close(); } });
			const out = [];
			for await (const c of src.pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream()).pipeThrough(upper)) out.push(c);
			return out.join("");`, "ABCDEF!"},
		{"transform to response", `
			const { readable, writable } = new TransformStream();
			const w = writable.getWriter();
			w.write(new TextEncoder().encode("st")); w.write(new TextEncoder().encode("ream")); w.close();
			return await new Response(readable).text();`, "stream"},
		{"tee", `
			const rs = new ReadableStream({ start(c) { c.enqueue("a"); c.enqueue("b"); c.close(); } });
			const [x, y] = rs.tee();
			const read = async (s) => { const o = []; for await (const c of s) o.push(c); return o.join(""); };
			const [rx, ry] = await Promise.all([read(x), read(y)]);
			return rx + "," + ry + "," + rs.locked;`, "ab,ab,true"},
		{"for await break cancels", `
			let cancelled = false;
			const rs = new ReadableStream({ pull(c) { c.enqueue(1); }, cancel() { cancelled = true; } });
			let n = 0;
			for await (const _ of rs) if (++n === 3) break;
			return n + "," + cancelled + "," + rs.locked;`, "3,true,false"},
		{"Symbol.asyncIterator", `
			const d = Object.getOwnPropertyDescriptor(Symbol, "asyncIterator");
			return [typeof Symbol.asyncIterator, Symbol.asyncIterator === Symbol.for("Symbol.asyncIterator"), d.writable, d.configurable,
				typeof ReadableStream.prototype[Symbol.asyncIterator]].join(",");`, "symbol,true,false,false,function"},
		{"for await over a stream", `
			const rs = new ReadableStream({ start(c) { c.enqueue("a"); c.enqueue("b"); c.enqueue("c"); c.close(); } });
			const out = [];
			for await (const chunk of rs) out.push(chunk);
			let cancelled = false;
			const inf = new ReadableStream({ pull(c) { c.enqueue(1); }, cancel() { cancelled = true; } });
			let n = 0;
			for await (const _ of inf) if (++n === 2) break;
			const kept = new ReadableStream({ start(c) { c.enqueue("k1"); c.enqueue("k2"); c.close(); } });
			for await (const chunk of kept.values({ preventCancel: true })) { out.push(chunk); break; }
			const rest = await kept.getReader().read();
			return out.join("") + "," + n + "," + cancelled + "," + rs.locked + "," + rest.value;`, "abck1,2,true,false,k2"},
		{"ReadableStream.from async generator", `
			async function* gen() { yield new TextEncoder().encode("gen"); yield new TextEncoder().encode("erated"); }
			return await new Response(ReadableStream.from(gen())).text();`, "generated"},
		{"text streams split characters", `
			const bytes = new TextEncoder().encode("h\u00e9\u20ac\u{1F600}");
			const one = new ReadableStream({ start(c) { for (const b of bytes) c.enqueue(new Uint8Array([b])); c.close(); } });
			let text = "";
			for await (const s of one.pipeThrough(new TextDecoderStream())) text += s;
			const halves = new ReadableStream({ start(c) { c.enqueue("a\uD83D"); c.enqueue("\uDE00b"); c.enqueue("\uD83D"); c.close(); } });
			const enc = await new Response(halves.pipeThrough(new TextEncoderStream())).bytes();
			return (text === "h\u00e9\u20ac\u{1F600}") + "," + Array.from(enc).map((b) => b.toString(16)).join(" ");`,
			"true,61 f0 9f 98 80 62 ef bf bd"},
		{"ReadableStream.from", `
			const out = [];
			for await (const v of ReadableStream.from([1, Promise.resolve(2), 3])) out.push(v);
			const it = { i: 0, [Symbol.asyncIterator]() { return { next: async () => this.i < 2 ? { value: this.i++, done: false } : { done: true } }; } };
			for await (const v of ReadableStream.from(it)) out.push("a" + v);
			return out.join(",");`, "1,2,3,a0,a1"},
		{"writable stream", `
			const got = [];
			let closed = false;
			const ws = new WritableStream({ write(c) { got.push(c); }, close() { closed = true; } }, new CountQueuingStrategy({ highWaterMark: 2 }));
			const w = ws.getWriter();
			await w.ready;
			const ds = w.desiredSize;
			await w.write("a"); await w.write("b"); await w.close();
			await w.closed;
			let err = "";
			try { await w.write("c"); } catch (e) { err = e.constructor.name; }
			return [got.join(""), closed, ds, err].join(",");`, "ab,true,2,TypeError"},
		{"pipeTo and abort", `
			const got = [];
			const src = ReadableStream.from(["x", "y"]);
			await src.pipeTo(new WritableStream({ write(c) { got.push(c); } }));
			let aborted;
			const ws = new WritableStream({ abort(r) { aborted = r; } });
			const w = ws.getWriter();
			await w.abort("why");
			let err = "";
			try { await w.closed; } catch (e) { err = e; }
			return got.join("") + "," + aborted + "," + err;`, "xy,why,why"},
		{"transform error reaches both sides", `
			const ts = new TransformStream({ transform() { throw new Error("bad chunk"); } });
			const w = ts.writable.getWriter();
			const wp = w.write("x").catch((e) => "w:" + e.message);
			const rp = ts.readable.getReader().read().catch((e) => "r:" + e.message);
			return (await wp) + "," + (await rp);`, "w:bad chunk,r:bad chunk"},
		{"pipe source error aborts dest", `
			let abortReason;
			const src = new ReadableStream({ start(c) { c.enqueue("a"); c.error(new Error("src failed")); } });
			const dst = new WritableStream({ abort(r) { abortReason = r.message; } });
			try { await src.pipeTo(dst); return "no"; } catch (e) { return e.message + "," + abortReason; }`, "src failed,src failed"},
		{"non-byte stream body", `
			const r = new Response(new ReadableStream({ start(c) { c.enqueue("str"); c.close(); } }));
			try { await r.text(); return "no"; } catch (e) { return e.constructor.name; }`, "TypeError"},
		{"identity and fixed length", `
			const id = new IdentityTransformStream();
			const w = id.writable.getWriter();
			w.write(new TextEncoder().encode("id")); w.close();
			const fl = new FixedLengthStream(2);
			const fw = fl.writable.getWriter();
			const p = fw.write(new Uint8Array(3)).catch((e) => e.constructor.name);
			fl.readable.getReader().read().catch(() => {});
			return (await new Response(id.readable).text()) + "," + (await p);`, "id,TypeError"},
		{"event errors", `
			const out = [];
			try { new Event(); } catch (e) { out.push(e.constructor.name); }
			try { new AbortSignal(); } catch (e) { out.push(e.constructor.name); }
			try { new EventTarget().dispatchEvent({ type: "x" }); } catch (e) { out.push(e.constructor.name); }
			const et = new EventTarget(); let n = 0;
			et.addEventListener("x", () => { throw new Error("listener error"); });
			et.addEventListener("x", () => n++);
			globalThis.reportError = (e) => out.push(e.message);
			try { et.dispatchEvent(new Event("x")); } finally { delete globalThis.reportError; }
			out.push(n);
			return out.join(",");`, "TypeError,TypeError,TypeError,listener error,1"},
		{"queuing strategies", `
			return [new ByteLengthQueuingStrategy({ highWaterMark: 16 }).size(new Uint8Array(5)), new CountQueuingStrategy({ highWaterMark: 1 }).highWaterMark].join(",");`, "5,1"},
		// --- fetch / wire ---
		{"fetch echo", `
			const res = await fetch("https://example.com/api", { method: "POST", body: "payload", headers: { "X-T": "1" } });
			let immut = "";
			try { res.headers.set("a", "b"); } catch (e) { immut = "immutable"; }
			return [res.status, res.url, res.headers.get("x-method"), res.headers.get("x-url"), res.headers.get("x-echo-x-t"), await res.text(), immut].join(",");`,
			"200,https://example.com/api,POST,https://example.com/api,1,payload,immutable"},
		{"fetch with Request and stream body", `
			const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("s1")); c.enqueue(new TextEncoder().encode("s2")); c.close(); } });
			const res = await fetch(new Request("https://example.com/", { method: "PUT", body }));
			return res.headers.get("x-method") + "," + await res.text();`, "PUT,s1s2"},
		{"fetch relative url", `
			try { await fetch("/x"); return "no"; } catch (e) { return e.constructor.name; }`, "TypeError"},
		{"fetch aborted before", `
			const ac = new AbortController(); ac.abort();
			try { await fetch("https://example.com/", { signal: ac.signal }); return "no"; } catch (e) { return e.name; }`, "AbortError"},
		{"fetch aborted while waiting", `
			const orig = __cairn.fetchNative;
			__cairn.fetchNative = () => new Promise(() => {});
			const ac = new AbortController();
			const p = fetch("https://example.com/", { signal: ac.signal });
			ac.abort(new Error("gave up"));
			try { await p; return "no"; } catch (e) { return e.message; } finally { __cairn.fetchNative = orig; }`, "gave up"},
		{"wire round trips", `
			const req = __cairn.requestFromWire({ method: "post", url: "https://h.test/p?q", headers: [["Host", "h.test"], ["Content-Type", "text/plain"]], body: new TextEncoder().encode("in").buffer });
			const rw = await __cairn.requestToWire(req.clone());
			const reqText = await req.text();
			const res = new Response("out", { status: 203, statusText: "Fine", headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]] });
			const w = await __cairn.responseToWire(res);
			const back = __cairn.responseFromWire(w);
			const empty = await __cairn.responseToWire(new Response(null, { status: 204 }));
			let bad = "";
			try { await __cairn.responseToWire("nope"); } catch (e) { bad = e.constructor.name; }
			return [req.method, req.url, req.headers.get("host"), reqText, rw.method, new TextDecoder().decode(rw.body),
				JSON.stringify(rw.headers), w.status, w.statusText, JSON.stringify(w.headers), w.body instanceof ArrayBuffer,
				back.status, JSON.stringify(back.headers.getSetCookie()), await back.text(), String(empty.body), bad].join("|");`,
			`POST|https://h.test/p?q|h.test|in|POST|in|[["host","h.test"],["content-type","text/plain"]]|203|Fine|[["set-cookie","a=1"],["set-cookie","b=2"],["content-type","text/plain;charset=UTF-8"]]|true|203|["a=1","b=2"]|out|null|TypeError`},
		{"wire proxy pattern", `
			const up = __cairn.responseFromWire({ status: 200, statusText: "OK", headers: [["x", "1"]], body: new TextEncoder().encode("proxied").buffer });
			const res = new Response(up.body, up);
			res.headers.set("y", "2");
			const w = await __cairn.responseToWire(res);
			return [new TextDecoder().decode(w.body), JSON.stringify(w.headers), up.body.locked].join("|");`,
			`proxied|[["x","1"],["y","2"]]|true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := preludeRuntime(t)
			if got := preludeEval(t, vm, tc.js); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkPreludeWire measures the hot path: a request from the wire, a
// Response built from a string, and its wire form.
func BenchmarkPreludeWire(b *testing.B) {
	t := &testing.T{}
	vm := preludeRuntime(t)
	_, err := vm.RunString(`
		globalThis.preludeBenchWire = { method: "GET", url: "https://example.com/path?q=1", headers: [["host", "example.com"], ["accept", "*/*"]], body: null };
		globalThis.preludeBench = function () {
			const req = __cairn.requestFromWire(preludeBenchWire);
			const res = new Response("hello " + req.method, { headers: { "x-a": "b" } });
			Promise.resolve(__cairn.responseToWire(res)).then((w) => { globalThis.preludeBenchOut = w; });
		};`)
	if err != nil {
		b.Fatal(err)
	}
	fn, _ := goja.AssertFunction(vm.Get("preludeBench"))
	b.ResetTimer()
	for range b.N {
		if _, err := fn(goja.Undefined()); err != nil {
			b.Fatal(err)
		}
	}
	if vm.Get("preludeBenchOut") == nil {
		b.Fatal("no wire produced")
	}
}
