package webapi

import (
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
