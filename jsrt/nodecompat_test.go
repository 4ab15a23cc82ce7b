package jsrt

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// nodeEval runs body (the inside of an async function returning a string)
// as a Worker's fetch handler and returns the response text, or the error.
func nodeEval(t *testing.T, body string, cfg Config) string {
	t.Helper()
	cfg.Runtimes = 1
	cfg.Code = `exports.default = { async fetch() { try { return new Response(String(await (async () => {` + body + `})()));
} catch (e) { return new Response("threw " + (e && e.message)); } } }`
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := New(cfg)
	if err != nil {
		return "load: " + err.Error()
	}
	defer w.Close()
	_, got, err := fetchBody(t, w, "http://x/")
	if err != nil {
		return "fetch: " + err.Error()
	}
	return got
}

// Every module Cloudflare provides under nodejs_compat loads, as "x" and
// "node:x", as one instance with exports.
func TestNodeModulesLoad(t *testing.T) {
	for name, src := range nodeModules {
		if src == nodeUnprovided {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got := nodeEval(t, `const a = require("`+name+`"), b = require("node:`+name+`");
				return String(a === b) + "," + (Object.keys(a).length > 0 || typeof a === "function");`, Config{NodeCompat: true})
			if got != "true,true" {
				t.Errorf("got %q, want true,true", got)
			}
		})
	}
}

// The behaviour code relies on, module by module.
func TestNodeModules(t *testing.T) {
	compat := Config{NodeCompat: true, Vars: map[string]any{"GREETING": "hi", "LIMITS": map[string]any{"n": 1}}}
	tests := []struct {
		name, body, want string
		cfg              Config
	}{
		{"diagnostics_channel", `const dc = require("node:diagnostics_channel"); const got = [];
			const ch = dc.channel("cairn:test"); const sub = (m, name) => got.push(name + ":" + m.n);
			dc.subscribe("cairn:test", sub); const had = ch.hasSubscribers; ch.publish({ n: 1 });
			dc.unsubscribe("cairn:test", sub); ch.publish({ n: 2 }); return had + " " + got.join();`, "true cairn:test:1", compat},
		{"process.env has text vars (spec: populate_process_env)", `return process.env.GREETING + "," + ("LIMITS" in process.env) + "," + require("node:process").env.GREETING;`, "hi,false,hi", compat},
		{"process.env empty before 2025-04-01", `return String(Object.keys(process.env).length) + typeof process.env.GREETING;`, "0undefined",
			Config{NodeCompat: true, CompatibilityDate: "2025-03-31", Vars: compat.Vars}},
		{"process.env from 2025-04-01", `return process.env.GREETING;`, "hi", Config{NodeCompat: true, CompatibilityDate: "2025-04-01", Vars: compat.Vars}},
		{"process.env before 2025-04-01 with nodejs_compat_populate_process_env", `return process.env.GREETING;`, "hi",
			Config{NodeCompat: true, CompatibilityDate: "2024-09-23", CompatibilityFlags: []string{"nodejs_compat_populate_process_env"}, Vars: compat.Vars}},
		{"process.env with nodejs_compat_do_not_populate_process_env", `return typeof process.env.GREETING;`, "undefined",
			Config{NodeCompat: true, CompatibilityDate: "2026-01-01", CompatibilityFlags: []string{"nodejs_compat_do_not_populate_process_env"}, Vars: compat.Vars}},
		{"process global is node:process", `return String(globalThis.process === require("process")) + typeof process.nextTick;`, "truefunction", compat},
		{"process.nextTick", `const order = []; await new Promise((r) => { process.nextTick(() => { order.push("tick"); r(); }); order.push("sync"); }); return order.join();`, "sync,tick", compat},
		{"named import of process methods", `const { nextTick } = require("node:process"); return await new Promise((r) => nextTick(r, "ok"));`, "ok", compat},
		{"stream pipeline", `const { Readable, Writable, pipeline } = require("node:stream"); const out = [];
			await new Promise((res, rej) => pipeline(Readable.from(["a", "b", "c"]), new Writable({ write(c, e, cb) { out.push(String(c)); cb(); } }), (err) => err ? rej(err) : res()));
			return out.join("");`, "abc", compat},
		{"stream/promises", `const { pipeline } = require("node:stream/promises"); const { Readable, PassThrough } = require("node:stream");
			const p = new PassThrough(); let s = ""; p.on("data", (c) => { s += c; }); await pipeline(Readable.from(["x", "y"]), p); return s;`, "xy", compat},
		{"string_decoder", `const { StringDecoder } = require("node:string_decoder"); const d = new StringDecoder("utf8");
			const b = Buffer.from("é"); return d.write(b.subarray(0, 1)) + d.write(b.subarray(1)) + d.end();`, "é", compat},
		{"events is one module", `const { EventEmitter } = require("node:events"); return String(new (require("node:stream").Readable)() instanceof EventEmitter);`, "true", compat},
		{"os", `const os = require("node:os"); return typeof os.platform() + os.EOL.length;`, "string1", compat},
		{"querystring", `const qs = require("node:querystring"); return qs.stringify({ a: [1, 2], b: "x y" }) + "|" + qs.parse("a=1&a=2").a.join();`, "a=1&a=2&b=x%20y|1,2", compat},
		{"punycode", `return require("node:punycode").toASCII("mañana.com");`, "xn--maana-pta.com", compat},
		{"timers/promises", `const { setTimeout: sleep } = require("node:timers/promises"); return await sleep(1, "woke");`, "woke", compat},
		{"assert", `const assert = require("node:assert"); try { assert.strictEqual(1, 2); } catch (e) { return e.name + " " + e.code; }`, "AssertionError ERR_ASSERTION", compat},
		{"util/types", `const t = require("node:util/types"); return String(t.isPromise(Promise.resolve()) && t.isDate(new Date()));`, "true", compat},
		{"ESM default import interop", `const m = require("node:os"); return String(m.__esModule === true && typeof m.default.platform);`, "function", compat},
		{"before 2025-09-01, fs functions throw naming themselves", `try { require("node:fs").readFileSync("/x"); } catch (e) { return /fs\.readFileSync/.test(e.message); }`, "true", Config{NodeCompat: true, CompatibilityDate: "2025-08-31"}},
		{"without nodejs_compat", `require("node:os")`, `threw No such module "node:os": Node.js modules other than async_hooks, buffer, crypto, events, path, url, util and zlib need the "nodejs_compat" compatibility flag (add it to compatibility_flags in the wrangler config)`, Config{}},
		{"without nodejs_compat, no process global", `return typeof process;`, "undefined", Config{}},
		{"unprovided", `require("node:sqlite")`, `threw No such module "node:sqlite": Cloudflare Workers do not provide it`, compat},
		{"zlib streams are node:stream Transforms", `const zlib = require("node:zlib"); return String(zlib.createGzip() instanceof require("node:stream").Transform);`, "true", compat},
		{"modules cannot reach cairn:node", `try { require("cairn:node"); return "reachable"; } catch (e) { return /No such module/.test(e.message); }`, "true", compat},
		{"unknown", `require("leftpad")`, `threw No such module "leftpad" (imported by the Worker)`, compat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodeEval(t, tt.body, tt.cfg)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// node:buffer's statics and methods added to goja_nodejs's Buffer.
func TestBufferExtras(t *testing.T) {
	tests := []struct{ body, want string }{
		{`return Buffer.byteLength("héllo") + "," + Buffer.isBuffer(Buffer.from("a")) + "," + Buffer.isBuffer(new Uint8Array(1));`, "6,true,false"},
		{`const a = Buffer.from("hello"), b = Buffer.alloc(3); const n = a.copy(b, 1, 3); return n + ":" + b.toString("hex");`, "2:006c6f"},
		{`const a = Buffer.from("hello"); const s = a.slice(1, 3); s[0] = 69; return a.toString() + s.length;`, "hEllo2"},
		{`const a = Buffer.from("a,b,,c"); return [a.indexOf(","), a.lastIndexOf(","), a.indexOf(",,"), a.includes("c"), a.indexOf("x"), a.indexOf(44, 2)].join();`, "1,4,3,true,-1,3"},
		{`return Buffer.compare(Buffer.from("a"), Buffer.from("b")) + "," + JSON.stringify(Buffer.from("hi"));`, `-1,{"type":"Buffer","data":[104,105]}`},
		{`return Buffer.alloc(5).fill("ab").toString() + Buffer.allocUnsafe(2).length + Buffer.isEncoding("UTF-8");`, "ababa2true"},
		{`const b = require("buffer"); return [b.constants.MAX_STRING_LENGTH > 1e8, b.kMaxLength === b.constants.MAX_LENGTH, Buffer.poolSize].join();`, "true,true,8192"},
	}
	for _, tt := range tests {
		if got := nodeEval(t, tt.body, Config{NodeCompat: true}); got != tt.want {
			t.Errorf("%s\ngot %q, want %q", tt.body, got, tt.want)
		}
	}
}

// The cloudflare:* modules and the Cloudflare global.
func TestCloudflareModules(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"workers exports", `const m = require("cloudflare:workers"); return ["DurableObject", "WorkerEntrypoint", "WorkflowEntrypoint", "RpcTarget", "waitUntil"].map((k) => typeof m[k]).join() + "," + m.env.WHO;`,
			"function,function,function,function,function,you"},
		{"waitUntil", `const { waitUntil } = require("cloudflare:workers"); let done = false; waitUntil(new Promise((r) => setTimeout(() => { done = true; r(); }, 1))); await new Promise((r) => setTimeout(r, 5)); return done;`, "true"},
		{"WorkflowEntrypoint subclass", `const { WorkflowEntrypoint } = require("cloudflare:workers"); class W extends WorkflowEntrypoint { run() { return this.env.WHO; } } return new W({}, { WHO: "wf" }).run();`, "wf"},
		{"email", `const { EmailMessage } = require("cloudflare:email"); const m = new EmailMessage("a@x.dev", "b@y.dev", "Subject: hi\r\n\r\nbody"); return m.from + ">" + m.to + ":" + m.raw.length;`, "a@x.dev>b@y.dev:19"},
		{"sockets connect checks the address", `try { require("cloudflare:sockets").connect("db"); } catch (e) { return e.message; }`, "Specified address is missing port."},
		{"Cloudflare.compatibilityFlags", `return [Cloudflare.compatibilityFlags.nodejs_compat, Cloudflare.compatibilityFlags.some_flag, Cloudflare.compatibilityFlags.other, Object.isFrozen(Cloudflare.compatibilityFlags)].join();`, "true,true,,true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodeEval(t, tt.body, Config{NodeCompat: true, CompatibilityFlags: []string{"some_flag"}, Vars: map[string]any{"WHO": "you"}})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// WebSocket's ready-state constants, standard and workerd's READY_STATE_*
// (partyserver filters its connections by WebSocket.READY_STATE_OPEN).
func TestWebSocketConstants(t *testing.T) {
	got := nodeEval(t, `const p = new WebSocketPair(); return [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED,
		WebSocket.READY_STATE_CONNECTING, WebSocket.READY_STATE_OPEN, WebSocket.READY_STATE_CLOSING, WebSocket.READY_STATE_CLOSED,
		p[0].READY_STATE_OPEN, p[1].CLOSED].join();`, Config{})
	if want := "0,1,2,3,0,1,2,3,1,3"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// EventEmitter's once goes through the emitter's own on, as Node's does:
// a Readable starts flowing when a once("data") listener is added.
func TestEventsOnceUsesOn(t *testing.T) {
	got := nodeEval(t, `const EventEmitter = require("events");
		const { Readable } = require("stream");
		class E extends EventEmitter { on(n, l) { this.seen = (this.seen || "") + n; return super.on(n, l); } }
		const e = new E();
		let calls = 0;
		const f = () => calls++;
		e.once("x", f);
		e.emit("x"); e.emit("x");
		e.once("y", f);
		e.removeListener("y", f);
		e.emit("y");
		const r = Readable.from(["a", "b"]);
		const first = await new Promise((res) => r.once("data", (d) => res(String(d))));
		return [e.seen, calls, e.listenerCount("y"), first].join(" ");`, Config{NodeCompat: true})
	if want := "xy 1 0 a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// node:zlib's brotli, against data Node compressed (Node v22:
// zlib.brotliCompressSync("hello brotli ".repeat(20))) and Node's errors.
func TestNodeZlibBrotli(t *testing.T) {
	const fromNode = "GwMB+B2pU5+7cC1WhiYnQdjoki3tLQaMBo5lxi8="
	tests := []struct{ name, body, want string }{
		{"decompresses Node's output", `return require("zlib").brotliDecompressSync(Buffer.from("` + fromNode + `", "base64")).toString() === "hello brotli ".repeat(20);`, "true"},
		{"round trip at each quality", `const z = require("zlib"); const s = "abc".repeat(1000); const out = [];
			for (const q of [0, 5, 11]) { const c = z.brotliCompressSync(s, { params: { [z.constants.BROTLI_PARAM_QUALITY]: q } }); out.push(c.length < 100 && z.brotliDecompressSync(c).toString() === s); }
			return out.join();`, "true,true,true"},
		{"callback form", `const z = require("zlib"); return await new Promise((res, rej) => z.brotliCompress("hi", (e, c) => e ? rej(e) : z.brotliDecompress(c, (e2, d) => e2 ? rej(e2) : res(d.toString()))));`, "hi"},
		{"streams", `const z = require("zlib"); const { pipeline } = require("node:stream/promises"); const { Readable, Writable } = require("node:stream");
			const chunks = []; await pipeline(Readable.from(["one ", "two ", "three"]), z.createBrotliCompress(), z.createBrotliDecompress(), new Writable({ write(c, e, cb) { chunks.push(c); cb(); } }));
			return Buffer.concat(chunks).toString() + "," + (z.createBrotliCompress() instanceof z.BrotliCompress);`, "one two three,true"},
		{"corrupt input as Node reports it", `try { require("zlib").brotliDecompressSync(Buffer.from("garbage data here")); } catch (e) { return [e.code, e.errno, e.message].join(); }`, "ERR__ERROR_FORMAT_PADDING_1,-14,Decompression failed"},
		{"truncated input", `const z = require("zlib"); try { z.brotliDecompressSync(Buffer.from("` + fromNode + `", "base64").subarray(0, 10)); } catch (e) { return [e.code, e.errno, e.message].join(); }`, "Z_BUF_ERROR,-5,unexpected end of file"},
		{"quality out of range", `const z = require("zlib"); try { z.brotliCompressSync("x", { params: { [z.constants.BROTLI_PARAM_QUALITY]: 12 } }); } catch (e) { return e.code + " " + (e instanceof RangeError); }`, "ERR_OUT_OF_RANGE true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeEval(t, tt.body, Config{NodeCompat: true}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// node:url: URL.origin keeps a non-default port (goja_nodejs dropped it),
// and the legacy API older npm packages call.
func TestNodeURL(t *testing.T) {
	tests := []struct{ body, want string }{
		{`return [new URL("http://a.test:8080/x").origin, new URL("https://a.test:443/").origin, new URL("wss://b.test:9/").origin, new URL("data:text/plain,x").origin, new URL("blob:https://c.test:1/u").origin].join();`,
			"http://a.test:8080,https://a.test,wss://b.test:9,null,https://c.test:1"},
		{`const u = require("url").parse("HTTP://user:pw@Example.com:81/p/a?x=1&x=2&y#h", true);
			return [u.protocol, u.slashes, u.auth, u.host, u.port, u.hostname, u.pathname, u.search, JSON.stringify(u.query), u.hash, u.path, u.href].join("|");`,
			`http:|true|user:pw|example.com:81|81|example.com|/p/a|?x=1&x=2&y|{"x":["1","2"],"y":""}|#h|/p/a?x=1&x=2&y|http://user:pw@example.com:81/p/a?x=1&x=2&y#h`},
		{`const url = require("node:url"); const u = url.parse("/only/path?q=1"); return [u.protocol, u.host, u.pathname, u.query, u.path, url.parse("http://a.test").pathname].join("|");`,
			"||/only/path|q=1|/only/path?q=1|/"},
		{`const url = require("url"); return [url.format({ protocol: "https", hostname: "x.test", port: 8443, pathname: "/a", query: { b: [1, 2], c: "d e" } }), url.format(new URL("http://u:p@h.test/#f"), { auth: false, fragment: false })].join(" ");`,
			"https://x.test:8443/a?b=1&b=2&c=d+e http://h.test/"},
		{`const url = require("url"); return [url.resolve("http://a.test/b/c", "../d"), url.resolve("/one/two", "three"), url.resolve("http://a.test/", "https://b.test/x")].join(" ");`,
			"http://a.test/d /one/three https://b.test/x"},
		{`const url = require("url"); return url.fileURLToPath("file:///tmp/a%20b") + "," + url.pathToFileURL("/tmp/a b").href;`, "/tmp/a b,file:///tmp/a%20b"},
		{`return String(require("url").URL === URL);`, "true"},
		{`const b = "http://h.test/a/b?q#f"; return ["c", "./c", "../c", "/c", "//o.test/c", "?x", "#y", "", "c?d#e", "../../../c", "https://z.test/"].map((r) => new URL(r, b).href).join(" ");`,
			"http://h.test/a/c http://h.test/a/c http://h.test/c http://h.test/c http://o.test/c http://h.test/a/b?x http://h.test/a/b?q#y http://h.test/a/b?q http://h.test/a/c?d#e http://h.test/c https://z.test/"},
	}
	for _, tt := range tests {
		if got := nodeEval(t, tt.body, Config{}); got != tt.want {
			t.Errorf("%s\ngot  %q\nwant %q", tt.body, got, tt.want)
		}
	}
}

// node:assert's deep equality as Node's (each want is what Node 22 does
// with the same call), the assert function itself as the module, and
// assert/strict as assert.strict.
func TestNodeAssertDeep(t *testing.T) {
	tests := []struct{ call, want string }{
		{`a.deepStrictEqual(new Map([[1, 2]]), new Map([[1, 3]]))`, "throw"},
		{`a.deepStrictEqual(new Set([1]), new Set([2]))`, "throw"},
		{`a.deepStrictEqual(new Uint8Array([1]), new Uint8Array([2]))`, "throw"},
		{`a.deepStrictEqual(new Date(1), new Date(2))`, "throw"},
		{`a.deepStrictEqual(/a/g, /a/i)`, "throw"},
		{`a.deepStrictEqual(Object.create(null), {})`, "throw"},
		{`a.deepStrictEqual([1], { 0: 1, length: 1 })`, "throw"},
		{`a.deepStrictEqual(new Map([[1, { a: 1 }]]), new Map([[1, { a: 1 }]]))`, "pass"},
		{`a.deepEqual(1, "1")`, "pass"},
		{`a.deepStrictEqual(1, "1")`, "throw"},
		{`a.deepStrictEqual(NaN, NaN)`, "pass"},
		{`a.deepStrictEqual(-0, 0)`, "throw"},
		{`a.notDeepStrictEqual(new Set([1]), new Set([2]))`, "pass"},
		{`a.deepStrictEqual(Buffer.from("a"), Buffer.from("b"))`, "throw"},
		{`a.deepStrictEqual(new Set([{ a: 1 }]), new Set([{ a: 1 }]))`, "pass"},
		{`a.deepStrictEqual(new Error("x"), new Error("y"))`, "throw"},
		{`a.deepStrictEqual([1, , 3], [1, undefined, 3])`, "throw"},
		{`a.deepStrictEqual(new Number(1), new Number(2))`, "throw"},
		{`const x = { n: 1 }; x.self = x; const y = { n: 1 }; y.self = y; a.deepStrictEqual(x, y)`, "pass"},
		{`a.deepEqual(new Number(1), 1)`, "throw"},
		{`a.deepStrictEqual(new Map([[{ k: 1 }, "v"]]), new Map([[{ k: 1 }, "v"]]))`, "pass"},
		{`a.strict.deepEqual({ a: 1 }, { a: "1" })`, "throw"},
		{`a.deepEqual({ a: 1 }, { a: "1" })`, "pass"},
		{`a(true); a.ok(1); require("node:assert/strict").equal(1, 1)`, "pass"},
		{`a(false)`, "throw"},
		{`require("assert/strict").equal(1, "1")`, "throw"},
		{`if (require("util").isDeepStrictEqual(new Set([1]), new Set([2]))) throw new Error("equal")`, "pass"},
	}
	for _, tt := range tests {
		got := nodeEval(t, `const a = require("assert"); try { `+tt.call+`; return "pass"; } catch (e) { return e.name === "AssertionError" || e.message === "equal" ? "throw" : "error: " + e.message; }`, Config{NodeCompat: true})
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.call, got, tt.want)
		}
	}
	got := nodeEval(t, `const a = require("assert"); try { a.deepStrictEqual({ a: [1] }, { a: [2] }); } catch (e) {
		return [e.code, e.operator, e.generatedMessage, e.message.split("\n")[0], typeof a, require("assert/strict") === a.strict].join("|"); }`, Config{NodeCompat: true})
	if want := "ERR_ASSERTION|deepStrictEqual|true|Expected values to be strictly deep-equal:|function|true"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
}
