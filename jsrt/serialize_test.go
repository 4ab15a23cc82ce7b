package jsrt

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/jsrt/webapi"
)

// newCloneRuntime is a bare runtime with the clone natives and prelude.
func newCloneRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	vm := goja.New()
	natives := newNatives(vm)
	if err := webapi.InstallEncoding(vm, natives); err != nil {
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
	for _, src := range []string{`1`, `"x"`, `({a: [1, new Map([[1, 2]])]})`, `new Uint8Array([1, 2])`, `(() => { const o = {}; o.o = o; return o; })()`,
		`"\uD800"`, `[new String("s"), Object(1n), new Number(2), new Boolean(true)]`, `[-0, NaN, 1.5, 7n, new Date(3), /x/g, new Set(["s"]), new DataView(new ArrayBuffer(2)), new RangeError("r")]`} {
		v, _ := vm.RunString("(" + src + ")")
		b, _ := Serialize(vm, v)
		f.Add(b)
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	for _, file := range files {
		b, err := readGolden(file)
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

func TestNativeStructuredClone(t *testing.T) {
	nativeRun(t, []nativeCase{
		{"date", `(() => { const d = structuredClone(new Date(5)); return d instanceof Date && d.getTime(); })()`, "5"},
		{"map", `(() => { const m = structuredClone(new Map([["a", {b: 1}]])); return m instanceof Map && m.get("a").b; })()`, "1"},
		{"set", `[...structuredClone(new Set([1, "x", 1]))].join()`, "1,x"},
		{"uint8array", `(() => { const u = structuredClone(new Uint8Array([1, 2, 3]).subarray(1)); return u instanceof Uint8Array && u.join() + " " + u.byteOffset + " " + u.buffer.byteLength; })()`, "2,3 1 3"},
		{"nested", `JSON.stringify(structuredClone({a: [1, {b: [true, null, "s"]}]}))`, `{"a":[1,{"b":[true,null,"s"]}]}`},
		{"NaN -0", `(() => { const v = structuredClone([NaN, -0]); return Number.isNaN(v[0]) && Object.is(v[1], -0); })()`, "true"},
		{"cycle", `(() => { const o = {}; o.o = o; const c = structuredClone(o); return c !== o && c.o === c; })()`, "true"},
		{"shared refs", `(() => { const s = {}; const c = structuredClone({x: s, y: [s]}); return c.x === c.y[0]; })()`, "true"},
		{"bigint", `structuredClone(2n ** 70n) === 2n ** 70n`, "true"},
		{"error", `(() => { const e = structuredClone(new TypeError("bad")); return e instanceof TypeError && e.name + ": " + e.message; })()`, "TypeError: bad"},
		{"lone surrogates", `(() => { const s = "a\uD800b\uDFFFc\uD83D\uDE00"; const c = structuredClone(s); return c === s && c.length; })()`, "7"},
		{"lone surrogate nested", `structuredClone({k: ["\uDC00"]}).k[0].charCodeAt(0)`, "56320"},
		{"replacement char kept", `structuredClone("\uFFFD") === "\uFFFD"`, "true"},
		{"__proto__ key stays own", `(() => { const o = JSON.parse('{"__proto__": {"polluted": 1}}'); const c = structuredClone(o); return Object.getPrototypeOf(c) === Object.prototype && c.polluted === undefined && Object.keys(c).join(); })()`, "__proto__"},
		{"function", `structuredClone(() => 1)`, "throws: DataCloneError: () => 1 could not be cloned."},
		{"nested function", `(() => { try { structuredClone({a: {f() {}}}); } catch (e) { return e instanceof DOMException && e.name; } })()`, "DataCloneError"},
		{"symbol", `(() => { try { structuredClone(Symbol("s")); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"weakmap", `(() => { try { structuredClone(new WeakMap()); } catch (e) { return e.name + ": " + e.message; } })()`, "DataCloneError: #<WeakMap> could not be cloned."},
		{"promise", `(() => { try { structuredClone(Promise.resolve()); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"natives", `(() => { const b = __cairn.serialize({a: 1}); return b instanceof ArrayBuffer && __cairn.deserialize(b).a; })()`, "1"},
		{"deserialize corrupt", `(() => { try { __cairn.deserialize(new Uint8Array([1, 0x6f, 5]).buffer); } catch (e) { return e.message; } })()`, "stored value is corrupt or from an unknown format"},
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

func TestNativeStructuredCloneMore(t *testing.T) {
	nativeRun(t, []nativeCase{
		{"wrappers", `(() => { const [s, n, b, g] = structuredClone([new String("s\uD800"), new Number(-0), new Boolean(false), Object(5n)]); return [typeof s, s instanceof String && s.valueOf() === "s\uD800", Object.is(n.valueOf(), -0), b instanceof Boolean && b.valueOf(), typeof g, g.valueOf() === 5n].join(); })()`, "object,true,true,false,object,true"},
		{"shared wrapper", `(() => { const w = new String("x"); const c = structuredClone([w, w]); return c[0] === c[1]; })()`, "true"},
		{"frozen Object.prototype keys", `(() => { const c = structuredClone({toString: 1, constructor: 2}); return c.toString + c.constructor; })()`, "3"},
		{"own forEach ignored", `(() => { const m = new Map([[1, 2]]); m.forEach = () => {}; return structuredClone(m).get(1); })()`, "2"},
		{"toStringTag object", `(() => { const c = structuredClone({[Symbol.toStringTag]: "Map", a: 1}); return c instanceof Map || c.a; })()`, "1"},
		{"class with tag", `(() => { class Foo { get [Symbol.toStringTag]() { return "Foo"; } constructor() { this.x = 2; } } return structuredClone(new Foo()).x; })()`, "2"},
		{"null prototype", `(() => { const o = Object.create(null); o.a = 1; const c = structuredClone(o); return Object.getPrototypeOf(c) === Object.prototype && c.a; })()`, "1"},
		{"throwing getter", `(() => { try { structuredClone({get a() { throw new RangeError("no"); }}); } catch (e) { return e.name + ": " + e.message; } })()`, "RangeError: no"},
		{"symbol wrapper", `(() => { try { structuredClone(Object(Symbol("w"))); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"async function", `(() => { try { structuredClone({f: async () => {}}); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"generator", `(() => { try { structuredClone((function* () {})()); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"map iterator", `(() => { try { structuredClone(new Map().keys()); } catch (e) { return e.name; } })()`, "DataCloneError"},
		{"weakset", `(() => { try { structuredClone(new WeakSet()); } catch (e) { return e.name + ": " + e.message; } })()`, "DataCloneError: #<WeakSet> could not be cloned."},
		{"symbol message", `(() => { try { structuredClone([Symbol("s")]); } catch (e) { return e.message; } })()`, "Symbol(s) could not be cloned."},
		{"typed arrays all", `["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array"].map((n) => { const a = new globalThis[n]([1, 2, 3]).subarray(1); const c = structuredClone(a); return c.constructor.name === n && c.join() === "2,3"; }).every(Boolean)`, "true"},
		{"bigint arrays", `(() => { const c = structuredClone([new BigInt64Array([-1n]), new BigUint64Array([2n ** 64n - 1n])]); return c[0][0] === -1n && c[1][0] === 2n ** 64n - 1n; })()`, "true"},
		{"view and buffer shared", `(() => { const b = new ArrayBuffer(4); const c = structuredClone({b, v: new DataView(b, 1), u: new Uint8Array(b)}); c.u[1] = 9; return c.v.buffer === c.b && c.v.getUint8(0); })()`, "9"},
		{"big array", `(() => { const a = Array.from({length: 1000}, (_, i) => ({i})); a.push(a[3]); const c = structuredClone(a); return c.length + " " + (c[1000] === c[3]) + " " + c[999].i; })()`, "1001 true 999"},
		{"lone surrogate key keeps its value", `(() => { const c = structuredClone({"\uD800": 1, a: {"x\uDC00": [2]}}); return JSON.stringify(c); })()`, `{"�":1,"a":{"x�":[2]}}`},
		{"aggregate error", `(() => { const e = structuredClone(new AggregateError([new Error("x")], "all")); return e instanceof AggregateError && e.message + " " + e.errors.length; })()`, "all 0"},
		{"error subclass name", `(() => { class MyErr extends Error { constructor(m) { super(m); this.name = "MyErr"; } } const e = structuredClone(new MyErr("m")); return e instanceof Error && e.name + " " + e.message; })()`, "MyErr m"},
		{"large ints", `structuredClone([2 ** 53, -(2 ** 53), 2 ** 60, 1e300]).join()`, "9007199254740992,-9007199254740992,1152921504606847000,1e+300"},
	})
}
