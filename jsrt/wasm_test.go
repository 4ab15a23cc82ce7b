package jsrt

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// wasmWorker runs a Worker whose fetch handler evaluates the case named by
// the URL's path among cases (JS functions of the module's bytes, calc.wasm
// from testdata/wasm/calc.wat) and answers its result, or "throws: " and the
// error, or "rejects: " and the reason.
func wasmWorker(t *testing.T, cases map[string]string, cfg Config) *Worker {
	t.Helper()
	bin, err := os.ReadFile("testdata/wasm/calc.wasm")
	if err != nil {
		t.Fatal(err)
	}
	nums := make([]string, len(bin))
	for i, b := range bin {
		nums[i] = fmt.Sprint(b)
	}
	var code strings.Builder
	fmt.Fprintf(&code, "const bytes = new Uint8Array([%s]);\nconst cases = {\n", strings.Join(nums, ","))
	for name, src := range cases {
		fmt.Fprintf(&code, "%q: async () => %s,\n", name, src)
	}
	code.WriteString(`};
const logged = [];
const imports = { env: { log: (x) => logged.push(x), twice: (x) => 2 * x } };
const inst = () => new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
exports.default = { async fetch(req) {
  const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
  try {
    return new Response(String(await cases[name]()));
  } catch (e) {
    return new Response("throws: " + (e && e.name) + ": " + (e && e.message));
  }
} };`)
	return newTestWorker(t, code.String(), cfg)
}

// spec: the WebAssembly JS API as workerd (V8) has it; the expected
// messages are cairn's, the classes and values V8's.
func TestWasm(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"validate", `WebAssembly.validate(bytes) + " " + WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 2, 0, 0, 0]))`, "true false"},
		{"validate not bytes", `WebAssembly.validate("x")`, "throws: TypeError: WebAssembly: the argument must be a BufferSource (ArrayBuffer or typed array)"},
		{"compile error", `new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1]))`, "throws: CompileError: WebAssembly.Module(): malformed WebAssembly binary: section 1 overruns the binary"},
		{"compile error class", `(() => { try { new WebAssembly.Module(new Uint8Array(8)) } catch (e) { return (e instanceof WebAssembly.CompileError) + " " + (e instanceof Error) } })()`, "true true"},
		{"exports", `JSON.stringify(WebAssembly.Module.exports(new WebAssembly.Module(bytes)).slice(0, 4))`,
			`[{"name":"memory","kind":"memory"},{"name":"counter","kind":"global"},{"name":"pi","kind":"global"},{"name":"refs","kind":"table"}]`},
		{"imports", `JSON.stringify(WebAssembly.Module.imports(new WebAssembly.Module(bytes)))`,
			`[{"module":"env","name":"log","kind":"function"},{"module":"env","name":"twice","kind":"function"}]`},
		{"add i32", `inst().exports.add(2, 40)`, "42"},
		{"i32 wraps", `inst().exports.add(2147483647, 1) + " " + inst().exports.add(4294967296 + 5, 0.9)`, "-2147483648 5"},
		{"i64 BigInt", `typeof inst().exports.add64(1n, 2n) + " " + inst().exports.add64(9223372036854775807n, 1n)`, "bigint -9223372036854775808"},
		{"i64 needs BigInt", `inst().exports.add64(1, 2)`, "throws: TypeError: Cannot convert 1 to a BigInt"},
		{"f32", `inst().exports.fsqrt(2)`, "1.4142135381698608"},
		{"imported function", `inst().exports.quad(1.5)`, "6"},
		{"imported function side effect and global", `(() => { const e = inst().exports; e.report(5); e.report(6); return logged.join() + " " + e.counter.value })()`, "5,6 9"},
		{"global set", `(() => { const g = inst().exports.counter; g.value = 41; return g.value + " " + JSON.stringify(g.type()) })()`, `41 {"value":"i32","mutable":true}`},
		{"immutable global", `(() => { const g = inst().exports.pi; g.value = 1 })()`, "throws: TypeError: WebAssembly.Global: cannot set the value of an immutable global"},
		{"memory data", `(() => { const e = inst().exports; return new TextDecoder().decode(new Uint8Array(e.memory.buffer, 0, 5)) + " " + e.memory.buffer.byteLength })()`, "hello 65536"},
		{"memory shared both ways", `(() => { const e = inst().exports; new Uint8Array(e.memory.buffer).set([1, 2, 3], 100); return e.sum(100, 3) })()`, "6"},
		{"memory grow detaches", `(() => { const m = inst().exports.memory; const old = m.buffer; const prev = m.grow(2); return prev + " " + m.buffer.byteLength + " " + old.byteLength + " " + (m.buffer === m.buffer) })()`, "1 196608 0 true"},
		{"memory grow past maximum", `inst().exports.memory.grow(20)`, "throws: GoError: WebAssembly.Memory.grow(): cannot grow by 20 pages (maximum reached)"},
		{"instances are separate", `(() => { const a = inst().exports, b = inst().exports; a.counter.value = 1; return a.counter.value + " " + b.counter.value })()`, "1 7"},
		{"trap", `inst().exports.div(1, 0)`, "throws: RuntimeError: integer divide by zero"},
		{"trap class", `(() => { try { inst().exports.div(1, 0) } catch (e) { return e instanceof WebAssembly.RuntimeError } })()`, "true"},
		{"host exception crosses wasm", `new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { log() { throw new RangeError("from js") }, twice: (x) => x } }).exports.report(1)`, "throws: RangeError: from js"},
		{"missing import", `new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { log() {} } })`, `throws: LinkError: WebAssembly.Instance(): Import #1 "env" "twice": function import requires a callable`},
		{"missing import object", `new WebAssembly.Instance(new WebAssembly.Module(bytes))`, "throws: TypeError: WebAssembly.Instance(): Imports argument must be present and must be an object"},
		{"instantiate bytes", `WebAssembly.instantiate(bytes, imports).then((r) => (r.module instanceof WebAssembly.Module) + " " + r.instance.exports.add(1, 2))`, "true 3"},
		{"instantiate module", `WebAssembly.compile(bytes).then((m) => WebAssembly.instantiate(m, imports)).then((i) => (i instanceof WebAssembly.Instance) + " " + i.exports.fib(20))`, "true 6765"},
		{"exports frozen", `(() => { const e = inst().exports; e.x = 1; return Object.isFrozen(e) + " " + e.x + " " + Object.getPrototypeOf(e) })()`, "true undefined null"},
		{"function name and length", `(() => { const f = inst().exports.add; return f.name + " " + f.length })()`, "2 2"},
		{"standalone memory", `(() => { const m = new WebAssembly.Memory({ initial: 1, maximum: 2 }); new Uint8Array(m.buffer)[7] = 9; m.grow(1); return m.buffer.byteLength + " " + new Uint8Array(m.buffer)[7] + " " + (m instanceof WebAssembly.Memory) })()`, "131072 9 true"},
		{"importing a memory", `new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0,97,115,109,1,0,0,0,2,8,1,1,101,1,109,2,0,1])), { e: { m: new WebAssembly.Memory({ initial: 1 }) } }) instanceof WebAssembly.Instance`, "true"},
		{"memory grown by wasm detaches", `(() => { const e = inst().exports; const view = new Uint8Array(e.memory.buffer); const old = e.grow(1); return old + " " + view.byteLength + " " + e.memory.buffer.byteLength })()`, "1 0 131072"},
		{"externref round trip", `(() => { const e = inst().exports; const o = { a: 1 }; e.keep(1, o); return (e.kept(1) === o) + " " + e.kept(0) + " " + (e.refs.get(1) === o) })()`, "true null true"},
		{"externref primitives", `(() => { const e = inst().exports; e.keep(0, undefined); const u = e.kept(0); e.keep(0, "s"); return u + " " + e.kept(0) })()`, "undefined s"},
		{"table from JS", `(() => { const t = inst().exports.refs; const before = t.length; const prev = t.grow(3, "x"); t.set(4, 42); return [before, prev, t.length, t.get(2), t.get(4), t.get(0), Object.prototype.toString.call(t)].join() })()`, "2,2,5,x,42,,[object WebAssembly.Table]"},
		{"table out of bounds", `inst().exports.refs.get(9)`, "throws: RuntimeError: invalid table access"},
		{"toStringTag", `Object.prototype.toString.call(WebAssembly) + Object.prototype.toString.call(new WebAssembly.Module(bytes))`, "[object WebAssembly][object WebAssembly.Module]"},
	}
	cases := make(map[string]string, len(tests))
	for _, tt := range tests {
		cases[tt.name] = tt.src
	}
	w := wasmWorker(t, cases, Config{Runtimes: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := fetchBody(t, w, "http://x/"+strings.ReplaceAll(tt.name, " ", "%20"))
			if err != nil || status != 200 || body != tt.want {
				t.Errorf("%s\n got: %d %q %v\nwant: %q", tt.src, status, body, err, tt.want)
			}
		})
	}
}

// A wasm loop that never ends is stopped at the CPU limit (the instance is
// closed) and the runtime goes on serving.
func TestWasmCPULimit(t *testing.T) {
	w := wasmWorker(t, map[string]string{
		"spin": `inst().exports.spin()`,
		"ok":   `inst().exports.add(1, 1)`,
	}, Config{Runtimes: 1, CPULimit: 200 * time.Millisecond})
	start := time.Now()
	_, body, err := fetchBody(t, w, "http://x/spin")
	if err == nil && !strings.Contains(body, "CPU") {
		t.Errorf("spin = %q, want an error naming the CPU limit", body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("spin stopped after %s", d)
	}
	if _, body, err := fetchBody(t, w, "http://x/ok"); err != nil || body != "2" {
		t.Errorf("after spin: %q %v, want 2", body, err)
	}
}

// One compile per Worker: every runtime instantiates the cached module
// (calc.wasm, and the accessor module of its exported table).
func TestWasmCompileCache(t *testing.T) {
	w := wasmWorker(t, map[string]string{"n": `inst().exports.add(1, 2)`}, Config{Runtimes: 3})
	for range 6 {
		if _, body, err := fetchBody(t, w, "http://x/n"); err != nil || body != "3" {
			t.Fatalf("fetch = %q %v", body, err)
		}
	}
	w.wasm.mu.Lock()
	n := len(w.wasm.mods)
	w.wasm.mu.Unlock()
	if n != 2 {
		t.Errorf("%d compiled modules cached after 6 requests on 3 runtimes, want 2", n)
	}
}
