package jsrt

import (
	"bytes"
	"testing"

	"github.com/dop251/goja"
)

// newCloneRuntime is a bare runtime with the clone natives and prelude.
func newCloneRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	vm := goja.New()
	natives := newNatives(vm)
	if err := installEncoding(vm, natives); err != nil {
		t.Fatal(err)
	}
	if err := installClone(vm, natives); err != nil {
		t.Fatal(err)
	}
	return vm
}

// spec 31: values round-trip by structured clone.
func TestSerializeRoundTrip(t *testing.T) {
	tests := []struct {
		name, value, check string
	}{
		{"primitives", `[undefined, null, true, false, 0, -1, 2**53 - 1, 1.5, "héllo", ""]`,
			`JSON.stringify(v) === JSON.stringify(orig) && v[0] === undefined && v.length === 10`},
		{"NaN and -0", `[NaN, -0, Infinity]`, `Number.isNaN(v[0]) && Object.is(v[1], -0) && v[2] === Infinity`},
		{"bigint", `[123456789012345678901234567890n, -5n]`, `v[0] === 123456789012345678901234567890n && v[1] === -5n`},
		{"date", `new Date(1234)`, `v instanceof Date && v.getTime() === 1234`},
		{"regexp", `/a+b/gi`, `v instanceof RegExp && v.source === "a+b" && v.flags === "gi"`},
		{"map and set", `new Map([["k", new Set([1, "x"])], [2, {a: 1}]])`, `v instanceof Map && v.get("k") instanceof Set && v.get("k").has("x") && v.get(2).a === 1`},
		{"typed arrays", `({u: new Uint8Array([1, 2, 255]), f: new Float64Array([1.5]), d: new DataView(new ArrayBuffer(4), 1, 2)})`,
			`v.u instanceof Uint8Array && v.u[2] === 255 && v.f[0] === 1.5 && v.d instanceof DataView && v.d.byteOffset === 1 && v.d.byteLength === 2`},
		{"shared buffer", `(() => { const b = new ArrayBuffer(8); return [new Uint8Array(b, 0, 4), new Uint8Array(b, 4, 4)]; })()`,
			`v[0].buffer === v[1].buffer && v[0].byteOffset === 0 && v[1].byteOffset === 4`},
		{"nested", `{a: {b: [1, {c: "d"}]}, e: [[]]}`, `v.a.b[1].c === "d" && Array.isArray(v.e[0])`},
		{"cycle", `(() => { const o = {name: "o"}; o.self = o; o.list = [o]; return o; })()`, `v.self === v && v.list[0] === v`},
		{"shared ref", `(() => { const s = {}; return [s, s]; })()`, `v[0] === v[1]`},
		{"error", `new RangeError("too big")`, `v instanceof RangeError && v.message === "too big"`},
		{"class instance", `new (class P { constructor() { this.x = 1; } })()`, `v.x === 1 && Object.getPrototypeOf(v) === Object.prototype`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newCloneRuntime(t)
			orig, err := vm.RunString("(" + tt.value + ")")
			if err != nil {
				t.Fatal(err)
			}
			b, err := Serialize(vm, orig)
			if err != nil {
				t.Fatalf("Serialize: %v", err)
			}
			v, err := Deserialize(vm, b)
			if err != nil {
				t.Fatalf("Deserialize: %v (bytes %q)", err, b)
			}
			_ = vm.Set("v", v)
			_ = vm.Set("orig", orig)
			ok, err := vm.RunString(tt.check)
			if err != nil || !ok.ToBoolean() {
				t.Errorf("check %s failed (%v)", tt.check, err)
			}
		})
	}
}

func TestSerializeRejects(t *testing.T) {
	vm := newCloneRuntime(t)
	for _, src := range []string{`(function f() {})`, `Symbol("s")`, `Promise.resolve()`, `new WeakMap()`, `({f() {}})`} {
		_, err := vm.RunString("structuredClone(" + src + ")")
		if err == nil {
			t.Errorf("structuredClone(%s) succeeded, want DataCloneError", src)
			continue
		}
		if ex, ok := err.(*goja.Exception); !ok || src != `Symbol("s")` && !bytes.Contains([]byte(ex.Error()), []byte("could not be cloned")) {
			t.Errorf("structuredClone(%s): %v", src, err)
		}
	}
}

// Golden bytes: the stored format must stay readable forever.
func TestSerializeGolden(t *testing.T) {
	vm := newCloneRuntime(t)
	tests := []struct {
		value string
		bytes []byte
	}{
		{`1`, []byte{1, 'i', 2}},
		{`"hi"`, []byte{1, 's', 2, 'h', 'i'}},
		{`({a: null})`, []byte{1, 'o', 1, 1, 'a', 'n'}},
		{`[true, undefined]`, []byte{1, 'a', 2, 't', 'u'}},
	}
	for _, tt := range tests {
		v, _ := vm.RunString("(" + tt.value + ")")
		b, err := Serialize(vm, v)
		if err != nil || !bytes.Equal(b, tt.bytes) {
			t.Errorf("Serialize(%s) = %v %v, want %v", tt.value, b, err, tt.bytes)
		}
		if _, err := Deserialize(vm, tt.bytes); err != nil {
			t.Errorf("Deserialize(%v): %v", tt.bytes, err)
		}
	}
}

func FuzzDeserialize(f *testing.F) {
	vm := newCloneRuntime(f)
	for _, src := range []string{`1`, `"x"`, `({a: [1, new Map([[1, 2]])]})`, `new Uint8Array([1, 2])`, `(() => { const o = {}; o.o = o; return o; })()`} {
		v, _ := vm.RunString("(" + src + ")")
		b, _ := Serialize(vm, v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Deserialize(vm, b) // must not panic
	})
}

func BenchmarkSerialize(b *testing.B) {
	vm := newCloneRuntime(b)
	v, _ := vm.RunString(`({count: 1, name: "x"})`)
	for b.Loop() {
		buf, _ := Serialize(vm, v)
		_, _ = Deserialize(vm, buf)
	}
}
