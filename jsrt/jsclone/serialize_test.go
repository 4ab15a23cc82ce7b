package jsclone

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/internal/golden"
)

// The tests of this package run on a bare runtime, without jsrt's
// prelude: structuredClone as scripts see it (DataCloneError is the
// prelude's DOMException) is tested in jsrt.

// newCloneRuntime is a bare runtime with this package's natives on the
// global object natives, and structuredClone.
func newCloneRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	vm := goja.New()
	natives := vm.NewObject()
	if err := vm.Set("natives", natives); err != nil {
		t.Fatal(err)
	}
	if err := Install(vm, natives); err != nil {
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
	for _, src := range []string{`1`, `"x"`, `({a: [1, new Map([[1, 2]])]})`, `new Uint8Array([1, 2])`, `(() => { const o = {}; o.o = o; return o; })()`,
		`"\uD800"`, `[new String("s"), Object(1n), new Number(2), new Boolean(true)]`, `[-0, NaN, 1.5, 7n, new Date(3), /x/g, new Set(["s"]), new DataView(new ArrayBuffer(2)), new RangeError("r")]`} {
		v, _ := vm.RunString("(" + src + ")")
		b, _ := Serialize(vm, v)
		f.Add(b)
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	for _, file := range files {
		b, err := golden.Read(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Deserialize(vm, b) // must not panic
		if err != nil {
			return
		}
		// Whatever it accepts is cloneable again, and readable in Go.
		if _, err := Serialize(vm, v); err != nil {
			t.Errorf("Serialize(Deserialize(%q)): %v", b, err)
		}
		if _, err := clone.Unmarshal(b); err != nil {
			t.Errorf("clone.Unmarshal(%q), which Deserialize reads: %v", b, err)
		}
	})
}

// BenchmarkSerialize measures a typical small KV value each way.
func BenchmarkSerialize(b *testing.B) {
	vm := newCloneRuntime(b)
	v, _ := vm.RunString(`({count: 1, name: "x"})`)
	buf, err := Serialize(vm, v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = Serialize(vm, v)
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			_, _ = Deserialize(vm, buf)
		}
	})
	b.Run("structuredClone", func(b *testing.B) {
		for b.Loop() {
			buf, _ := Serialize(vm, v)
			_, _ = Deserialize(vm, buf)
		}
	})
}

func TestSerializeGoldenMore(t *testing.T) {
	vm := newCloneRuntime(t)
	tests := []struct {
		value string
		bytes []byte
	}{
		{`"\uD800"`, []byte{1, 'w', 1, 0x00, 0xD8}},
		{`-0`, []byte{1, 'd', 0, 0, 0, 0, 0, 0, 0, 0x80}},
		{`-3`, []byte{1, 'i', 5}},
		{`5n`, []byte{1, 'g', 0, 1, 5}},
		{`new Date(0)`, []byte{1, 'D', 0, 0, 0, 0, 0, 0, 0, 0}},
		{`(() => { const o = {}; return [o, o]; })()`, []byte{1, 'a', 2, 'o', 0, 'r', 1}},
		{`new Uint8Array([7])`, []byte{1, 'V', 10, 'U', 'i', 'n', 't', '8', 'A', 'r', 'r', 'a', 'y', 'B', 1, 7, 0, 1}},
		{`new Map([[1, true]])`, []byte{1, 'M', 1, 'i', 2, 't'}},
		{`new Set(["a"])`, []byte{1, 'S', 1, 's', 1, 'a'}},
		{`1.5`, []byte{1, 'd', 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}},
		{`/a/g`, []byte{1, 'R', 1, 'a', 1, 'g'}},
		{`new Uint8Array([1, 2]).buffer`, []byte{1, 'B', 2, 1, 2}},
		{`new DataView(new ArrayBuffer(2), 1)`, []byte{1, 'V', 8, 'D', 'a', 't', 'a', 'V', 'i', 'e', 'w', 'B', 2, 0, 0, 1, 1}},
		{`(() => { const e = new TypeError("m"); e.stack = "s"; return e; })()`, []byte{1, 'E', 9, 'T', 'y', 'p', 'e', 'E', 'r', 'r', 'o', 'r', 1, 'm', 1, 's'}},
		{`[new String("x"), Object(-2n), new Boolean(false)]`, []byte{1, 'a', 3, 'P', 's', 1, 'x', 'P', 'g', 1, 1, 2, 'P', 'f'}},
		{`(() => { const o = {}; o.o = o; return o; })()`, []byte{1, 'o', 1, 1, 'o', 'r', 0}},
	}
	for _, tt := range tests {
		v, err := vm.RunString("(" + tt.value + ")")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Serialize(vm, v)
		if err != nil || !bytes.Equal(b, tt.bytes) {
			t.Errorf("Serialize(%s) = %v %v, want %v", tt.value, b, err, tt.bytes)
		}
		if _, err := Deserialize(vm, tt.bytes); err != nil {
			t.Errorf("Deserialize(%v): %v", tt.bytes, err)
		}
	}
	// Truncations of a rich value are all rejected, never a panic.
	v, _ := vm.RunString(`({a: [1, "x\uD800", new Map([[1, new Set([2n])]])], d: new Date(1), u: new Uint16Array(2), e: new Error("m")})`)
	b, err := Serialize(vm, v)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		if _, err := Deserialize(vm, b[:i]); err == nil {
			t.Errorf("Deserialize(truncated to %d) succeeded", i)
		}
	}
	if _, err := Deserialize(vm, append(b, 0)); err == nil {
		t.Error("Deserialize with trailing bytes succeeded")
	}
}
