package jsrt

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

// wasmImportsWorker runs a Worker whose fetch handler evaluates the case
// named by the URL's path, with calc (calc.wasm's bytes) and imp
// (imports.wasm's: a module importing env.memory, env.table, env.g, env.c,
// env.big and env.log) and env(), which makes a fresh import object.
func wasmImportsWorker(t *testing.T, cases map[string]string) *Worker {
	t.Helper()
	var code strings.Builder
	for _, f := range []struct{ name, file string }{{"calc", "calc.wasm"}, {"imp", "imports.wasm"}} {
		bin, err := os.ReadFile("testdata/wasm/" + f.file)
		if err != nil {
			t.Fatal(err)
		}
		nums := make([]string, len(bin))
		for i, b := range bin {
			nums[i] = fmt.Sprint(b)
		}
		fmt.Fprintf(&code, "const %s = new Uint8Array([%s]);\n", f.name, strings.Join(nums, ","))
	}
	code.WriteString(`const logged = [];
const env = (over) => ({
  memory: new WebAssembly.Memory({ initial: 1, maximum: 4 }),
  table: new WebAssembly.Table({ initial: 2, element: "anyfunc" }),
  g: new WebAssembly.Global({ value: "i32", mutable: true }, 40),
  c: 2.5,
  big: 7n,
  log: (x) => logged.push(x),
  ...over,
});
const instance = (e) => new WebAssembly.Instance(new WebAssembly.Module(imp), { env: e });
const cases = {
`)
	for name, src := range cases {
		fmt.Fprintf(&code, "%q: async () => %s,\n", name, src)
	}
	code.WriteString(`};
exports.default = { async fetch(req) {
  const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
  try {
    return new Response(String(await cases[name]()));
  } catch (e) {
    return new Response("throws: " + (e && e.name) + ": " + (e && e.message));
  }
} };`)
	return newTestWorker(t, code.String(), Config{Runtimes: 1})
}

// spec: the WebAssembly JS API (as V8 in workerd): memories, tables and
// globals made in JS and imported by instances, shared with JS both ways.
func TestWasmImportedMemoryTableGlobal(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"data lands in the imported memory", `(() => { const e = env(); instance(e); return new TextDecoder().decode(new Uint8Array(e.memory.buffer, 16, 8)) })()`, "imported"},
		{"js writes, wasm reads", `(() => { const e = env(); const x = instance(e).exports; new Uint8Array(e.memory.buffer)[100] = 77; return x.load(100) })()`, "77"},
		{"wasm writes, js reads", `(() => { const e = env(); const x = instance(e).exports; const view = new Uint8Array(e.memory.buffer); x.store(200, 99); return view[200] })()`, "99"},
		{"two instances share one memory", `(() => { const e = env(); const a = instance(e).exports, b = instance(e).exports; a.store(300, 5); return b.load(300) })()`, "5"},
		{"memory exported again is the same object", `(() => { const e = env(); return instance(e).exports.memory === e.memory })()`, "true"},
		{"wasm grows the imported memory: old buffer detached", `(() => { const e = env(); const x = instance(e).exports; const old = e.memory.buffer; new Uint8Array(old)[5] = 1; const prev = x.grow(1); return [prev, old.byteLength, e.memory.buffer.byteLength, x.size(), new Uint8Array(e.memory.buffer)[5]].join() })()`, "1,0,131072,2,1"},
		{"js grows the imported memory, wasm sees it", `(() => { const e = env(); const x = instance(e).exports; e.memory.grow(2); x.store(3 * 65536 - 1, 8); return x.size() + " " + new Uint8Array(e.memory.buffer)[3 * 65536 - 1] })()`, "3 8"},
		{"Emscripten-sized memory (16 MiB, maximum 2 GiB)", `(() => { const m = new WebAssembly.Memory({ initial: 256, maximum: 32768 }); const x = instance(env({ memory: m })).exports; return m.buffer.byteLength + " " + x.grow(10) + " " + m.buffer.byteLength })()`, "16777216 256 17432576"},
		{"grow past the imported memory's maximum", `(() => { const e = env(); return instance(e).exports.grow(4) })()`, "-1"},
		{"memory too small", `instance(env({ memory: new WebAssembly.Memory({ initial: 0 }) }))`, "throws: LinkError: WebAssembly.Instance(): import memory[env.memory]: minimum size mismatch: 1 > 0"},
		{"memory import not a Memory", `instance(env({ memory: new ArrayBuffer(65536) }))`, `throws: LinkError: WebAssembly.Instance(): Import #0 "env" "memory": memory import must be a WebAssembly.Memory object`},
		{"exported memory of one instance imported by another", `(() => { const c = new WebAssembly.Instance(new WebAssembly.Module(calc), { env: { log() {}, twice: (x) => x } }).exports; const x = instance(env({ memory: c.memory })).exports; return new TextDecoder().decode(new Uint8Array(c.memory.buffer, 16, 8)) + " " + x.load(0) })()`, "imported 104"},
		{"mutable global shared", `(() => { const e = env(); const x = instance(e).exports; const a = x.bump(); e.g.value = 100; const b = x.bump(); return [a, b, e.g.value, x.g.value, logged.slice(-2)].join() })()`, "41,101,101,101,41,101"},
		{"immutable global from a number", `instance(env()).exports.c()`, "2.5"},
		{"immutable i64 global from a BigInt", `instance(env()).exports.big() + 1n`, "8"},
		{"immutable global from an immutable Global", `instance(env({ c: new WebAssembly.Global({ value: "f64" }, 0.125) })).exports.c()`, "0.125"},
		{"i64 global from a number", `instance(env({ big: 7 }))`, `throws: LinkError: WebAssembly.Instance(): Import #4 "env" "big": TypeError: Cannot convert 7 to a BigInt`},
		{"mutable global from a number", `instance(env({ g: 1 }))`, `throws: LinkError: WebAssembly.Instance(): Import #2 "env" "g": imported mutable global must be a WebAssembly.Global object`},
		{"global mutability mismatch", `instance(env({ g: new WebAssembly.Global({ value: "i32" }, 1) }))`, `throws: LinkError: WebAssembly.Instance(): Import #2 "env" "g": imported global does not match the expected mutability`},
		{"global type mismatch", `instance(env({ g: new WebAssembly.Global({ value: "i64", mutable: true }, 1n) }))`, `throws: LinkError: WebAssembly.Instance(): Import #2 "env" "g": imported global does not match the expected type`},
		{"JS globals", `(() => { const a = new WebAssembly.Global({ value: "i64", mutable: true }, 5n); a.value = a.value * 3n; const b = new WebAssembly.Global({ value: "f32" }, 1.1); const c = new WebAssembly.Global({ value: "i32" }); return [a.value, b.value, c.value, JSON.stringify(b.type()), b instanceof WebAssembly.Global].join() })()`, `15,1.100000023841858,0,{"value":"f32","mutable":false},true`},
		{"JS global bad type", `new WebAssembly.Global({ value: "i8" }, 1)`, "throws: TypeError: WebAssembly.Global(): Descriptor property 'value' must be a WebAssembly type"},
		{"externref global", `(() => { const o = {}; const g = new WebAssembly.Global({ value: "externref", mutable: true }, o); const u = new WebAssembly.Global({ value: "externref", mutable: true }); return (g.value === o) + " " + u.value })()`, "true undefined"},
		{"table filled by the elem segment", `(() => { const e = env(); const x = instance(e).exports; return [e.table.length, x.apply(0, 3, 4), x.apply(1, 3, 4), x.table === undefined].join() })()`, "2,7,12,false"},
		{"table get gives a callable function", `(() => { const e = env(); instance(e); const f = e.table.get(1); return [typeof f, f(6, 7), e.table.get(1) === f, e.table.get(0)(6, 7)].join() })()`, "function,42,true,13"},
		{"table set with an exported function", `(() => { const e = env(); const x = instance(e).exports; e.table.set(0, x.mul); return [x.apply(0, 3, 4), e.table.get(0) === x.mul].join() })()`, "12,true"},
		{"table set with another instance's function", `(() => { const e = env(); const x = instance(e).exports; const c = new WebAssembly.Instance(new WebAssembly.Module(calc), { env: { log() {}, twice: (v) => v } }).exports; e.table.set(1, c.add); return x.apply(1, 40, 2) })()`, "42"},
		{"table call of the wrong type traps", `(() => { const e = env(); const x = instance(e).exports; const c = new WebAssembly.Instance(new WebAssembly.Module(calc), { env: { log() {}, twice: (v) => v } }).exports; e.table.set(1, c.fsqrt); return x.apply(1, 40, 2) })()`, "throws: RuntimeError: indirect call type mismatch"},
		{"table set with a JS function", `(() => { const e = env(); instance(e); e.table.set(0, () => 1) })()`, "throws: TypeError: WebAssembly: a funcref must be null or a function exported by a WebAssembly instance"},
		{"table grow with a function, then null", `(() => { const e = env(); const x = instance(e).exports; const prev = e.table.grow(1, x.add); const r = x.apply(2, 1, 2); e.table.set(2, null); return [prev, e.table.length, r, e.table.get(2)].join() })()`, "2,3,3,"},
		{"exported funcref table", `(() => { const x = instance(env()).exports; return x.table.get(0)(20, 22) + " " + (x.table.get(0) === x.add) })()`, "42 false"},
		{"funcref global", `(() => { const x = instance(env()).exports; const g = new WebAssembly.Global({ value: "anyfunc", mutable: true }, x.mul); return g.value === x.mul })()`, "true"},
		{"JS table of externref", `(() => { const t = new WebAssembly.Table({ element: "externref", initial: 2, maximum: 3 }, "x"); const prev = t.grow(1, "y"); t.set(0, 1); return [prev, t.length, t.get(0), t.get(1), t.get(2)].join() })()`, "2,3,1,x,y"},
		{"JS table grows past maximum", `new WebAssembly.Table({ element: "externref", initial: 1, maximum: 1 }).grow(1)`, "throws: GoError: WebAssembly.Table.grow(): failed to grow table by 1"},
		{"table element type mismatch", `instance(env({ table: new WebAssembly.Table({ element: "externref", initial: 2 }) }))`, `throws: LinkError: WebAssembly.Instance(): Import #1 "env" "table": imported table does not match the expected type`},
		{"table bad element", `new WebAssembly.Table({ element: "i32", initial: 1 })`, "throws: TypeError: WebAssembly.Table(): Descriptor property 'element' must be a WebAssembly reference type"},
	}
	cases := make(map[string]string, len(tests))
	for _, tt := range tests {
		cases[tt.name] = tt.src
	}
	w := wasmImportsWorker(t, cases)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := fetchBody(t, w, "http://x/"+strings.ReplaceAll(tt.name, " ", "%20"))
			if err != nil || status != 200 || !strings.HasPrefix(body, tt.want) || (!strings.HasSuffix(tt.want, ": ") && body != tt.want) {
				t.Errorf("%s\n got: %d %q %v\nwant: %q", tt.src, status, body, err, tt.want)
			}
		})
	}
}

// A function taken from a table keeps the module it lives in open after
// JS dropped the instance and the table (a funcref is the address of a
// function of that module).
func TestWasmTableFunctionOutlivesInstance(t *testing.T) {
	w := wasmImportsWorker(t, map[string]string{
		"keep": `(() => { const e = env(); instance(e); globalThis.kept = e.table.get(1); globalThis.exported = instance(env()).exports.table.get(0); return "kept" })()`,
		"call": `kept(6, 7) + " " + exported(6, 7)`,
	})
	if _, body, err := fetchBody(t, w, "http://x/keep"); err != nil || body != "kept" {
		t.Fatalf("keep = %q %v", body, err)
	}
	for range 3 {
		goruntime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if _, body, err := fetchBody(t, w, "http://x/call"); err != nil || body != "42 13" {
		t.Errorf("call = %q %v, want 42 13", body, err)
	}
}
