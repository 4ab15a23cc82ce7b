// node:assert and node:assert/strict: unenv's assert (module.exports, an
// ES module namespace, on entry) made what Node's is — the assert function
// itself with its methods, so CommonJS code can call require("assert")(ok)
// — with deep equality as Node compares: prototypes, Maps and Sets by
// content, typed arrays and ArrayBuffers by bytes, Dates, RegExps (source,
// flags, lastIndex), boxed primitives, errors (name, message), sparse
// arrays, symbol keys and cycles. node:util's isDeepStrictEqual is the same
// comparison (isDeepEqual, exported on the natives as deepEqual).
"use strict";
const internal = require("cairn:internal");

const tag = (v) => Object.prototype.toString.call(v);
const isObject = (v) => v !== null && (typeof v === "object" || typeof v === "function");

function isDeepEqual(a, b, strict, memos) {
  if (!isObject(a) || !isObject(b)) {
    if (strict || isObject(a) || isObject(b)) return Object.is(a, b);
    return a == b || (a !== a && b !== b); // eslint-disable-line eqeqeq
  }
  if (a === b) return true;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const t = tag(a);
  if (t !== tag(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  memos = memos || { a: new Map(), b: new Map() };
  const seenA = memos.a.get(a);
  if (seenA !== undefined) {
    const seenB = memos.b.get(b);
    if (seenB !== undefined) return seenA === seenB;
  }
  const depth = memos.a.size;
  memos.a.set(a, depth);
  memos.b.set(b, depth);
  try {
    return compareObjects(a, b, t, strict, memos);
  } finally {
    memos.a.delete(a);
    memos.b.delete(b);
  }
}

function bytesEqual(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer || a, a.byteOffset || 0, a.byteLength);
  const y = new Uint8Array(b.buffer || b, b.byteOffset || 0, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function compareObjects(a, b, t, strict, memos) {
  if (a instanceof Date || t === "[object Date]") {
    if (Date.prototype.getTime.call(a) !== Date.prototype.getTime.call(b)) return false;
  } else if (a instanceof RegExp || t === "[object RegExp]") {
    if (a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) return false;
  } else if (a instanceof Error) {
    if (a.message !== b.message || a.name !== b.name) return false;
    if (strict && "cause" in a !== "cause" in b) return false;
    if ("cause" in a && !isDeepEqual(a.cause, b.cause, strict, memos)) return false;
  } else if (ArrayBuffer.isView(a)) {
    if (!ArrayBuffer.isView(b) || a.constructor !== b.constructor && strict) return false;
    if (!strict && (t === "[object Float32Array]" || t === "[object Float64Array]")) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    } else if (!bytesEqual(a, b)) return false;
    // Own keys beyond the indices (rare) are compared below.
    return keysEqual(a, b, strict, memos, (k) => !/^\d+$/.test(k));
  } else if (t === "[object ArrayBuffer]" || t === "[object SharedArrayBuffer]") {
    if (!bytesEqual(a, b)) return false;
  } else if (t === "[object Number]" || t === "[object String]" || t === "[object Boolean]" || t === "[object BigInt]" || t === "[object Symbol]") {
    if (!Object.is(a.valueOf(), b.valueOf())) return false;
  } else if (t === "[object WeakMap]" || t === "[object WeakSet]" || t === "[object Promise]") {
    return false; // not the same object (checked first)
  }
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size || !mapsEqual(a, b, strict, memos)) return false;
  } else if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size || !setsEqual(a, b, strict, memos)) return false;
  }
  return keysEqual(a, b, strict, memos);
}

function ownKeys(o, strict) {
  const keys = Object.keys(o);
  if (strict) {
    for (const s of Object.getOwnPropertySymbols(o)) if (Object.prototype.propertyIsEnumerable.call(o, s)) keys.push(s);
  }
  return keys;
}

function keysEqual(a, b, strict, memos, filter) {
  let ka = ownKeys(a, strict), kb = ownKeys(b, strict);
  if (filter) {
    ka = ka.filter((k) => typeof k !== "string" || filter(k));
    kb = kb.filter((k) => typeof k !== "string" || filter(k));
  }
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.propertyIsEnumerable.call(b, k)) return false;
    if (!isDeepEqual(a[k], b[k], strict, memos)) return false;
  }
  return true;
}

function setsEqual(a, b, strict, memos) {
  let pending = null;
  for (const v of a) {
    if (isObject(v) || (!strict && !b.has(v))) (pending = pending || []).push(v);
    else if (!b.has(v)) return false;
  }
  if (!pending) return true;
  const candidates = [...b].filter((v) => isObject(v) || !strict);
  for (const v of pending) {
    const i = candidates.findIndex((w) => isDeepEqual(v, w, strict, memos));
    if (i === -1) return false;
    candidates.splice(i, 1);
  }
  return true;
}

function mapsEqual(a, b, strict, memos) {
  let pending = null;
  for (const [k, v] of a) {
    if (!isObject(k) && b.has(k)) {
      if (!isDeepEqual(v, b.get(k), strict, memos)) return false;
    } else if (isObject(k) || !strict) (pending = pending || []).push([k, v]);
    else return false;
  }
  if (!pending) return true;
  const candidates = [...b].filter(([k]) => isObject(k) || !strict);
  for (const [k, v] of pending) {
    const i = candidates.findIndex(([k2, v2]) => isDeepEqual(k, k2, strict, memos) && isDeepEqual(v, v2, strict, memos));
    if (i === -1) return false;
    candidates.splice(i, 1);
  }
  return true;
}

internal.deepEqual = isDeepEqual;

// --- the assert function ---

const ns = module.exports;
const base = typeof ns === "function" ? ns : ns.default;
const { AssertionError } = base;
const inspect = (v) => {
  try {
    return internal.inspect(v);
  } catch {
    return String(v);
  }
};

function fail(actual, expected, message, operator, text, fn) {
  if (message instanceof Error) throw message;
  const msg = message === undefined ? `${text}\n\n${inspect(actual)}\n\nshould ${operator.startsWith("not") ? "not " : ""}equal\n\n${inspect(expected)}` : String(message);
  const e = new AssertionError({ actual, expected, operator, message: msg, stackStartFn: fn });
  // unenv's AssertionError may build a message of its own.
  Object.defineProperty(e, "message", { value: msg, writable: true, enumerable: false, configurable: true });
  e.generatedMessage = message === undefined;
  throw e;
}

function deep(strict, not, name, text) {
  const fn = {
    [name](actual, expected, message) {
      if (arguments.length < 2) {
        const e = new TypeError('The "actual" and "expected" arguments must be specified');
        e.code = "ERR_MISSING_ARGS";
        throw e;
      }
      if (isDeepEqual(actual, expected, strict) === not) fail(actual, expected, message, name, text, fn);
    },
  }[name];
  return fn;
}

const methods = {
  deepEqual: deep(false, false, "deepEqual", "Expected values to be loosely deep-equal:"),
  deepStrictEqual: deep(true, false, "deepStrictEqual", "Expected values to be strictly deep-equal:"),
  notDeepEqual: deep(false, true, "notDeepEqual", "Expected \"actual\" not to be loosely deep-equal to:"),
  notDeepStrictEqual: deep(true, true, "notDeepStrictEqual", "Expected \"actual\" not to be strictly deep-equal to:"),
};

// assert (and assert.strict) with the deep comparisons replaced. In strict
// mode deepEqual is deepStrictEqual, as in Node.
function patched(fn, strict) {
  const out = function assert(...args) { return fn.apply(this, args); };
  Object.defineProperty(out, "name", { value: fn.name || "ok" });
  for (const k of Object.getOwnPropertyNames(fn)) {
    if (k === "length" || k === "name" || k === "prototype" || k === "caller" || k === "arguments") continue;
    out[k] = fn[k];
  }
  Object.assign(out, methods);
  if (strict) {
    out.deepEqual = methods.deepStrictEqual;
    out.notDeepEqual = methods.notDeepStrictEqual;
  }
  return out;
}

// require("assert/strict") is assert.strict (jsrt/modules.go).
const assert = patched(base, false);
assert.strict = patched(base.strict || base, true);
assert.strict.strict = assert.strict;
module.exports = assert;
