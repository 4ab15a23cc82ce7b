package jsrt

import (
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

func TestNativeConsole(t *testing.T) {
	vm, logs := nativeRuntime(t)
	tests := []struct{ src, want string }{
		{`console.log("%s=%d", "a", 1, {x: [1]})`, "INFO a=1 { x: [ 1 ] }"},
		{`console.log("plain", "strings", 3)`, "INFO plain strings 3"},
		{`console.log({a: 1, b: [1, 2], c: "s", "d-e": null})`, "INFO { a: 1, b: [ 1, 2 ], c: 's', \"d-e\": null }"},
		{`console.log("%i %f %j %% %o", 4.7, "1.5", {a: "b"}, [1])`, `INFO 4 1.5 {"a":"b"} % [ 1 ]`},
		{`console.log("%s", "only", "extra")`, "INFO only extra"},
		{`console.log("%d")`, "INFO %d"},
		{`console.log(true, {ok: false})`, "INFO true { ok: false }"},
		{`console.log(-0, 10n, undefined, null)`, "INFO -0 10n undefined null"},
		{`console.log(new Map([["k", 1]]), new Set([2]))`, "INFO Map(1) { 'k' => 1 } Set(1) { 2 }"},
		{`console.log(new Uint8Array([1, 2]))`, "INFO Uint8Array(2) [ 1, 2 ]"},
		{`(() => { const o = {}; o.self = o; console.log(o); })()`, "INFO { self: [Circular] }"},
		{`console.log({a: {b: {c: {d: 1}}}})`, "INFO { a: { b: { c: [Object] } } }"},
		{`console.log(function named() {}, () => 1)`, "INFO [Function: named] [Function: (anonymous)]"},
		{`console.info("i")`, "INFO i"},
		{`console.debug("d")`, "DEBUG d"},
		{`console.warn("w")`, "WARN w"},
		{`console.error("e")`, "ERROR e"},
		{`console.assert(true, "no"); console.assert(false, "yes %d", 2)`, "ERROR Assertion failed: yes 2"},
		{`console.count(); console.count(); console.count("x")`, "INFO default: 1\nINFO default: 2\nINFO x: 1"},
		{`console.dir({a: 1})`, "INFO { a: 1 }"},
		{`console.table([1])`, "INFO [ 1 ]"},
	}
	for _, tt := range tests {
		if _, err := vm.RunString(tt.src); err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := strings.TrimSuffix(logs.take(), "\n"); got != tt.want {
			t.Errorf("%s\n got: %q\nwant: %q", tt.src, got, tt.want)
		}
	}
	// Errors print as their stack.
	if _, err := vm.RunString(`console.log(new Error("boom"))`); err != nil {
		t.Fatal(err)
	}
	if got := logs.take(); !strings.HasPrefix(got, "INFO Error: boom\n") || !strings.Contains(got, "at ") {
		t.Errorf("error: %q", got)
	}
	// console.time / timeEnd and console.trace.
	if _, err := vm.RunString(`console.time("t"); console.timeEnd("t"); console.trace("here")`); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(logs.take(), "\n")
	if !strings.HasPrefix(lines[0], "INFO t: ") || !strings.HasSuffix(lines[0], "ms") || !strings.HasPrefix(lines[1], "INFO here") {
		t.Errorf("time/trace: %q", lines)
	}
}

func TestNativePerformance(t *testing.T) {
	nativeRun(t, []nativeCase{
		{"now", `(() => { const a = performance.now(); const b = performance.now(); return typeof a === "number" && a >= 0 && b >= a; })()`, "true"},
		{"timeOrigin", `Math.abs(performance.timeOrigin - Date.now()) < 60000`, "true"},
		{"navigator", `navigator.userAgent`, "Cloudflare-Workers"},
	})
}

func TestNativeFormatValues(t *testing.T) {
	vals := func(vm *goja.Runtime, src string) []goja.Value {
		v, err := vm.RunString(src)
		if err != nil {
			t.Fatal(err)
		}
		o := v.(*goja.Object)
		out := make([]goja.Value, o.Get("length").ToInteger())
		for i := range out {
			out[i] = o.Get(strconv.Itoa(i))
		}
		return out
	}
	// Through the prelude's format.
	vm, _ := nativeRuntime(t)
	args := vals(vm, `["%s=%d", "a", 1, {x: [1]}]`)
	if got := formatValues(vm, args); got != "a=1 { x: [ 1 ] }" {
		t.Errorf("formatValues = %q", got)
	}
	// The Go fallback, without a prelude.
	bare := goja.New()
	for src, want := range map[string]string{
		`["%s=%d", "a", 1, {x: [1]}]`:                      "a=1 { x: [ 1 ] }",
		`["%i|%f|%j|%%|%c", 4.7, "1.5", {a: "b"}, "css"]`:  `4|1.5|{"a":"b"}|%|`,
		`[{a: 1, "b c": "s", d: [1, [2, [3, [4]]]]}]`:      "{ a: 1, 'b c': 's', d: [ 1, [ 2, [Array] ] ] }",
		`["x", 1e21, 1e-7, 0.5, -0, 10n, null, undefined]`: "x 1e+21 1e-7 0.5 -0 10n null undefined",
		`[[], {}, function f() {}]`:                        "[] {} [Function: f]",
		`["%s", {a: 1}]`:                                   "{ a: 1 }",
	} {
		if got := formatValues(bare, vals(bare, src)); got != want {
			t.Errorf("fallback %s = %q, want %q", src, got, want)
		}
	}
}
