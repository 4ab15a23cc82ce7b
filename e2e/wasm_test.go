package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A .wasm import (wrangler's CompiledWasm rule) is a WebAssembly.Module
// that the Worker instantiates with JS imports, through the real binary:
// calls in both directions, BigInt i64, exported memory shared with JS, a
// trap as a WebAssembly.RuntimeError, WebAssembly.instantiate.
func TestWasmImport(t *testing.T) {
	bin, err := os.ReadFile("../jsrt/testdata/wasm/calc.wasm") // from calc.wat
	if err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{ "name": "wasm", "main": "src/index.js", "compatibility_date": "2025-09-01" }`,
		"src/calc.wasm":  string(bin),
		"src/index.js": `import calc from "./calc.wasm";
const seen = [];
const instance = new WebAssembly.Instance(calc, { env: { log: (x) => seen.push(x), twice: (x) => 2 * x } });
const e = instance.exports;
export default {
  async fetch(req) {
    const path = new URL(req.url).pathname;
    switch (path) {
    case "/module": return new Response((calc instanceof WebAssembly.Module) + " " + WebAssembly.Module.exports(calc).map((d) => d.name + ":" + d.kind).join(","));
    case "/calls": e.report(3); return new Response([e.add(40, 2), e.add64(1n << 40n, 1n), e.quad(1.25), e.fib(25), seen.join("/"), e.counter.value].join(" "));
    case "/memory": {
      new Uint8Array(e.memory.buffer).set(new TextEncoder().encode("abc"), 1000);
      return new Response(new TextDecoder().decode(new Uint8Array(e.memory.buffer, 0, 5)) + " " + e.sum(1000, 3));
    }
    case "/trap": try { e.div(1, 0); } catch (err) { return new Response(err.name + " " + (err instanceof WebAssembly.RuntimeError) + " " + err.message); }
    case "/instantiate": {
      const { instance } = await WebAssembly.instantiate(new Uint8Array(await (await fetch(new URL("/bytes", req.url))).arrayBuffer()), { env: { log() {}, twice: (x) => x } });
      return new Response(String(instance.exports.quad(5)));
    }
    }
    return new Response("no such path", { status: 404 });
  },
};`,
	})
	d := startDev(t, dir, t.TempDir())
	for _, tc := range []struct{ path, want string }{
		{"/module", "true memory:memory,counter:global,pi:global,refs:table,add:function,add64:function,fsqrt:function,quad:function,report:function,sum:function,div:function,spin:function,fib:function,grow:function,keep:function,kept:function"},
		{"/calls", "42 1099511627777 5 75025 3 8"},
		{"/memory", "hello 294"},
		{"/trap", "RuntimeError true integer divide by zero"},
	} {
		if status, got := d.Get(tc.path); status != 200 || got != tc.want {
			t.Errorf("GET %s = %d %q, want %q\n%s", tc.path, status, got, tc.want, d.Logs)
		}
	}
}

// @cf-wasm/png: a Rust PNG codec compiled with wasm-bindgen, whose workerd
// entry imports its .wasm as a CompiledWasm module and instantiates it with
// initSync, as on Cloudflare. The PNG must be the very bytes Node makes with
// the same package (its node entry): 188 bytes, SHA-256 ec0b43bd… for the
// 16×16 gradient, 1991 bytes 30096da2… for 256×256, and decode back to the
// pixels encoded. examples/wasm-png's pinned packages are installed by npm ci.
func TestWasmBindgenPNG(t *testing.T) {
	dir := installExample(t, "wasm-png")
	d := startDev(t, dir, t.TempDir())
	for _, tc := range []struct {
		size  string
		bytes int
		sha   string
		wh    int
	}{
		{"16", 188, "ec0b43bdf38fe6ec897f4ee428401b4255a3304c478e5b1b074452b9fa65f3ea", 16},
		{"256", 1991, "30096da22d4dc39c33a566102443c033e36911dced26bec368702b42420f5a9d", 256},
	} {
		status, body := d.Get("/?size=" + tc.size)
		var got struct {
			Bytes         int
			SHA256        string
			Width, Height int
			RoundTrip     bool
		}
		if status != 200 || json.Unmarshal([]byte(body), &got) != nil {
			t.Fatalf("GET /?size=%s = %d %s\n%s", tc.size, status, body, d.Logs)
		}
		if got.Bytes != tc.bytes || got.SHA256 != tc.sha || got.Width != tc.wh || got.Height != tc.wh || !got.RoundTrip {
			t.Errorf("size %s: got %+v, want %d bytes sha256 %s %dx%d round trip", tc.size, got, tc.bytes, tc.sha, tc.wh, tc.wh)
		}
	}
	if status, body := d.Get("/png?size=4"); status != 200 || !strings.HasPrefix(body, "\x89PNG\r\n\x1a\n") {
		t.Errorf("GET /png = %d %q, want a PNG", status, body)
	}
}

// A module that imports its memory, table and globals (as Emscripten
// builds import env.memory and env.__indirect_function_table), imported as
// a CompiledWasm module and linked with a Memory, Table and Globals made
// in JS, through the real binary: two instances share the memory, JS
// and wasm see each other's writes and growth, calls go through the table
// (filled by the module, and by JS with another instance's export), and a
// mutable global is shared.
func TestWasmImportedMemory(t *testing.T) {
	bin, err := os.ReadFile("../jsrt/testdata/wasm/imports.wasm") // from imports.wat
	if err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc":   `{ "name": "wasm-imports", "main": "src/index.js", "compatibility_date": "2025-09-01" }`,
		"src/imports.wasm": string(bin),
		"src/index.js": `import mod from "./imports.wasm";
const memory = new WebAssembly.Memory({ initial: 1, maximum: 8 });
const table = new WebAssembly.Table({ initial: 2, element: "anyfunc" });
const g = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
const env = { memory, table, g, c: 1.5, big: 2n, log() {} };
const a = new WebAssembly.Instance(mod, { env }).exports;
const b = new WebAssembly.Instance(mod, { env }).exports;
export default {
  async fetch(req) {
    switch (new URL(req.url).pathname) {
    case "/share": {
      a.store(1000, 42);
      new Uint8Array(memory.buffer)[1001] = 43;
      return new Response([b.load(1000), a.load(1001), new TextDecoder().decode(new Uint8Array(memory.buffer, 16, 8))].join(" "));
    }
    case "/grow": {
      const view = new Uint8Array(memory.buffer);
      const before = a.size();
      b.grow(1);
      return new Response([before, a.size(), view.byteLength, memory.buffer.byteLength].join(" "));
    }
    case "/table": {
      const direct = [a.apply(0, 6, 7), a.apply(1, 6, 7), table.get(1)(2, 3)];
      table.set(0, b.mul);
      return new Response(direct.concat(a.apply(0, 6, 7), table.get(0) === b.mul).join(" "));
    }
    case "/global": {
      a.bump();
      b.bump();
      return new Response(g.value + " " + a.c() + " " + a.big());
    }
    }
    return new Response("no such path", { status: 404 });
  },
};`,
	})
	d := startDev(t, dir, t.TempDir())
	for _, tc := range []struct{ path, want string }{
		{"/share", "42 43 imported"},
		{"/grow", "1 2 0 131072"},
		{"/table", "13 42 6 42 true"},
		{"/global", "2 1.5 2"},
	} {
		if status, got := d.Get(tc.path); status != 200 || got != tc.want {
			t.Errorf("GET %s = %d %q, want %q\n%s", tc.path, status, got, tc.want, d.Logs)
		}
	}
}
