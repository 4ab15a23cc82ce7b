// node:zlib over Go's compress packages (package jsrt/webapi: zlib.go):
// gzip, gunzip, deflate, inflate, deflateRaw, inflateRaw and unzip, in
// sync and callback forms, the stream classes (createGzip, …), crc32, and
// the constants; brotliCompress and brotliDecompress (and their stream
// classes) over github.com/andybalholm/brotli.
"use strict";
const internal = require("cairn:internal");
const { Buffer } = require("buffer");

function input(buffer) {
  if (typeof buffer === "string") return Buffer.from(buffer, "utf8");
  if (buffer instanceof ArrayBuffer || ArrayBuffer.isView(buffer)) return buffer;
  const e = new TypeError('The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer.');
  e.code = "ERR_INVALID_ARG_TYPE";
  throw e;
}

// levelOf is options.level, or for brotli the quality in options.params.
function levelOf(kind, options) {
  if (!options) return undefined;
  if (kind.startsWith("brotli")) return options.params ? options.params[1 /* BROTLI_PARAM_QUALITY */] : undefined;
  return options.level;
}

function run(kind, buffer, options = {}) {
  const out = internal.zlibProcess(kind, input(buffer), levelOf(kind, options), options.maxOutputLength);
  return options.info ? { buffer: Buffer.from(out), engine: null } : Buffer.from(out);
}

const kinds = ["gzip", "gunzip", "deflate", "inflate", "deflateRaw", "inflateRaw", "unzip", "brotliCompress", "brotliDecompress"];
const api = {};
for (const kind of kinds) {
  const sync = (buffer, options) => run(kind, buffer, options);
  api[kind + "Sync"] = sync;
  api[kind] = function (buffer, options, callback) {
    if (typeof options === "function") [callback, options] = [options, undefined];
    if (typeof callback !== "function") {
      const e = new TypeError('The "callback" argument must be of type function.');
      e.code = "ERR_INVALID_ARG_TYPE";
      throw e;
    }
    let result, error = null;
    try {
      result = sync(buffer, options);
    } catch (e) {
      error = e;
    }
    queueMicrotask(() => (error ? callback(error) : callback(null, result)));
  };
}

// --- stream classes ---
//
// Transform streams of node:stream when the runtime has that module;
// otherwise EventEmitters with the same surface most code uses (write,
// end, pipe, the data/end/finish/close/error events, async iteration).
const STREAMS = { Gzip: "gzip", Gunzip: "gunzip", Deflate: "deflate", Inflate: "inflate", DeflateRaw: "deflateRaw", InflateRaw: "inflateRaw", Unzip: "unzip",
  BrotliCompress: "brotliCompress", BrotliDecompress: "brotliDecompress" };

let Transform = null;
try {
  Transform = require("stream").Transform;
} catch {
  // no node:stream: the fallback below
}

let ZlibBase;
if (typeof Transform === "function") {
  ZlibBase = class Zlib extends Transform {
    #h;
    #max;
    constructor(kind, options = {}) {
      super(options);
      this.#h = internal.zlibStreamNew(kind, levelOf(kind, options));
      this.#max = options.maxOutputLength;
    }
    _transform(chunk, encoding, cb) {
      try {
        const out = internal.zlibStreamWrite(this.#h, input(typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk));
        if (out.byteLength) this.push(Buffer.from(out));
        cb();
      } catch (e) {
        cb(e);
      }
    }
    _flush(cb) {
      try {
        const out = internal.zlibStreamEnd(this.#h, this.#max);
        if (out.byteLength) this.push(Buffer.from(out));
        cb();
      } catch (e) {
        cb(e);
      }
    }
  };
} else {
  const EventEmitter = require("events");
  ZlibBase = class Zlib extends EventEmitter {
    #h;
    #max;
    #ended = false;
    #chunks = [];
    #waiting = null;
    constructor(kind, options = {}) {
      super();
      this.#h = internal.zlibStreamNew(kind, levelOf(kind, options));
      this.#max = options.maxOutputLength;
      this.readable = this.writable = true;
    }
    #emit(name, value) { queueMicrotask(() => this.emit(name, value)); }
    #out(ab) {
      if (!ab.byteLength) return;
      const b = Buffer.from(ab);
      this.#chunks.push(b);
      this.#emit("data", b);
      this.#wake();
    }
    #wake() {
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = null;
        w();
      }
    }
    write(chunk, encoding, cb) {
      if (typeof encoding === "function") [cb, encoding] = [encoding, undefined];
      try {
        this.#out(internal.zlibStreamWrite(this.#h, input(typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk)));
        if (cb) queueMicrotask(() => cb(null));
      } catch (e) {
        this.#fail(e, cb);
      }
      return true;
    }
    end(chunk, encoding, cb) {
      if (typeof chunk === "function") [cb, chunk] = [chunk, undefined];
      if (typeof encoding === "function") [cb, encoding] = [encoding, undefined];
      if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
      if (this.#ended) return this;
      this.#ended = true;
      this.writable = false;
      try {
        this.#out(internal.zlibStreamEnd(this.#h, this.#max));
      } catch (e) {
        this.#fail(e, cb);
        return this;
      }
      this.readable = false;
      this.#emit("finish");
      this.#emit("end");
      this.#emit("close");
      this.#wake();
      if (cb) queueMicrotask(() => cb(null));
      return this;
    }
    #fail(e, cb) {
      this.#ended = true;
      this.error = e;
      this.#emit("error", e);
      this.#emit("close");
      this.#wake();
      if (cb) queueMicrotask(() => cb(e));
    }
    pipe(dest, { end = true } = {}) {
      this.on("data", (c) => dest.write(c));
      if (end) this.on("end", () => dest.end());
      return dest;
    }
    destroy(err) {
      if (!this.#ended) (err ? this.#fail(err) : (this.#ended = true, this.#emit("close")));
      return this;
    }
    [Symbol.asyncIterator]() {
      const next = () => {
        if (this.#chunks.length) return Promise.resolve({ value: this.#chunks.shift(), done: false });
        if (this.error) return Promise.reject(this.error);
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { this.#waiting = resolve; }).then(next);
      };
      return { next, return: () => Promise.resolve({ value: undefined, done: true }), [Symbol.asyncIterator]() { return this; } };
    }
  };
}

for (const [name, kind] of Object.entries(STREAMS)) {
  const Class = { [name]: class extends ZlibBase { constructor(options) { super(kind, options); } } }[name];
  api[name] = Class;
  api["create" + name] = (options) => new Class(options);
}

api.crc32 = (data, value = 0) => internal.zlibCrc32(typeof data === "string" ? data : input(data), value);

api.constants = Object.freeze({
  Z_NO_FLUSH: 0, Z_PARTIAL_FLUSH: 1, Z_SYNC_FLUSH: 2, Z_FULL_FLUSH: 3, Z_FINISH: 4, Z_BLOCK: 5,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6,
  Z_NO_COMPRESSION: 0, Z_BEST_SPEED: 1, Z_BEST_COMPRESSION: 9, Z_DEFAULT_COMPRESSION: -1,
  Z_FILTERED: 1, Z_HUFFMAN_ONLY: 2, Z_RLE: 3, Z_FIXED: 4, Z_DEFAULT_STRATEGY: 0, ZLIB_VERNUM: 4865,
  DEFLATE: 1, INFLATE: 2, GZIP: 3, GUNZIP: 4, DEFLATERAW: 5, INFLATERAW: 6, UNZIP: 7,
  Z_MIN_WINDOWBITS: 8, Z_MAX_WINDOWBITS: 15, Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_CHUNK: 64, Z_MAX_CHUNK: Infinity, Z_DEFAULT_CHUNK: 16384,
  Z_MIN_MEMLEVEL: 1, Z_MAX_MEMLEVEL: 9, Z_DEFAULT_MEMLEVEL: 8, Z_MIN_LEVEL: -1, Z_MAX_LEVEL: 9, Z_DEFAULT_LEVEL: -1,
  BROTLI_DECODE: 8, BROTLI_ENCODE: 9,
  BROTLI_OPERATION_PROCESS: 0, BROTLI_OPERATION_FLUSH: 1, BROTLI_OPERATION_FINISH: 2, BROTLI_OPERATION_EMIT_METADATA: 3,
  BROTLI_PARAM_MODE: 0, BROTLI_MODE_GENERIC: 0, BROTLI_MODE_TEXT: 1, BROTLI_MODE_FONT: 2, BROTLI_DEFAULT_MODE: 0,
  BROTLI_PARAM_QUALITY: 1, BROTLI_MIN_QUALITY: 0, BROTLI_MAX_QUALITY: 11, BROTLI_DEFAULT_QUALITY: 11,
  BROTLI_PARAM_LGWIN: 2, BROTLI_MIN_WINDOW_BITS: 10, BROTLI_MAX_WINDOW_BITS: 24, BROTLI_LARGE_MAX_WINDOW_BITS: 30,
  BROTLI_DEFAULT_WINDOW: 22, BROTLI_PARAM_LGBLOCK: 3, BROTLI_MIN_INPUT_BLOCK_BITS: 16, BROTLI_MAX_INPUT_BLOCK_BITS: 24,
  BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING: 4, BROTLI_PARAM_SIZE_HINT: 5, BROTLI_PARAM_LARGE_WINDOW: 6,
  BROTLI_PARAM_NPOSTFIX: 7, BROTLI_PARAM_NDIRECT: 8,
  BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION: 0, BROTLI_DECODER_PARAM_LARGE_WINDOW: 1,
});
// The constants are also on the module itself, as in Node.
for (const [k, v] of Object.entries(api.constants)) if (k.startsWith("Z_")) api[k] = v;
api.codes = Object.freeze({ Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3, Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6 });

module.exports = api;
