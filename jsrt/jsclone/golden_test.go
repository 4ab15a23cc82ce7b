package jsclone

import (
	"bytes"
	"flag"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/internal/golden"
)

var updateGolden = flag.Bool("update", false, "rewrite the structured-clone golden files in "+goldenDir)

// goldenDir holds the encoding of each cloneCorpus value, <name>.hex.
const goldenDir = "../../clone/testdata"

// cloneCorpus is the JS values whose encodings are frozen in goldenDir.
// Entries may be added, never changed or removed: data stored in the old
// encoding must stay readable. Stacks are set by hand, since goja's
// differ between versions.
var cloneCorpus = []struct {
	name, src string
	check     string // a JS expression true of v, the value decoded from the file
	rpc       bool   // an RPC payload: functions pass by reference
	lossy     string // why v does not encode to the file's bytes again, if it does not
}{
	{name: "undefined", src: `undefined`},
	{name: "null", src: `null`},
	{name: "true", src: `true`},
	{name: "false", src: `false`},
	{name: "int", src: `1`},
	{name: "int-negative", src: `-3`},
	{name: "int-max-safe", src: `2 ** 53 - 1`},
	{name: "int-min-safe", src: `-(2 ** 53 - 1)`},
	{name: "float", src: `1.5`},
	{name: "float-2-53", src: `2 ** 53`},
	{name: "float-large", src: `1e300`},
	{name: "float-tiny", src: `5e-324`},
	{name: "negative-zero", src: `-0`, check: `Object.is(v, -0)`},
	{name: "nan", src: `NaN`, check: `Number.isNaN(v)`},
	{name: "infinity", src: `-Infinity`},
	{name: "numbers", src: `[0, -1, 2 ** 31, -(2 ** 31), 2 ** 32, 0.1]`},
	{name: "bigint", src: `5n`},
	{name: "bigint-zero", src: `0n`},
	{name: "bigint-negative", src: `-258n`},
	{name: "bigint-large", src: `2n ** 100n + 1n`},
	{name: "string-empty", src: `""`},
	{name: "string", src: `"hi"`},
	{name: "string-unicode", src: `"h\u00e9llo \u4e16\u754c \ud83d\ude00"`},
	{name: "string-replacement-char", src: `"\uFFFD"`},
	{name: "string-lone-high", src: `"\uD800"`, check: `v.length === 1 && v.charCodeAt(0) === 0xD800`},
	{name: "string-lone-mixed", src: `"a\uD800b\uDFFFc\uD83D\uDE00"`, check: `v === "a\uD800b\uDFFFc\uD83D\uDE00"`},
	{name: "object-empty", src: `({})`},
	{name: "object", src: `({a: null, b: 1, c: "s"})`},
	{name: "object-key-order", src: `({b: 1, a: 2, 10: 3, 2: 4})`, check: `Object.keys(v).join() === "2,10,b,a"`},
	{name: "object-proto-key", src: `JSON.parse('{"__proto__": {"x": 1}}')`, check: `Object.getPrototypeOf(v) === Object.prototype && v.x === undefined && v.__proto__.x === 1`},
	{name: "object-null-proto", src: `Object.assign(Object.create(null), {a: 1})`, check: `Object.getPrototypeOf(v) === Object.prototype`},
	{name: "object-lone-surrogate-key", src: `({"\uD800": 1})`, check: `Object.keys(v)[0] === "\uFFFD" && v["\uFFFD"] === 1`},
	{name: "object-symbol-key", src: `({[Symbol("s")]: 1, a: 2})`, check: `Object.getOwnPropertySymbols(v).length === 0`},
	{name: "class-instance", src: `new (class P { constructor() { this.x = 1; } m() {} })()`, check: `Object.getPrototypeOf(v) === Object.prototype && v.x === 1`},
	{name: "array-empty", src: `[]`},
	{name: "array", src: `[true, undefined, "s", null]`},
	{name: "array-sparse", src: `[1, , 3]`, check: `v.length === 3 && 1 in v && v[1] === undefined`},
	{name: "array-sparse-tail", src: `(() => { const a = []; a[3] = 1; return a; })()`, check: `v.length === 4`},
	{name: "array-extra-props", src: `Object.assign([1], {x: 2})`, check: `v.x === undefined`},
	{name: "nested", src: `({a: {b: [1, {c: "d"}]}, e: [[]]})`},
	{name: "deep", src: `JSON.parse("[".repeat(40) + "]".repeat(40))`},
	{name: "map-empty", src: `new Map()`},
	{name: "map", src: `new Map([["k", 1], [2, {a: 1}], [null, undefined]])`, check: `v instanceof Map && v.get(2).a === 1 && v.has(null)`},
	{name: "map-object-keys", src: `(() => { const k = {}; return new Map([[k, k], [[1], "a"]]); })()`, check: `[...v.keys()][0] === v.get([...v.keys()][0])`},
	{name: "set-empty", src: `new Set()`},
	{name: "set", src: `new Set([1, "x", null, 1])`, check: `v instanceof Set && v.size === 3`},
	{name: "map-of-sets", src: `new Map([["k", new Set([1, "x"])]])`},
	{name: "date", src: `new Date(1234)`, check: `v instanceof Date && v.getTime() === 1234`},
	{name: "date-epoch", src: `new Date(0)`},
	{name: "date-negative", src: `new Date(-1)`},
	{name: "date-invalid", src: `new Date(NaN)`, check: `v instanceof Date && Number.isNaN(v.getTime())`},
	{name: "date-max", src: `new Date(8.64e15)`},
	{name: "regexp", src: `/a+b/gi`, check: `v instanceof RegExp && v.source === "a+b" && v.flags === "gi"`},
	{name: "regexp-flags", src: `/x/gimsuy`},
	{name: "regexp-escapes", src: `new RegExp("a\\.b\\n[\\]]")`, check: `v.test("a.b\n]") && !v.test("axb\n]")`},
	{name: "arraybuffer", src: `new Uint8Array([1, 2]).buffer`, check: `v instanceof ArrayBuffer && v.byteLength === 2`},
	{name: "arraybuffer-empty", src: `new ArrayBuffer(0)`},
	{name: "int8array", src: `new Int8Array([-1, 127])`},
	{name: "uint8array", src: `new Uint8Array([1, 2, 255])`, check: `v instanceof Uint8Array && v[2] === 255`},
	{name: "uint8clampedarray", src: `new Uint8ClampedArray([300, -5])`},
	{name: "int16array", src: `new Int16Array([-2, 256])`},
	{name: "uint16array", src: `new Uint16Array([65535])`},
	{name: "int32array", src: `new Int32Array([-1])`},
	{name: "uint32array", src: `new Uint32Array([4294967295])`},
	{name: "float32array", src: `new Float32Array([1.5, -0])`},
	{name: "float64array", src: `new Float64Array([1.5, NaN])`},
	{name: "bigint64array", src: `new BigInt64Array([-1n])`, check: `v[0] === -1n`},
	{name: "biguint64array", src: `new BigUint64Array([2n ** 64n - 1n])`},
	{name: "typed-array-subarray", src: `new Uint8Array([1, 2, 3]).subarray(1)`, check: `v.byteOffset === 1 && v.length === 2 && v.buffer.byteLength === 3`},
	{name: "typed-array-offset", src: `new Uint16Array(new ArrayBuffer(8), 2, 2)`, check: `v.byteOffset === 2 && v.length === 2`},
	{name: "dataview", src: `new DataView(new ArrayBuffer(4), 1, 2)`, check: `v instanceof DataView && v.byteOffset === 1 && v.byteLength === 2`},
	{name: "shared-buffer", src: `(() => { const b = new ArrayBuffer(8); new Uint8Array(b).set([1, 2, 3, 4, 5, 6, 7, 8]); return [new Uint8Array(b, 0, 4), new Uint16Array(b, 4, 2), new DataView(b, 2), b]; })()`,
		check: `v[0].buffer === v[3] && v[1].buffer === v[3] && v[2].buffer === v[3] && v[1][0] === 0x0605`},
	{name: "shared-view", src: `(() => { const u = new Uint8Array(2); return [u, u]; })()`, check: `v[0] === v[1]`},
	{name: "error", src: `Object.assign(new Error("m"), {stack: "Error: m\n    at f (a.js:1:2)"})`, check: `v instanceof Error && v.message === "m" && v.stack === "Error: m\n    at f (a.js:1:2)"`},
	{name: "error-types", src: `["EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"].map((n) => Object.assign(new globalThis[n]("m"), {stack: "s"}))`,
		check: `v.every((e, i) => e instanceof globalThis[["EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"][i]])`},
	{name: "error-aggregate", src: `Object.assign(new AggregateError([1], "all"), {stack: "s"})`, check: `v instanceof AggregateError && v.message === "all"`},
	{name: "error-subclass", src: `(() => { class MyErr extends Error { constructor(m) { super(m); this.name = "MyErr"; } } return Object.assign(new MyErr("m"), {stack: "s"}); })()`,
		check: `v instanceof Error && v.name === "MyErr" && v.message === "m"`},
	{name: "error-no-stack", src: `Object.assign(new TypeError("m"), {stack: undefined})`, check: `v instanceof TypeError && v.message === "m"`,
		lossy: "an error read without a stack gets the one goja gives it"},
	{name: "wrappers", src: `[new String("x"), new Number(-0), new Boolean(false), Object(-2n), new Number(1.5)]`,
		check: `typeof v[0] === "object" && v[0] instanceof String && Object.is(v[1].valueOf(), -0) && v[3].valueOf() === -2n`},
	{name: "wrapper-lone-surrogate", src: `new String("s\uD800")`, check: `v.valueOf() === "s\uD800"`},
	{name: "wrapper-shared", src: `(() => { const w = new String("x"); return [w, w]; })()`, check: `v[0] === v[1]`},
	{name: "cycle-object", src: `(() => { const o = {name: "o"}; o.self = o; o.list = [o]; return o; })()`, check: `v.self === v && v.list[0] === v`},
	{name: "cycle-array", src: `(() => { const a = [1]; a.push(a); return a; })()`, check: `v[1] === v`},
	{name: "cycle-map", src: `(() => { const m = new Map(); m.set(m, m); return m; })()`, check: `v.get(v) === v`},
	{name: "cycle-set", src: `(() => { const s = new Set(); s.add(s); return s; })()`, check: `v.has(v)`},
	{name: "shared-object", src: `(() => { const s = {}; return [s, s, {s}]; })()`, check: `v[0] === v[1] && v[2].s === v[0]`},
	{name: "shared-date", src: `(() => { const d = new Date(5); return [d, d]; })()`, check: `v[0] === v[1]`},
	{name: "shared-many", src: `(() => { const a = Array.from({length: 20}, (_, i) => ({i})); a.push(a[3], a[19]); return a; })()`, check: `v[20] === v[3] && v[21] === v[19]`},
	{name: "capabilities", src: `[() => 1, {f: function () {}}, "x"]`, rpc: true, check: `typeof v[0] === "function" && v[0]() === 1 && v[1].f() === 2`},
	{name: "platform-objects", src: `(() => { class Plat { constructor(k, d) { this.k = k; this.d = d; } } globalThis.Plat = Plat; const u = new Plat("URL", "https://x.example/"); return [u, {u}, new Plat("Headers", [["a", "1"]])]; })()`,
		rpc: true, check: `v[0] instanceof Plat && v[1].u === v[0] && v[0].d === "https://x.example/" && v[2].k === "Headers" && v[2].d[0][1] === "1"`},
}

// goldenRefs is the Refs of an RPC corpus value: functions pass by
// reference, numbered from 1; capabilities read back as functions
// returning their id.
type goldenRefs struct {
	vm   *goja.Runtime
	next uint64
}

func (r *goldenRefs) ByRef(obj *goja.Object) bool {
	_, ok := goja.AssertFunction(obj)
	return ok
}

func (r *goldenRefs) Export(*goja.Object) uint64 {
	r.next++
	return r.next
}

func (r *goldenRefs) Import(id uint64) (goja.Value, error) {
	return r.vm.ToValue(func() uint64 { return id }), nil
}

// Host carries instances of the corpus class Plat as platform objects: its
// k is the kind, its d the payload.
func (r *goldenRefs) Host(obj *goja.Object) (string, goja.Value, bool, error) {
	ctor, ok := r.vm.Get("Plat").(*goja.Object)
	if !ok || obj.Get("constructor") != ctor {
		return "", nil, false, nil
	}
	return obj.Get("k").String(), obj.Get("d"), true, nil
}

func (r *goldenRefs) MakeHost(kind string, payload goja.Value) (goja.Value, error) {
	return r.vm.New(r.vm.Get("Plat"), r.vm.ToValue(kind), payload)
}

func goldenEncode(vm *goja.Runtime, v goja.Value, rpc bool) ([]byte, error) {
	if rpc {
		return SerializeRefs(vm, v, &goldenRefs{vm: vm})
	}
	return Serialize(vm, v)
}

func goldenDecode(vm *goja.Runtime, b []byte, rpc bool) (goja.Value, error) {
	if rpc {
		return DeserializeRefs(vm, b, &goldenRefs{vm: vm})
	}
	return Deserialize(vm, b)
}

// TestCloneGolden freezes the structured-clone encoding: every corpus
// value encodes to the bytes of its golden file, and every golden file
// decodes to a value that encodes to the same bytes again. With -update it
// rewrites the files instead.
func TestCloneGolden(t *testing.T) {
	vm := newCloneRuntime(t)
	names := make(map[string]bool)
	for _, c := range cloneCorpus {
		if names[c.name] {
			t.Fatalf("corpus name %s used twice", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			v, err := vm.RunString("(" + c.src + ")")
			if err != nil {
				t.Fatal(err)
			}
			got, err := goldenEncode(vm, v, c.rpc)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			path := filepath.Join(goldenDir, c.name+".hex")
			if *updateGolden {
				if err := os.WriteFile(path, golden.Format(c.src, got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := golden.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the encoding of %s changed (stored data would not read back the same):\n got % x\nwant % x", c.src, got, want)
			}

			dv, err := goldenDecode(vm, want, c.rpc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if c.lossy == "" {
				again, err := goldenEncode(vm, dv, c.rpc)
				if err != nil || !bytes.Equal(again, want) {
					t.Errorf("decoded value encodes to % x (%v), want % x", again, err, want)
				}
			}
			if c.check != "" {
				_ = vm.Set("v", dv)
				if ok, err := vm.RunString(c.check); err != nil || !ok.ToBoolean() {
					t.Errorf("decoded value fails %s (%v)", c.check, err)
				}
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".hex"); !names[name] {
			t.Errorf("golden file %s has no corpus entry (entries are never removed)", f)
		}
	}
}

// TestMarshalDecodesInJS: what Go code writes with clone.Marshal, JS code
// reads as the value it stands for, and the JS encoder writes that value
// back in the same bytes.
func TestMarshalDecodesInJS(t *testing.T) {
	buf := []byte{0, 0, 1, 2}
	self := map[string]any{"n": 1}
	self["self"] = self
	list := []any{"x"}
	tests := []struct {
		name  string
		v     any
		check string // true of v, the decoded value
		lossy string // why the JS encoder does not write the same bytes, if it does not
	}{
		{"null", nil, `v === null`, ""},
		{"undefined", clone.Undefined{}, `v === undefined`, ""},
		{"bool", true, `v === true`, ""},
		{"int", 42, `v === 42`, ""},
		{"float", 1.5, `v === 1.5`, ""},
		{"negative zero", math.Copysign(0, -1), `Object.is(v, -0)`, ""},
		{"NaN", math.NaN(), `Number.isNaN(v)`, ""},
		{"string", "h\u00e9llo", `v === "h\u00e9llo"`, ""},
		{"lone surrogate", "\xed\xa0\x80x", `v === "\uD800x" && v.length === 2`, ""},
		{"invalid utf-8", "a\xff", `v === "a\uFFFD"`, ""},
		{"bigint", new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 100)), `v === -(2n ** 100n)`, ""},
		{"date", time.UnixMilli(1700000000123), `v instanceof Date && v.getTime() === 1700000000123`, ""},
		{"invalid date", clone.InvalidDate{}, `v instanceof Date && Number.isNaN(v.getTime())`, ""},
		{"arraybuffer", []byte{1, 2, 3}, `v instanceof ArrayBuffer && new Uint8Array(v).join() === "1,2,3"`, ""},
		{"view", clone.View{Type: "Uint16Array", Buffer: buf, Offset: 2, Length: 1}, `v instanceof Uint16Array && v[0] === 0x0201 && v.byteOffset === 2 && v.buffer.byteLength === 4`, ""},
		{"dataview", clone.View{Type: "DataView", Buffer: buf, Offset: 1, Length: 3}, `v instanceof DataView && v.getUint8(2) === 2`, ""},
		{"shared buffer", []any{clone.View{Type: "Uint8Array", Buffer: buf}, clone.View{Type: "Int8Array", Buffer: buf, Length: 4}, buf},
			`v[0].buffer === v[2] && v[1].buffer === v[2] && v[0].length === 0`, ""},
		{"array", []any{1, "a", []any{true, nil}}, `JSON.stringify(v) === '[1,"a",[true,null]]'`, ""},
		{"typed slices and maps", map[string]any{"s": []string{"a", "b"}, "m": map[string]int{"x": 1}}, `v.s.join() === "a,b" && v.m.x === 1`, ""},
		{"object", map[string]any{"b": 1, "a": map[string]any{"c": clone.Undefined{}}}, `Object.keys(v).join() === "a,b" && "c" in v.a`, ""},
		{"proto key", map[string]any{"__proto__": map[string]any{"polluted": true}}, `Object.getPrototypeOf(v) === Object.prototype && v.polluted === undefined && Object.keys(v).join() === "__proto__"`, ""},
		{"map", clone.Map{{Key: "k", Value: 1}, {Key: []any{}, Value: clone.Set{"x"}}}, `v instanceof Map && v.get("k") === 1 && [...v.values()][1].has("x")`, ""},
		{"set", clone.Set{1, "x", nil}, `v instanceof Set && v.size === 3 && v.has(null)`, ""},
		{"error", &clone.Error{Name: "TypeError", Message: "bad", Stack: "TypeError: bad\n    at go"}, `v instanceof TypeError && v.message === "bad" && v.stack === "TypeError: bad\n    at go"`, ""},
		{"error subclass", &clone.Error{Name: "MyErr", Message: "m", Stack: "s"}, `v instanceof Error && v.name === "MyErr" && String(v) === "MyErr: m"`, ""},
		{"aggregate error", &clone.Error{Name: "AggregateError", Message: "all", Stack: "s"}, `v instanceof AggregateError && v.message === "all"`, ""},
		{"error without stack", &clone.Error{Name: "RangeError", Message: "r"}, `v instanceof RangeError && v.message === "r"`, "goja gives the error a stack"},
		{"regexp", clone.RegExp{Source: "a+b", Flags: "gi"}, `v instanceof RegExp && v.test("xAAB") && v.global`, ""},
		{"wrappers", []any{clone.Wrapper{Value: "s"}, clone.Wrapper{Value: 2}, clone.Wrapper{Value: false}, clone.Wrapper{Value: big.NewInt(3)}},
			`v[0] instanceof String && v[1] instanceof Number && v[2] instanceof Boolean && typeof v[3] === "object" && v[3].valueOf() === 3n`, ""},
		{"cycle", self, `v.self === v && v.n === 1`, ""},
		{"shared", []any{list, list}, `v[0] === v[1] && v[0][0] === "x"`, ""},
	}
	vm := newCloneRuntime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := clone.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Deserialize(vm, b)
			if err != nil {
				t.Fatalf("Deserialize(% x): %v", b, err)
			}
			_ = vm.Set("v", v)
			if ok, err := vm.RunString(tt.check); err != nil || !ok.ToBoolean() {
				t.Errorf("decoded value fails %s (%v)", tt.check, err)
			}
			if tt.lossy == "" {
				again, err := Serialize(vm, v)
				if err != nil || !bytes.Equal(again, b) {
					t.Errorf("JS encodes it as % x (%v), Marshal as % x", again, err, b)
				}
			}
		})
	}
}
