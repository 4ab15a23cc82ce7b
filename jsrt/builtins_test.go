package jsrt

import (
	"testing"
	"time"
)

// TestBuiltins checks the standard built-ins the prelude adds to goja
// (core-js, prelude/01_polyfill.js; WeakRef, prelude/02_weakref.js) as
// Worker code uses them.
func TestBuiltins(t *testing.T) {
	vm := preludeRuntime(t)
	tests := []struct{ name, src, want string }{
		{"Promise.withResolvers", `const { promise, resolve } = Promise.withResolvers(); resolve(7); return String(await promise) + (promise instanceof Promise);`, "7true"},
		{"Promise.try", `return await Promise.try((a) => a * 2, 21);`, "42"},
		{"iterator helpers", `const m = new Map([["a", 1], ["b", 2], ["c", 3]]);
			return m.values().filter((v) => v % 2).map((v) => v * 10).toArray().join();`, "10,30"},
		{"Iterator.from", `return Iterator.from({ next() { return { done: this.n > 2, value: this.n++ }; }, n: 0 }).take(5).reduce((a, b) => a + b, 0);`, "3"},
		{"Iterator.prototype", `return String(Object.getPrototypeOf(Object.getPrototypeOf([].values())) === Iterator.prototype);`, "true"},
		{"Set methods", `const a = new Set([1, 2, 3]), b = new Set([2, 3, 4]);
			return [...a.intersection(b)].join() + "|" + [...a.difference(b)].join() + "|" + [...a.symmetricDifference(b)].join() + "|" + a.isSubsetOf(new Set([1, 2, 3, 4]));`, "2,3|1|1,4|true"},
		{"Object.groupBy", `const g = Object.groupBy([1, 2, 3, 4], (n) => (n % 2 ? "odd" : "even")); return g.odd.join() + "/" + g.even.join() + Object.getPrototypeOf(g);`, "1,3/2,4null"},
		{"Map.groupBy", `return Map.groupBy([1, 2, 3], (n) => n > 1).get(true).join();`, "2,3"},
		{"Array.fromAsync", `return (await Array.fromAsync([Promise.resolve(1), 2])).join();`, "1,2"},
		{"isWellFormed", `return "ab\uD800".isWellFormed() + "," + "ab".isWellFormed() + "," + JSON.stringify("a\uD800".toWellFormed());`, `false,true,"a` + "\ufffd" + `"`},
		{"RegExp.escape", `return RegExp.escape("a.b");`, `\x61\.b`},
		{"Error cause and AggregateError", `const e = new AggregateError([new Error("x")], "many", { cause: "why" }); return e.errors.length + e.message + e.cause;`, "1manywhy"},
		{"DisposableStack", `const s = new DisposableStack(); let done = ""; s.defer(() => { done = "disposed"; }); s.dispose(); return done + String(typeof Symbol.dispose);`, "disposedsymbol"},
		{"WeakRef", `const o = {}; const r = new WeakRef(o); return String(r.deref() === o) + Object.prototype.toString.call(r);`, "true[object WeakRef]"},
		{"FinalizationRegistry", `const f = new FinalizationRegistry(() => {}); const tok = {}; f.register({}, 1, tok); return String(f.unregister(tok)) + String(f.unregister(tok));`, "truefalse"},
		{"WeakRef needs an object", `try { new WeakRef(1); } catch (e) { return e.name; }`, "TypeError"},
		{"Promise is goja's", `return String(Promise.resolve(1).constructor === Promise) + typeof Promise.prototype.then;`, "truefunction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := preludeEval(t, vm, tt.src); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimeStartTime bounds the cost of a runtime's set-up (globals,
// prelude with its polyfills, modules, a small bundle), which every Worker
// pays once per runtime and again after a CPU-limit reset. Measured with
// go test -run TestRuntimeStartTime -v ./jsrt.
func TestRuntimeStartTime(t *testing.T) {
	w := newTestWorker(t, `exports.default = { fetch() { return new Response("ok") } }`, Config{Runtimes: 1})
	const n = 100
	start := time.Now()
	for i := range n {
		if _, err := newRuntime(w, i+1); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / n
	t.Logf("runtime start: %v per runtime (mean of %d)", per, n)
	if per > 250*time.Millisecond {
		t.Errorf("a runtime takes %v to start; want under 250ms", per)
	}
}

// console.log's rendering of the objects whose own properties say nothing
// (prelude/06_inspect.js), as Node and workerd show them.
func TestInspect(t *testing.T) {
	vm := preludeRuntime(t)
	tests := []struct{ name, src, want string }{
		{"URL", `return __cairn.format(new URL("https://u:p@example.com/a/b?x=1#h"));`,
			"URL { href: 'https://u:p@example.com/a/b?x=1#h', origin: 'https://example.com', protocol: 'https:', username: 'u', password: 'p', host: 'example.com', hostname: 'example.com', port: '', pathname: '/a/b', search: '?x=1', searchParams: URLSearchParams { 'x' => '1' }, hash: '#h' }"},
		{"URLSearchParams", `return __cairn.format(new URLSearchParams("a=1&b=two"));`, "URLSearchParams { 'a' => '1', 'b' => 'two' }"},
		{"Headers", `return __cairn.format(new Headers({ "Content-Type": "text/plain", "x-a": "1" }));`, "Headers(2) { 'content-type' => 'text/plain', 'x-a' => '1' }"},
		{"Response", `return __cairn.format(new Response("hi", { status: 201, headers: { a: "b" } }));`,
			"Response { status: 201, statusText: '', headers: Headers(2) { 'a' => 'b', 'content-type' => 'text/plain;charset=UTF-8' }, ok: true, redirected: false, url: '', bodyUsed: false }"},
		{"Request", `return __cairn.format(new Request("https://x.dev/p", { method: "POST" }));`,
			"Request { method: 'POST', url: 'https://x.dev/p', headers: Headers(0) {}, redirect: 'follow', bodyUsed: false }"},
		{"nested in an object", `return __cairn.format({ u: new URL("http://a/") }).slice(0, 20);`, "{ u: URL { href: 'ht"},
		{"error with cause", `const e = new Error("outer", { cause: new TypeError("inner") }); e.stack = "Error: outer"; e.cause.stack = "TypeError: inner"; return __cairn.format(e);`,
			"Error: outer { [cause]: TypeError: inner }"},
		{"custom inspect", `return __cairn.format({ [Symbol.for("nodejs.util.inspect.custom")]() { return "Money(5 EUR)"; } });`, "Money(5 EUR)"},
		{"ArrayBuffer", `return __cairn.format(new Uint8Array([1, 255]).buffer);`, "ArrayBuffer { [Uint8Contents]: <01 ff>, byteLength: 2 }"},
		{"Map, Set, typed arrays unchanged", `return __cairn.format(new Map([["a", 1]]), new Set([1]), new Uint8Array([1, 2]));`, "Map(1) { 'a' => 1 } Set(1) { 1 } Uint8Array(2) [ 1, 2 ]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := preludeEval(t, vm, tt.src); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// core-js loads on first use (prelude/01_polyfill_lazy.js): no prelude file
// touches it at start, and whichever built-in code touches first loads all.
func TestBuiltinsLoadLazily(t *testing.T) {
	stub := `String(typeof Object.getOwnPropertyDescriptor(Promise, "withResolvers").get === "function" && !("getOrInsert" in Object.getOwnPropertyDescriptor(Map.prototype, "getOrInsert")))`
	if got := preludeEval(t, preludeRuntime(t), "return "+stub+";"); got != "true" {
		t.Fatalf("core-js loaded while the prelude ran (or keys missing): %s", got)
	}
	firstTouch := map[string]string{
		"iterator helper":   `return new Map([[1, 2]]).values().map((v) => v + 1).toArray().join() + typeof Promise.withResolvers;`,
		"Iterator global":   `return typeof Iterator.from + typeof Promise.withResolvers;`,
		"Promise static":    `return Promise.withResolvers().promise instanceof Promise ? "ok" + typeof Iterator : "no";`,
		"Set method":        `return [...new Set([1]).union(new Set([2]))].join() + typeof Object.groupBy;`,
		"Symbol.dispose":    `return typeof Symbol.dispose + typeof DisposableStack;`,
		"assignment first":  `Promise.try = 5; return String(Promise.try) + typeof Promise.withResolvers;`,
		"descriptor reader": `return typeof Object.groupBy + typeof Object.getOwnPropertyDescriptor(Object, "groupBy").value;`,
	}
	want := map[string]string{
		"iterator helper": "3function", "Iterator global": "functionfunction", "Promise static": "okfunction",
		"Set method": "1,2function", "Symbol.dispose": "symbolfunction", "assignment first": "5function",
		"descriptor reader": "functionfunction",
	}
	for name, src := range firstTouch {
		t.Run(name, func(t *testing.T) {
			if got := preludeEval(t, preludeRuntime(t), src); got != want[name] {
				t.Errorf("got %q, want %q", got, want[name])
			}
		})
	}
}
