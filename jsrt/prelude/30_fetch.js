// Headers, Blob, File, FormData, Request, Response, fetch and the wire
// conversions Go uses (see doc.go).
//
// Bodies are kept as a Uint8Array while possible: a body is a stream only if
// it was given as a ReadableStream, came from Go as a stream (an incoming
// request, a fetch response: sourceStream), or somebody touched `.body`. So
// `new Response("ok")` reaches the wire without any stream machinery. A
// stream body goes to the wire unread (bodyTake): Go reads it as it sends
// it (see jsrt/body.go).
//
// Simplified / Workers-flavoured:
//   - Headers have guards "none" and "immutable" only (immutable: incoming
//     requests, fetch() responses, Response.redirect/error), like Workers'
//     "Can't modify immutable headers." No forbidden-header filtering.
//   - Request: mode/credentials/cache/referrer/integrity are fixed defaults;
//     method names are token-checked and DELETE/GET/HEAD/OPTIONS/POST/PUT/PATCH
//     are uppercased. `new Request(req)` (and fetch(req)) takes req's body:
//     req.bodyUsed turns true, as the spec and workerd have it (bytes are
//     shared, not copied). A null body is never "used".
//   - Passing a body stream that came from another body (`new Response(
//     res.body, res)`) reuses its bytes and locks the source stream.
//   - The request wire also carries `redirect` ("follow" | "manual" |
//     "error"); responseFromWire honours optional `url` / `redirected`
//     fields.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const utf8Encode = cairn.utf8Encode;
  const utf8Decode = cairn.utf8Decode;

  function define(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  const EMPTY = new Uint8Array(0);

  // toBytes copies a BufferSource into a fresh Uint8Array.
  function copyBytes(x) {
    if (x instanceof ArrayBuffer) return new Uint8Array(x.slice(0));
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
    throw new TypeError("Expected an ArrayBuffer or ArrayBufferView");
  }

  function isBufferSource(x) {
    return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
  }

  function concatBytes(chunks, total) {
    if (chunks.length === 1) return chunks[0];
    if (typeof cairn.concatBytes === "function") return new Uint8Array(cairn.concatBytes(chunks));
    if (total === undefined) {
      total = 0;
      for (const c of chunks) total += c.byteLength;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  // bufferOf returns an ArrayBuffer holding exactly the bytes of u8, without
  // copying when u8 spans its whole buffer.
  function bufferOf(u8) {
    if (u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength) return u8.buffer;
    return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
  }

  function indexOfBytes(hay, needle, from) {
    const n = needle.length;
    const first = needle[0];
    const last = hay.length - n;
    outer: for (let i = from; i <= last; i++) {
      if (hay[i] !== first) continue;
      for (let j = 1; j < n; j++) if (hay[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  }

  // webIDLOperations makes the methods and accessors of a class prototype
  // enumerable, as Web IDL defines an interface's operations and attributes
  // (a class's own are not); @@iterator and the constructor stay as they are.
  function webIDLOperations(proto) {
    for (const k of Object.getOwnPropertyNames(proto)) {
      if (k === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(proto, k);
      if (d.configurable) Object.defineProperty(proto, k, { enumerable: true });
    }
  }

  // --- Headers ---

  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  // A header value is a ByteString (code units up to 0xFF: a byte each, as
  // Latin-1) without NUL, CR or LF.
  const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;

  function normalizeName(name) {
    name = String(name);
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: ${JSON.stringify(name)}`);
    return name.toLowerCase();
  }

  function normalizeValue(value) {
    value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (BAD_VALUE.test(value)) throw new TypeError(`Invalid header value: ${JSON.stringify(value)}`);
    return value;
  }

  let headersIsImmutable, headersSetGuard, headersPairs, headersFromWire, isHeaders;

  class Headers {
    #map = new Map(); // lowercased name -> array of values
    #immutable = false;
    static {
      headersIsImmutable = (h) => h.#immutable;
      isHeaders = (o) => Headers.#has(o);
      headersSetGuard = (h) => { h.#immutable = true; return h; };
      // headersPairs lists [name, value] pairs unsorted, for the wire.
      headersPairs = (h) => {
        const out = [];
        h.#map.forEach((vs, k) => {
          for (let i = 0; i < vs.length; i++) out.push([k, vs[i]]);
        });
        return out;
      };
      // headersFromWire trusts Go's header names (valid tokens).
      headersFromWire = (pairs) => {
        const h = new Headers();
        const map = h.#map;
        if (pairs) {
          for (let i = 0; i < pairs.length; i++) {
            const name = String(pairs[i][0]).toLowerCase();
            const value = String(pairs[i][1]);
            const vs = map.get(name);
            if (vs) vs.push(value);
            else map.set(name, [value]);
          }
        }
        return h;
      };
    }
    constructor(init) {
      if (init === undefined) return;
      if (init === null || (typeof init !== "object" && typeof init !== "function")) {
        throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
      }
      const iter = init[Symbol.iterator];
      if (iter === headersIterator && isHeaders(init)) {
        const map = this.#map;
        init.#map.forEach((vs, k) => map.set(k, vs.slice()));
      } else if (iter !== undefined && iter !== null) {
        if (typeof iter !== "function") throw new TypeError("Failed to construct 'Headers': @@iterator is not callable.");
        for (const pair of { [Symbol.iterator]: () => iter.call(init) }) {
          const p = (typeof pair !== "object" && typeof pair !== "function") || pair === null ? null : Array.from(pair);
          if (!p || p.length !== 2) throw new TypeError("Failed to construct 'Headers': Invalid value: each header pair must be a name/value tuple.");
          this.append(p[0], p[1]);
        }
      } else {
        // record<ByteString, ByteString>: own keys in order, each enumerable
        // one read once; a Symbol key cannot become a ByteString.
        for (const k of Reflect.ownKeys(init)) {
          const desc = Reflect.getOwnPropertyDescriptor(init, k);
          if (desc === undefined || !desc.enumerable) continue;
          if (typeof k === "symbol" || /[^\x00-\xff]/.test(k)) throw new TypeError("Failed to construct 'Headers': a header name must be a ByteString.");
          this.append(k, init[k]);
        }
      }
    }
    static #has(o) {
      return #map in o;
    }
    #check() {
      if (this.#immutable) throw new TypeError("Can't modify immutable headers.");
    }
    append(name, value) {
      this.#check();
      name = normalizeName(name);
      value = normalizeValue(value);
      const vs = this.#map.get(name);
      if (vs) vs.push(value);
      else this.#map.set(name, [value]);
    }
    delete(name) {
      this.#check();
      this.#map.delete(normalizeName(name));
    }
    get(name) {
      const vs = this.#map.get(normalizeName(name));
      return vs ? vs.join(", ") : null;
    }
    getAll(name) {
      name = normalizeName(name);
      if (name !== "set-cookie") throw new TypeError("getAll() can only be used with the header name \"Set-Cookie\".");
      return this.getSetCookie();
    }
    getSetCookie() {
      const vs = this.#map.get("set-cookie");
      return vs ? vs.slice() : [];
    }
    has(name) {
      return this.#map.has(normalizeName(name));
    }
    set(name, value) {
      this.#check();
      this.#map.set(normalizeName(name), [normalizeValue(value)]);
    }
    #list() {
      const names = Array.from(this.#map.keys()).sort();
      const out = [];
      for (const k of names) {
        const vs = this.#map.get(k);
        if (k === "set-cookie") for (const v of vs) out.push([k, v]);
        else out.push([k, vs.join(", ")]);
      }
      return out;
    }
    forEach(callback, thisArg) {
      for (const [k, v] of this.#list()) callback.call(thisArg, v, k, this);
    }
    entries() { return new HeadersIterator(this.#list(), 2); }
    keys() { return new HeadersIterator(this.#list(), 0); }
    values() { return new HeadersIterator(this.#list(), 1); }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return "Headers"; }
  }
  const headersIterator = Headers.prototype[Symbol.iterator];
  webIDLOperations(Headers.prototype);

  // HeadersIterator is the iterator of keys(), values() and entries(): over
  // the sorted and combined list taken when it was made, with the prototype
  // Web IDL gives a pair iterator (an enumerable next, "Headers Iterator").
  class HeadersIterator {
    #list;
    #kind; // 0 keys, 1 values, 2 entries
    #i = 0;
    constructor(list, kind) {
      this.#list = list;
      this.#kind = kind;
    }
    next() {
      if (this.#i >= this.#list.length) return { value: undefined, done: true };
      const e = this.#list[this.#i++];
      return { value: this.#kind === 2 ? e : e[this.#kind], done: false };
    }
    get [Symbol.toStringTag]() { return "Headers Iterator"; }
  }
  Object.setPrototypeOf(HeadersIterator.prototype, Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  delete HeadersIterator.prototype.constructor;
  webIDLOperations(HeadersIterator.prototype);

  // --- Blob / File ---

  let blobBytes;

  function normalizeType(type) {
    type = type === undefined ? "" : String(type);
    return /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : "";
  }

  class Blob {
    #bytes;
    #type;
    static {
      blobBytes = (b) => b.#bytes;
    }
    constructor(parts, options) {
      const chunks = [];
      if (parts !== undefined && parts !== null) {
        if (typeof parts !== "object" || typeof parts[Symbol.iterator] !== "function") {
          throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
        }
        for (const p of parts) {
          if (typeof p === "string") chunks.push(utf8Encode(p));
          else if (p !== null && typeof p === "object" && #bytes in p) chunks.push(p.#bytes);
          else if (isBufferSource(p)) chunks.push(copyBytes(p));
          else chunks.push(utf8Encode(String(p)));
        }
      }
      this.#bytes = chunks.length === 0 ? EMPTY : concatBytes(chunks);
      this.#type = normalizeType(options && options.type);
    }
    get size() { return this.#bytes.byteLength; }
    get type() { return this.#type; }
    slice(start, end, contentType) {
      const size = this.#bytes.byteLength;
      const rel = (v, d) => {
        if (v === undefined) return d;
        v = Math.trunc(Number(v)) || 0;
        return v < 0 ? Math.max(size + v, 0) : Math.min(v, size);
      };
      const s = rel(start, 0);
      const e = rel(end, size);
      const b = new Blob([], { type: contentType });
      b.#bytes = this.#bytes.subarray(s, Math.max(s, e));
      return b;
    }
    async text() { return utf8Decode(this.#bytes, false, false); }
    async arrayBuffer() { return this.#bytes.slice().buffer; }
    async bytes() { return this.#bytes.slice(); }
    stream() { return bytesStream(this.#bytes); }
    get [Symbol.toStringTag]() { return "Blob"; }
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(bits, name, options) {
      if (arguments.length < 2) throw new TypeError("Failed to construct 'File': 2 arguments required, but only " + arguments.length + " present.");
      super(bits, options);
      this.#name = String(name);
      this.#lastModified = options && options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get [Symbol.toStringTag]() { return "File"; }
  }

  function bytesStream(bytes) {
    return new ReadableStream({
      type: "bytes",
      start(c) {
        if (bytes.byteLength > 0) c.enqueue(bytes.slice());
        c.close();
      },
    });
  }

  // --- FormData ---

  function formValue(value, filename) {
    if (value instanceof Blob) {
      if (filename !== undefined) return new File([value], String(filename), { type: value.type });
      if (value instanceof File) return value;
      return new File([value], "blob", { type: value.type });
    }
    return String(value);
  }

  let formEntries;

  class FormData {
    #entries = [];
    static {
      formEntries = (f) => f.#entries;
    }
    constructor(form) {
      if (form !== undefined) throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
    }
    append(name, value, filename) {
      this.#entries.push([String(name), formValue(value, filename)]);
    }
    set(name, value, filename) {
      name = String(name);
      const entry = [name, formValue(value, filename)];
      const i = this.#entries.findIndex((e) => e[0] === name);
      if (i < 0) {
        this.#entries.push(entry);
        return;
      }
      this.#entries[i] = entry;
      this.#entries = this.#entries.filter((e, j) => j <= i || e[0] !== name);
    }
    get(name) {
      name = String(name);
      const e = this.#entries.find((e) => e[0] === name);
      return e ? e[1] : null;
    }
    getAll(name) {
      name = String(name);
      return this.#entries.filter((e) => e[0] === name).map((e) => e[1]);
    }
    has(name) {
      name = String(name);
      return this.#entries.some((e) => e[0] === name);
    }
    delete(name) {
      name = String(name);
      this.#entries = this.#entries.filter((e) => e[0] !== name);
    }
    forEach(callback, thisArg) {
      for (const [k, v] of this.#entries.slice()) callback.call(thisArg, v, k, this);
    }
    entries() { return this.#entries.map((e) => [e[0], e[1]])[Symbol.iterator](); }
    keys() { return this.#entries.map((e) => e[0])[Symbol.iterator](); }
    values() { return this.#entries.map((e) => e[1])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return "FormData"; }
  }

  function escapeFormName(s) {
    return s.replace(/\r\n|\r|\n/g, "\r\n").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
  }

  function randomHex(n) {
    let s = "";
    for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16);
    return s;
  }

  // encodeMultipart returns {bytes, type} for a FormData.
  function encodeMultipart(form) {
    const boundary = "----cairnFormBoundary" + randomHex(24);
    const chunks = [];
    for (const [name, value] of formEntries(form)) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeFormName(name)}"`;
      if (typeof value === "string") {
        chunks.push(utf8Encode(head + "\r\n\r\n" + value.replace(/\r\n|\r|\n/g, "\r\n") + "\r\n"));
      } else {
        head += `; filename="${escapeFormName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
        chunks.push(utf8Encode(head), blobBytes(value), utf8Encode("\r\n"));
      }
    }
    chunks.push(utf8Encode(`--${boundary}--\r\n`));
    return { bytes: concatBytes(chunks), type: `multipart/form-data; boundary=${boundary}` };
  }

  function unescapeFormName(s) {
    return s.replace(/%22/g, '"').replace(/%0D/gi, "\r").replace(/%0A/gi, "\n");
  }

  function headerParam(value, param) {
    const re = new RegExp(`(?:^|;)\\s*${param}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i");
    const m = re.exec(value);
    if (!m) return null;
    return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
  }

  function parseMultipart(bytes, boundary) {
    const fail = () => new TypeError("Failed to parse body as FormData.");
    const form = new FormData();
    const delim = utf8Encode("--" + boundary);
    const nextDelim = utf8Encode("\r\n--" + boundary);
    const crlf2 = utf8Encode("\r\n\r\n");
    let pos = indexOfBytes(bytes, delim, 0);
    if (pos < 0) throw fail();
    pos += delim.length;
    for (;;) {
      if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return form; // closing "--"
      while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos++;
      if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) throw fail();
      pos += 2;
      let headEnd;
      let headText;
      if (bytes[pos] === 0x0d && bytes[pos + 1] === 0x0a) {
        headEnd = pos;
        headText = "";
      } else {
        headEnd = indexOfBytes(bytes, crlf2, pos);
        if (headEnd < 0) throw fail();
        headText = utf8Decode(bytes.subarray(pos, headEnd), false, true);
        headEnd += 2;
      }
      const start = headEnd + 2;
      const end = indexOfBytes(bytes, nextDelim, start);
      if (end < 0) throw fail();
      let disposition = null;
      let type = "";
      for (const line of headText.split("\r\n")) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === "content-disposition") disposition = v;
        else if (k === "content-type") type = v;
      }
      if (disposition === null || !/^form-data/i.test(disposition)) throw fail();
      const name = headerParam(disposition, "name");
      if (name === null) throw fail();
      const filename = headerParam(disposition, "filename");
      const data = bytes.subarray(start, end);
      if (filename !== null) {
        form.append(unescapeFormName(name), new File([data], unescapeFormName(filename), { type }));
      } else {
        form.append(unescapeFormName(name), utf8Decode(data, false, true));
      }
      pos = end + nextDelim.length;
    }
  }

  // --- Body ---

  // extractBody turns a BodyInit into {bytes, stream, type}.
  function extractBody(init) {
    if (typeof init === "string") return { bytes: utf8Encode(init), stream: null, type: "text/plain;charset=UTF-8" };
    if (isBufferSource(init)) return { bytes: copyBytes(init), stream: null, type: null };
    if (init instanceof Blob) return { bytes: blobBytes(init), stream: null, type: init.type || null };
    if (typeof URLSearchParams === "function" && init instanceof URLSearchParams) {
      return { bytes: utf8Encode(init.toString()), stream: null, type: "application/x-www-form-urlencoded;charset=UTF-8" };
    }
    if (init instanceof FormData) {
      const m = encodeMultipart(init);
      return { bytes: m.bytes, stream: null, type: m.type };
    }
    if (typeof ReadableStream === "function" && init instanceof ReadableStream) {
      if (init.locked || cairn.streamDisturbed(init)) throw new TypeError("The ReadableStream has already been used or is locked.");
      const bytes = streamSource.get(init);
      if (bytes !== undefined) {
        init.getReader(); // the source body hands its bytes over
        return { bytes, stream: null, type: null };
      }
      return { bytes: null, stream: init, type: null };
    }
    return { bytes: utf8Encode(String(init)), stream: null, type: "text/plain;charset=UTF-8" };
  }

  // streamSource maps streams made lazily from body bytes to those bytes.
  const streamSource = new WeakMap();

  // nativeSource maps streams made from a Go body (see jsrt/body.go) to it:
  // such a stream, untouched, goes back to Go as the Go body itself.
  const nativeSource = new WeakMap();

  // sourceStream makes a byte stream that reads a Go body as it is pulled:
  // one chunk per read, none ahead (backpressure reaches the socket).
  function sourceStream(src) {
    const stream = new ReadableStream({
      type: "bytes",
      pull(c) {
        return cairn.bodyRead(src).then((buf) => {
          if (buf === null) {
            c.close();
            if (c.byobRequest) c.byobRequest.respond(0); // ends a pending BYOB read
          } else c.enqueue(new Uint8Array(buf));
        });
      },
      cancel() { cairn.bodyCancel(src); },
    }, { highWaterMark: 0 });
    nativeSource.set(stream, src);
    return stream;
  }

  // goReader locks stream for Go to read: read() resolves to the next chunk
  // as a Uint8Array or null at the end, and rejects if a chunk is not bytes.
  function goReader(stream) {
    const reader = stream.getReader();
    return {
      read() {
        return reader.read().then(({ value, done }) => {
          if (done) return null;
          if (value instanceof Uint8Array) return value;
          if (value instanceof ArrayBuffer) return new Uint8Array(value);
          if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
          const err = new TypeError("This ReadableStream did not return bytes.");
          reader.cancel(err).catch(() => {});
          throw err;
        });
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => {});
      },
    };
  }

  async function readAll(stream) {
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let chunk;
      if (value instanceof Uint8Array) chunk = value;
      else if (isBufferSource(value)) chunk = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      else {
        const err = new TypeError("This ReadableStream did not return bytes.");
        reader.cancel(err).catch(() => {});
        throw err;
      }
      chunks.push(chunk);
      total += chunk.byteLength;
    }
    reader.releaseLock();
    return chunks.length === 0 ? EMPTY : concatBytes(chunks, total);
  }

  const USED = "Body has already been used. It can only be used once. Use tee() first if you need to read it twice.";

  let bodyState, bodySet, bodyBytes, bodyTake;

  // Body is the shared base of Request and Response (the Body mixin).
  class Body {
    #null = true;
    #bytes = null; // Uint8Array while the body is (also) held as bytes
    #stream = null; // ReadableStream once made or given
    #used = false;
    static {
      bodySet = (b, extracted) => {
        b.#null = extracted === null;
        b.#bytes = extracted ? extracted.bytes : null;
        b.#stream = extracted ? extracted.stream : null;
        b.#used = false;
      };
      bodyState = (b) => ({ isNull: b.#null, bytes: b.#bytes, stream: b.#stream });
      // bodyBytes consumes the body and resolves to its bytes (null for a
      // null body).
      bodyBytes = (b) => b.#consume();
      // bodyTake consumes the body for the wire without reading it: its
      // bytes, the Go body it streams from, or a reader of its stream
      // (see jsrt/body.go). It throws if the body was used.
      bodyTake = (b, wire) => {
        if (b.bodyUsed) throw new TypeError(USED);
        if (b.#stream !== null && b.#stream.locked) throw new TypeError("The body's ReadableStream is locked.");
        b.#used = true;
        wire.body = null;
        if (b.#null) return;
        if (b.#bytes !== null) {
          if (b.#stream !== null) b.#stream.cancel().catch(() => {});
          wire.body = bufferOf(b.#bytes);
          return;
        }
        const src = nativeSource.get(b.#stream);
        if (src !== undefined) {
          b.#stream.getReader(); // Go reads it now
          wire.source = src;
          return;
        }
        const length = cairn.streamLength(b.#stream);
        if (length !== undefined) wire.length = length;
        wire.stream = goReader(b.#stream);
      };
    }
    get body() {
      if (this.#null) return null;
      if (this.#stream === null) {
        this.#stream = bytesStream(this.#bytes);
        streamSource.set(this.#stream, this.#bytes);
      }
      return this.#stream;
    }
    get bodyUsed() {
      return this.#used || (this.#stream !== null && cairn.streamDisturbed(this.#stream));
    }
    #consume() {
      if (this.bodyUsed) return Promise.reject(new TypeError(USED));
      if (this.#null) return Promise.resolve(null); // nothing to disturb: bodyUsed stays false
      if (this.#stream !== null && this.#stream.locked) return Promise.reject(new TypeError("The body's ReadableStream is locked."));
      this.#used = true;
      if (this.#bytes !== null) {
        if (this.#stream !== null) this.#stream.cancel().catch(() => {});
        return Promise.resolve(this.#bytes);
      }
      const src = nativeSource.get(this.#stream);
      if (src !== undefined && typeof cairn.bodyReadAll === "function") {
        this.#stream.getReader(); // Go reads the rest at once
        return cairn.bodyReadAll(src).then((buf) => new Uint8Array(buf));
      }
      return readAll(this.#stream);
    }
    // cloneBody gives other a copy of this body, teeing a stream.
    static _clone(from, to) {
      if (from.bodyUsed) throw new TypeError("Body has already been used. It can only be used once.");
      to.#null = from.#null;
      to.#bytes = from.#bytes;
      if (from.#bytes === null && from.#stream !== null) {
        const [a, b] = from.#stream.tee();
        from.#stream = a;
        to.#stream = b;
      }
    }
    async arrayBuffer() {
      const b = await this.#consume();
      return b === null ? new ArrayBuffer(0) : b.slice().buffer;
    }
    async bytes() {
      const b = await this.#consume();
      return b === null ? new Uint8Array(0) : b.slice();
    }
    async text() {
      const b = await this.#consume();
      return b === null ? "" : utf8Decode(b, false, false);
    }
    async json() {
      return JSON.parse(await this.text());
    }
    async blob() {
      const b = await this.#consume();
      return new Blob(b === null ? [] : [b], { type: this.headers.get("content-type") || "" });
    }
    async formData() {
      const type = this.headers.get("content-type") || "";
      const essence = type.split(";")[0].trim().toLowerCase();
      if (essence === "multipart/form-data") {
        const boundary = headerParam(type, "boundary");
        if (!boundary) throw new TypeError("Failed to parse body as FormData: missing multipart boundary.");
        const b = await this.#consume();
        return parseMultipart(b || EMPTY, boundary);
      }
      if (essence === "application/x-www-form-urlencoded") {
        const form = new FormData();
        for (const [k, v] of new URLSearchParams(await this.text())) form.append(k, v);
        return form;
      }
      throw new TypeError(`Failed to parse body as FormData: unsupported content-type ${JSON.stringify(type)}.`);
    }
  }
  const cloneBody = Body._clone;
  delete Body._clone;

  function setBody(target, headers, init) {
    if (init === undefined || init === null) {
      bodySet(target, null);
      return;
    }
    const ex = extractBody(init);
    bodySet(target, ex);
    if (ex.type !== null && !headers.has("content-type")) headers.append("content-type", ex.type);
  }

  // --- Request ---

  const METHODS = { DELETE: 1, GET: 1, HEAD: 1, OPTIONS: 1, POST: 1, PUT: 1, PATCH: 1 };
  const REDIRECTS = { follow: 1, manual: 1, error: 1 };
  const internal = Symbol("cairn.internal");

  function normalizeMethod(m) {
    m = String(m);
    if (METHODS[m] === 1) return m; // the common case, already normal: no regexp
    if (!TOKEN.test(m)) throw new TypeError(`'${m}' is not a valid HTTP method.`);
    const up = m.toUpperCase();
    return METHODS[up] ? up : m;
  }

  function parseURL(input) {
    const s = String(input);
    try {
      return new URL(s).href;
    } catch (e) {
      throw new TypeError(`Invalid URL: ${s}`);
    }
  }

  let requestInit, requestSetCf, requestIncoming, requestAbort;

  class Request extends Body {
    #url;
    #method = "GET";
    #headers;
    #redirect = "follow";
    #signal = null;
    #cf;
    #cfJSON; // request.cf as the server sent it: parsed when first read
    #fetcher = null;
    // #abort is null for requests the script makes; for an incoming one, 0
    // until its signal is read or the client goes away, then the state
    // { ctl, aborted, reason } that links the two (abortRequest).
    #abort = null;
    static {
      requestIncoming = (r) => { r.#abort = 0; };
      requestAbort = (r, reason) => {
        if (r.#abort === null) return;
        if (r.#abort === 0) r.#abort = { ctl: null, aborted: false, reason: undefined };
        const a = r.#abort;
        if (a.aborted) return;
        a.aborted = true;
        a.reason = reason;
        if (a.ctl !== null) a.ctl.abort(reason);
      };
      // requestInit fills a Request without the URL/option checks (wire).
      requestInit = (r, url, method, headers, body, signal) => {
        r.#url = url;
        r.#method = method;
        r.#headers = headers;
        r.#signal = signal;
        bodySet(r, body);
        return r;
      };
      requestSetCf = (r, json) => { r.#cfJSON = json; };
    }
    constructor(input, init) {
      super();
      if (input === internal) return;
      if (arguments.length === 0) throw new TypeError("Failed to construct 'Request': 1 argument required, but only 0 present.");
      if (init !== undefined && init !== null && typeof init !== "object") {
        throw new TypeError("Failed to construct 'Request': The provided value is not of type 'RequestInit'.");
      }
      init = init || {};
      const from = input instanceof Request ? input : null;
      if (from) {
        this.#url = from.#url;
        this.#method = from.#method;
        this.#redirect = from.#redirect;
        this.#signal = from.signal; // made now if need be: the copy follows the original's abort
        this.#cf = from.#cf;
        this.#cfJSON = from.#cfJSON;
      } else {
        this.#url = parseURL(input);
      }
      if (init.method !== undefined) this.#method = normalizeMethod(init.method);
      if (init.redirect !== undefined) {
        const r = String(init.redirect);
        if (!REDIRECTS[r]) throw new TypeError(`Invalid redirect value, must be one of "follow", "manual" or "error".`);
        this.#redirect = r;
      }
      if (init.signal !== undefined) {
        if (init.signal !== null && !(init.signal instanceof AbortSignal)) {
          throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
        }
        this.#signal = init.signal;
      }
      if (init.cf !== undefined) { this.#cf = init.cf; this.#cfJSON = undefined; }
      this.#headers = new Headers(init.headers !== undefined ? init.headers : from ? from.#headers : undefined);
      const hasBody = init.body !== undefined && init.body !== null;
      const inherited = !hasBody && init.body === undefined && from !== null && !bodyState(from).isNull;
      if ((hasBody || inherited) && (this.#method === "GET" || this.#method === "HEAD")) {
        throw new TypeError("Request with a GET or HEAD method cannot have a body.");
      }
      if (hasBody) {
        setBody(this, this.#headers, init.body);
      } else if (inherited) {
        const st = bodyState(from);
        if (from.bodyUsed) throw new TypeError(USED);
        if (st.bytes !== null) {
          bodySet(this, { bytes: st.bytes, stream: null });
          bodyBytes(from); // the body moved: the source is now used (spec: the input is disturbed)
        } else {
          bodySet(this, { bytes: null, stream: st.stream });
          bodySet(from, { bytes: EMPTY, stream: null });
          bodyBytes(from); // the source is now used
        }
      }
    }
    get url() { return this.#url; }
    get method() { return this.#method; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() {
      if (this.#signal === null) {
        // Made when first asked for: most handlers never look.
        const ctl = new AbortController();
        if (this.#abort === 0) this.#abort = { ctl: null, aborted: false, reason: undefined };
        const a = this.#abort;
        if (a !== null) {
          a.ctl = ctl;
          if (a.aborted) ctl.abort(a.reason);
        }
        this.#signal = ctl.signal;
      }
      return this.#signal;
    }
    get cf() {
      if (this.#cfJSON !== undefined) {
        this.#cf = JSON.parse(this.#cfJSON);
        this.#cfJSON = undefined;
      }
      return this.#cf;
    }
    get fetcher() { return this.#fetcher; }
    get keepalive() { return false; }
    get integrity() { return ""; }
    get cache() { return undefined; }
    get mode() { return "cors"; }
    get credentials() { return "same-origin"; }
    get destination() { return ""; }
    get referrer() { return "about:client"; }
    get referrerPolicy() { return ""; }
    clone() {
      const r = new Request(internal);
      r.#url = this.#url;
      r.#method = this.#method;
      r.#headers = new Headers(this.#headers);
      if (headersIsImmutable(this.#headers)) headersSetGuard(r.#headers);
      r.#redirect = this.#redirect;
      r.#signal = this.signal;
      r.#cf = this.#cf;
      r.#cfJSON = this.#cfJSON;
      cloneBody(this, r);
      return r;
    }
    static _signal(r) { return r.#signal; }
    get [Symbol.toStringTag]() { return "Request"; }
  }
  const requestSignal = Request._signal;
  delete Request._signal;

  // --- Response ---

  const NULL_BODY = { 101: 1, 204: 1, 205: 1, 304: 1 };
  const REDIRECT_STATUS = { 301: 1, 302: 1, 303: 1, 307: 1, 308: 1 };

  let responseInit;

  class Response extends Body {
    #status = 200;
    #statusText = "";
    #headers;
    #type = "default";
    #url = "";
    #redirected = false;
    #webSocket = null;
    #cf;
    static {
      responseInit = (r, fields) => {
        if ("status" in fields) r.#status = fields.status;
        if ("statusText" in fields) r.#statusText = fields.statusText;
        if ("type" in fields) r.#type = fields.type;
        if ("url" in fields) r.#url = fields.url;
        if ("redirected" in fields) r.#redirected = fields.redirected;
        if ("headers" in fields) r.#headers = fields.headers;
        if ("webSocket" in fields) r.#webSocket = fields.webSocket;
        return r;
      };
    }
    constructor(body, init) {
      super();
      if (body === internal) return;
      if (init !== undefined && init !== null && typeof init !== "object") {
        throw new TypeError("Failed to construct 'Response': The provided value is not of type 'ResponseInit'.");
      }
      init = init || {};
      if (init.webSocket !== undefined && init.webSocket !== null) this.#webSocket = init.webSocket;
      if (init.status !== undefined) {
        const s = Number(init.status);
        const ok = Number.isInteger(s) && ((s >= 200 && s <= 599) || (s === 101 && this.#webSocket !== null));
        if (!ok) throw new RangeError(`Failed to construct 'Response': The status provided (${init.status}) is outside the range [200, 599].`);
        this.#status = s;
      }
      if (init.statusText !== undefined) {
        const t = String(init.statusText);
        if (/[\r\n]/.test(t)) throw new TypeError("Failed to construct 'Response': Invalid statusText.");
        this.#statusText = t;
      }
      if (init.cf !== undefined) this.#cf = init.cf;
      this.#headers = new Headers(init.headers);
      if (body !== undefined && body !== null) {
        if (NULL_BODY[this.#status]) throw new TypeError(`Response with null body status (${this.#status}) cannot have a body.`);
        setBody(this, this.#headers, body);
      }
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get headers() { return this.#headers; }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get webSocket() { return this.#webSocket; }
    get cf() { return this.#cf; }
    clone() {
      if (this.#webSocket !== null) throw new TypeError("Cannot clone a response to a WebSocket handshake.");
      const r = new Response(internal);
      r.#status = this.#status;
      r.#statusText = this.#statusText;
      r.#headers = new Headers(this.#headers);
      r.#type = this.#type;
      r.#url = this.#url;
      r.#redirected = this.#redirected;
      r.#cf = this.#cf;
      cloneBody(this, r);
      return r;
    }
    static json(data, init) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("Value is not JSON serializable.");
      init = init || {};
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { status: init.status, statusText: init.statusText, headers, cf: init.cf });
    }
    static redirect(url, status) {
      status = status === undefined ? 302 : Number(status);
      if (!REDIRECT_STATUS[status]) throw new RangeError(`Failed to execute 'redirect' on 'Response': Invalid status code ${status}`);
      const headers = new Headers([["location", parseURL(url)]]);
      const r = new Response(null, { status, headers });
      headersSetGuard(r.headers);
      return r;
    }
    static error() {
      const r = new Response(internal);
      bodySet(r, null);
      return responseInit(r, { status: 0, type: "error", headers: headersSetGuard(new Headers()) });
    }
    get [Symbol.toStringTag]() { return "Response"; }
  }

  // --- wire ---


  function wireBytes(body) {
    if (body === undefined || body === null) return null;
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    return copyBytes(body);
  }

  // wireBody is the body of a wire from Go: bytes, or a stream of a Go body.
  function wireBody(wire) {
    if (wire.source !== undefined && wire.source !== null) return { bytes: null, stream: sourceStream(wire.source) };
    const bytes = wireBytes(wire.body);
    return bytes === null ? null : { bytes, stream: null };
  }

  cairn.requestFromWire = function requestFromWire(wire) {
    const r = new Request(internal);
    // request.cf of an incoming request: JSON from the server (jsrt.WithCF).
    if (typeof wire.cf === "string") requestSetCf(r, wire.cf); // parsed if read (request.cf)
    requestIncoming(r);
    return requestInit(r, String(wire.url), normalizeMethod(wire.method), headersSetGuard(headersFromWire(wire.headers)), wireBody(wire), null);
  };

  // abortRequest aborts the signal of an incoming request: Go calls it when
  // the client disconnects before the response is complete.
  cairn.abortRequest = function abortRequest(req, reason) {
    if (req instanceof Request) requestAbort(req, reason);
  };

  // requestSignal gives a Request's signal if it has one (without making
  // one): stub.fetch follows it as fetch() does.
  cairn.requestSignal = requestSignal;

  cairn.requestToWire = async function requestToWire(req) {
    if (!(req instanceof Request)) throw new TypeError("requestToWire: not a Request");
    const wire = {
      method: req.method,
      url: req.url,
      headers: headersPairs(req.headers),
      redirect: req.redirect,
    };
    bodyTake(req, wire);
    return wire;
  };

  cairn.responseFromWire = function responseFromWire(wire) {
    const r = new Response(internal);
    bodySet(r, wireBody(wire));
    return responseInit(r, {
      status: wire.status,
      statusText: wire.statusText === undefined ? "" : String(wire.statusText),
      headers: headersFromWire(wire.headers),
      url: wire.url ? String(wire.url) : "",
      redirected: !!wire.redirected,
      ...(wire.webSocket ? { webSocket: wire.webSocket } : {}),
    });
  };

  // responseToWire returns an already settled promise: a stream body is
  // not read here but handed to Go, which reads it as it sends it.
  cairn.responseToWire = function responseToWire(res) {
    if (!(res instanceof Response)) {
      return Promise.reject(new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'."));
    }
    const wire = {
      status: res.status,
      statusText: res.statusText,
      headers: headersPairs(res.headers),
    };
    try {
      bodyTake(res, wire);
    } catch (e) {
      return Promise.reject(e);
    }
    if (res.webSocket !== null) wire.webSocket = res.webSocket;
    return wire; // not wrapped in a promise: Go awaits either, and this is every response
  };

  // --- fetch ---

  async function fetch(input, init) {
    const req = new Request(input, init);
    const signal = requestSignal(req);
    if (signal) signal.throwIfAborted();
    const pending = cairn.requestToWire(req).then((wire) => {
      const p = cairn.fetchNative(wire);
      if (signal && typeof wire.abort === "function") {
        // Go cancels the request, and the response body if it streams.
        if (signal.aborted) wire.abort();
        else signal.addEventListener("abort", () => wire.abort(), { once: true });
      }
      return p;
    });
    let wire;
    if (signal) {
      wire = await new Promise((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        pending.then(
          (v) => { signal.removeEventListener("abort", onAbort); resolve(v); },
          (e) => { signal.removeEventListener("abort", onAbort); reject(e); },
        );
      });
    } else {
      wire = await pending;
    }
    const res = cairn.responseFromWire(wire);
    if (!wire.url) responseInit(res, { url: req.url });
    headersSetGuard(res.headers);
    return res;
  }

  define("Headers", Headers);
  define("Blob", Blob);
  define("File", File);
  define("FormData", FormData);
  define("Request", Request);
  define("Response", Response);
  define("fetch", fetch);
})();
