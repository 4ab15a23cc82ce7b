package jsrt

import "testing"

// structuredClone and the serialize/deserialize natives as scripts see
// them, with the prelude's DOMException (the conversion itself is tested
// in package jsclone).
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
