// Completes node:buffer (goja_nodejs's Buffer, which has only from, alloc
// and concat as statics, and no copy or slice) with the methods npm
// packages call: Buffer.allocUnsafe, allocUnsafeSlow, isBuffer, byteLength,
// isEncoding, compare; buf.copy, slice (a view, as in Node), compare,
// toJSON, and indexOf/lastIndexOf/includes/fill with a string or Buffer.
// Run once per runtime on the module's exports (see jsrt/modules.go); not a
// module of its own.
"use strict";
const { Buffer } = module.exports;
const define = (name, fn) => {
  if (typeof Buffer[name] !== "function") {
    Object.defineProperty(Buffer, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
};
const ENCODINGS = ["utf8", "utf-8", "hex", "base64", "base64url", "ascii", "latin1", "binary", "ucs2", "ucs-2", "utf16le", "utf-16le"];
define("allocUnsafe", (size) => Buffer.alloc(size));
define("allocUnsafeSlow", (size) => Buffer.alloc(size));
define("isBuffer", (b) => b instanceof Buffer);
define("isEncoding", (e) => typeof e === "string" && ENCODINGS.includes(e.toLowerCase()));
define("byteLength", (v, encoding) => {
  if (typeof v === "string") return Buffer.from(v, encoding).length;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength;
  throw new TypeError('The "string" argument must be of type string or an instance of Buffer or ArrayBuffer.');
});
define("compare", (a, b) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
});

const proto = Buffer.prototype;
const method = (name, fn, always) => {
  if (always || !Object.prototype.hasOwnProperty.call(proto, name)) {
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
};
method("copy", function copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
  sourceEnd = Math.min(sourceEnd, this.length, sourceStart + (target.length - targetStart));
  if (sourceEnd <= sourceStart) return 0;
  const src = new Uint8Array(this.buffer, this.byteOffset + sourceStart, sourceEnd - sourceStart);
  target.set(src, targetStart);
  return src.length;
});
method("slice", function slice(start, end) { return this.subarray(start, end); }, true);
method("compare", function compare(target) { return Buffer.compare(this, target); });
method("toJSON", function toJSON() { return { type: "Buffer", data: Array.from(this) }; });
const bytesOf = (v, encoding) =>
  typeof v === "string" ? Buffer.from(v, encoding) : typeof v === "number" ? null : v;
const search = (name, native) =>
  method(name, function (value, byteOffset, encoding) {
    const needle = bytesOf(value, encoding);
    if (needle === null) return native.call(this, value & 255, byteOffset);
    const from = byteOffset === undefined ? (name === "lastIndexOf" ? this.length - needle.length : 0) : byteOffset < 0 ? this.length + byteOffset : byteOffset;
    const step = name === "lastIndexOf" ? -1 : 1;
    for (let i = Math.max(0, Math.min(from, this.length - needle.length)); i >= 0 && i <= this.length - needle.length; i += step) {
      let j = 0;
      while (j < needle.length && this[i + j] === needle[j]) j++;
      if (j === needle.length) return i;
      if (step > 0 && i >= this.length - needle.length) break;
    }
    return -1;
  }, true);
search("indexOf", Uint8Array.prototype.indexOf);
search("lastIndexOf", Uint8Array.prototype.lastIndexOf);
method("includes", function includes(value, byteOffset, encoding) { return this.indexOf(value, byteOffset, encoding) !== -1; }, true);
const nativeFill = Uint8Array.prototype.fill;
method("fill", function fill(value, offset = 0, end = this.length, encoding) {
  if (typeof value !== "string" && !ArrayBuffer.isView(value)) return nativeFill.call(this, value & 255, offset, end);
  const bytes = bytesOf(value, encoding);
  if (bytes.length === 0) return nativeFill.call(this, 0, offset, end);
  for (let i = offset, j = 0; i < end; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
  return this;
}, true);

// The module's size limits, as Node's (and workerd's) 64-bit values.
const exportsOf = module.exports;
const MAX_LENGTH = 2 ** 32;
const MAX_STRING_LENGTH = 2 ** 29 - 24;
for (const [name, value] of [
  ["constants", Object.freeze({ MAX_LENGTH, MAX_STRING_LENGTH })],
  ["kMaxLength", MAX_LENGTH],
  ["kStringMaxLength", MAX_STRING_LENGTH],
  ["INSPECT_MAX_BYTES", 50],
]) {
  if (exportsOf[name] === undefined) exportsOf[name] = value;
}
if (Buffer.poolSize === undefined) Buffer.poolSize = 8192;
