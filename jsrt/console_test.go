package jsrt

import (
	"strings"
	"testing"
)

// console as scripts see it: the prelude formats the arguments, package
// webapi's log native writes the record.
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
		{"self", `self === globalThis && self.crypto === crypto`, "true"},
	})
}
