package webapi

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/dop251/goja"
)

// jsArgs evaluates src, an array literal, into an argument list.
func jsArgs(t *testing.T, vm *goja.Runtime, src string) []goja.Value {
	t.Helper()
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

// formatValues uses the prelude's __cairn.format when there is one.
func TestFormatValuesThroughPrelude(t *testing.T) {
	vm := goja.New()
	if _, err := vm.RunString(`globalThis.__cairn = {format: (...a) => "js:" + a.length}`); err != nil {
		t.Fatal(err)
	}
	if got := formatValues(vm, jsArgs(t, vm, `["%s", 1, 2]`)); got != "js:3" {
		t.Errorf("formatValues = %q, want the prelude's %q", got, "js:3")
	}
}

// Without a prelude, formatValues falls back to Go, matching Node's
// util.format on these.
func TestFormatValuesFallback(t *testing.T) {
	vm := goja.New()
	tests := []struct{ args, want string }{
		{`["%s=%d", "a", 1, {x: [1]}]`, "a=1 { x: [ 1 ] }"},
		{`["%i|%f|%j|%%|%c", 4.7, "1.5", {a: "b"}, "css"]`, `4|1.5|{"a":"b"}|%|`},
		{`["%d"]`, "%d"},
		{`["%s", "only", "extra"]`, "only extra"},
		{`[{a: 1, "b c": "s", d: [1, [2, [3, [4]]]]}]`, "{ a: 1, 'b c': 's', d: [ 1, [ 2, [Array] ] ] }"},
		{`["x", 1e21, 1e-7, 0.5, -0, 10n, null, undefined]`, "x 1e+21 1e-7 0.5 -0 10n null undefined"},
		{`[[], {}, function f() {}, () => 1]`, "[] {} [Function: f] [Function: (anonymous)]"},
		{`["%s", {a: 1}]`, "{ a: 1 }"},
		{`[(() => { const o = {}; o.self = o; return o; })()]`, "{ self: [Circular] }"},
		{`[]`, ""},
	}
	for _, tt := range tests {
		if got := formatValues(vm, jsArgs(t, vm, tt.args)); got != tt.want {
			t.Errorf("formatValues(%s) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestLogNative(t *testing.T) {
	vm, logs := newVM(t)
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"trace", slog.LevelInfo}, // unknown levels log as info
	}
	for _, tt := range tests {
		if got := eval(vm, `natives.log("`+tt.level+`", "message at `+tt.level+`")`); got != "undefined" {
			t.Fatalf("log(%q) = %s", tt.level, got)
		}
		recs := logs.take()
		if len(recs) != 1 {
			t.Fatalf("log(%q) wrote %d records, want 1", tt.level, len(recs))
		}
		r := recs[0]
		var source string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "source" {
				source = a.Value.String()
			}
			return true
		})
		if r.Level != tt.want || r.Message != "message at "+tt.level || source != "console" {
			t.Errorf("log(%q): level %v, message %q, source %q; want %v, %q, console", tt.level, r.Level, r.Message, source, tt.want, "message at "+tt.level)
		}
	}
}

func TestNowNative(t *testing.T) {
	runCases(t, []jsCase{
		{"number", `typeof natives.now()`, "number"},
		{"from install, not the epoch", `natives.now() >= 0 && natives.now() < 60000`, "true"},
		{"monotonic", `(() => { let a = natives.now(); for (let i = 0; i < 1000; i++) { const b = natives.now(); if (b < a) return false; a = b; } return true; })()`, "true"},
	})
}

// The async context follows promise reactions once set, as AsyncLocalStorage
// needs: a then callback sees the context current when it was registered.
func TestAsyncContextNatives(t *testing.T) {
	runCases(t, []jsCase{
		{"unset", `natives.asyncContext()`, "undefined"},
		{"set and get", `natives.setAsyncContext("a"); natives.asyncContext()`, "a"},
		{"undefined clears", `natives.setAsyncContext(undefined); String(natives.asyncContext())`, "undefined"},
		{"follows then", `(() => {
			let seen = [];
			natives.setAsyncContext("outer");
			const p = Promise.resolve().then(() => seen.push(natives.asyncContext()));
			natives.setAsyncContext("later");
			globalThis.seen = seen;
			return natives.asyncContext();
		})()`, "later"},
		{"then saw its registration's context", `seen.join()`, "outer"},
		{"cleared after the reaction", `natives.setAsyncContext(undefined); Promise.resolve().then(() => globalThis.after = String(natives.asyncContext())); "ok"`, "ok"},
		{"no context without one", `after`, "undefined"},
	})
}
