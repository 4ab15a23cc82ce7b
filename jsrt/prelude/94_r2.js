// R2 buckets as Worker code sees them: env[binding] is an R2Bucket. The
// natives (jsrt/r2.go) call the bucket off the loop, passing options and
// objects as JSON; this file gives them workerd's shape: R2Object,
// R2ObjectBody, R2Objects, R2MultipartUpload, options given as objects or
// Headers, and the errors workerd throws ("put: ... (10020)").
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  // A ReadableStream put is read whole first (bounded like an object).
  const MAX_STREAM = 100 * 1024 * 1024;
  const CHECKSUMS = ["md5", "sha1", "sha256", "sha384", "sha512"];

  function hex(bytes) {
    let s = "";
    for (const b of bytes) s += b.toString(16).padStart(2, "0");
    return s;
  }
  function unhex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
    return out.buffer;
  }
  function time(v) {
    if (v === undefined || v === null) return 0;
    const t = v instanceof Date ? v.getTime() : new Date(v).getTime();
    if (Number.isNaN(t)) throw new TypeError("Invalid date: " + v);
    return t;
  }
  function etags(v) {
    if (v === undefined || v === null) return undefined;
    const list = Array.isArray(v) ? v : String(v).split(",");
    return list.map((e) => String(e).trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1"));
  }

  // conditional turns onlyIf (an R2Conditional or Headers) into its JSON.
  function conditional(c) {
    if (c === undefined || c === null) return undefined;
    if (c instanceof Headers) {
      const since = c.get("if-modified-since");
      const unmodified = c.get("if-unmodified-since");
      return {
        etagMatches: etags(c.get("if-match")),
        etagDoesNotMatch: etags(c.get("if-none-match")),
        uploadedAfter: since ? time(since) : undefined,
        uploadedBefore: unmodified ? time(unmodified) : undefined,
        secondsGranularity: true,
      };
    }
    return {
      etagMatches: etags(c.etagMatches),
      etagDoesNotMatch: etags(c.etagDoesNotMatch),
      uploadedBefore: time(c.uploadedBefore) || undefined,
      uploadedAfter: time(c.uploadedAfter) || undefined,
      secondsGranularity: Boolean(c.secondsGranularity),
    };
  }

  // range turns an R2Range or Headers (Range: bytes=a-b) into its JSON.
  function range(r) {
    if (r === undefined || r === null) return undefined;
    if (r instanceof Headers) {
      const h = r.get("range");
      if (h === null) return undefined;
      const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
      if (!m || (m[1] === "" && m[2] === "")) throw new TypeError("get: The requested range is not satisfiable (10039)");
      if (m[1] === "") return { suffix: Number(m[2]) };
      const offset = Number(m[1]);
      return m[2] === "" ? { offset } : { offset, length: Number(m[2]) - offset + 1 };
    }
    const out = {};
    for (const k of ["offset", "length", "suffix"]) {
      if (r[k] !== undefined) {
        const n = Number(r[k]);
        if (!Number.isInteger(n)) throw new TypeError(`Invalid range: ${k} must be an integer.`);
        out[k] = n;
      }
    }
    return out;
  }

  const HTTP_FIELDS = [
    ["contentType", "content-type"],
    ["contentLanguage", "content-language"],
    ["contentDisposition", "content-disposition"],
    ["contentEncoding", "content-encoding"],
    ["cacheControl", "cache-control"],
  ];

  function httpMetadata(m) {
    const out = {};
    if (m === undefined || m === null) return out;
    if (m instanceof Headers) {
      for (const [field, header] of HTTP_FIELDS) {
        const v = m.get(header);
        if (v !== null) out[field] = v;
      }
      const exp = m.get("expires");
      if (exp !== null) out.cacheExpiry = time(exp);
      return out;
    }
    for (const [field] of HTTP_FIELDS) {
      if (m[field] !== undefined && m[field] !== null) out[field] = String(m[field]);
    }
    if (m.cacheExpiry !== undefined) out.cacheExpiry = time(m.cacheExpiry);
    return out;
  }

  function customMetadata(m) {
    const out = {};
    if (m === undefined || m === null) return out;
    for (const k of Object.keys(m)) out[k] = String(m[k]);
    return out;
  }

  function checksum(name, v) {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") {
      if (!/^[0-9a-fA-F]*$/.test(v)) throw new TypeError(`${name} is not a valid hex string.`);
      return v.toLowerCase();
    }
    if (v instanceof ArrayBuffer) return hex(new Uint8Array(v));
    if (ArrayBuffer.isView(v)) return hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    throw new TypeError(`${name} must be a string or an ArrayBuffer.`);
  }

  class R2Checksums {
    #hex;
    constructor(sums) {
      this.#hex = sums;
      for (const k of CHECKSUMS) {
        if (sums[k]) Object.defineProperty(this, k, { value: unhex(sums[k]), enumerable: true });
      }
    }
    toJSON() {
      const out = {};
      for (const k of CHECKSUMS) if (this.#hex[k]) out[k] = this.#hex[k];
      return out;
    }
  }

  function httpMetadataOut(m) {
    const out = {};
    for (const [field] of HTTP_FIELDS) if (m[field] !== undefined) out[field] = m[field];
    if (m.cacheExpiry) out.cacheExpiry = new Date(m.cacheExpiry);
    return out;
  }

  class R2Object {
    constructor(o, rng, include) {
      this.key = o.key;
      this.version = o.version;
      this.size = o.size;
      this.etag = o.etag;
      this.httpEtag = `"${o.etag}"`;
      this.checksums = new R2Checksums(o.checksums || {});
      this.uploaded = new Date(o.uploaded);
      // list() leaves out what its include does not name (undefined, as
      // workerd; with compatibility dates before 2022-08-04 it sent both).
      this.httpMetadata = include === undefined || include.includes("httpMetadata") ? httpMetadataOut(o.httpMetadata || {}) : undefined;
      this.customMetadata = include === undefined || include.includes("customMetadata") ? Object.assign({}, o.customMetadata) : undefined;
      if (rng !== undefined) this.range = rng;
      this.storageClass = "Standard";
    }
    writeHttpMetadata(headers) {
      const m = this.httpMetadata || {};
      for (const [field, header] of HTTP_FIELDS) {
        if (m[field] !== undefined) headers.set(header, m[field]);
      }
      if (m.cacheExpiry !== undefined) headers.set("expires", m.cacheExpiry.toUTCString());
    }
    get [Symbol.toStringTag]() { return "R2Object"; }
  }

  class R2ObjectBody extends R2Object {
    #bytes;
    #used = false;
    #stream;
    constructor(o, rng, bytes) {
      super(o, rng);
      this.#bytes = bytes;
    }
    #take() {
      if (this.#used) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
      this.#used = true;
      return this.#bytes;
    }
    get body() {
      if (this.#stream === undefined) {
        const bytes = this.#bytes;
        const self = this;
        this.#stream = new ReadableStream({
          start(controller) {
            self.#used = true;
            if (bytes.byteLength > 0) controller.enqueue(new Uint8Array(bytes));
            controller.close();
          },
        });
      }
      return this.#stream;
    }
    get bodyUsed() { return this.#used; }
    async arrayBuffer() { return this.#take().slice(0); }
    async bytes() { return new Uint8Array(this.#take().slice(0)); }
    async text() { return new TextDecoder().decode(this.#take()); }
    async json() { return JSON.parse(await this.text()); }
    async blob() {
      const type = this.httpMetadata.contentType || "";
      return new Blob([this.#take()], { type });
    }
    get [Symbol.toStringTag]() { return "R2ObjectBody"; }
  }

  // body reads what put() and uploadPart() accept into a string or bytes.
  async function body(op, value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
    if (value instanceof Blob) return value.arrayBuffer();
    if (value instanceof ReadableStream) {
      const reader = value.getReader();
      const chunks = [];
      let length = 0;
      for (;;) {
        const { done, value: chunk } = await reader.read();
        if (done) break;
        const bytes = chunk instanceof ArrayBuffer ? new Uint8Array(chunk)
          : ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          : new TextEncoder().encode(String(chunk));
        length += bytes.byteLength;
        if (length > MAX_STREAM) {
          await reader.cancel();
          throw new Error(`${op}: Your proposed upload exceeds the maximum allowed object size. (100100)`);
        }
        chunks.push(bytes.slice());
      }
      const out = new Uint8Array(length);
      let off = 0;
      for (const c of chunks) {
        out.set(c, off);
        off += c.byteLength;
      }
      return out;
    }
    throw new TypeError(`${op}: The value must be a ReadableStream, ArrayBuffer, ArrayBufferView, string, Blob or null.`);
  }

  function key(k) {
    return String(k);
  }

  class R2MultipartUpload {
    #native;
    constructor(native, k, uploadId) {
      this.#native = native;
      Object.defineProperty(this, "key", { value: k, enumerable: true });
      Object.defineProperty(this, "uploadId", { value: uploadId, enumerable: true });
    }
    async uploadPart(partNumber, value) {
      const n = Number(partNumber);
      if (!Number.isInteger(n)) throw new TypeError("Part number must be an integer.");
      const bytes = await body("uploadPart", value);
      return JSON.parse(await this.#native.uploadPart(this.key, this.uploadId, n, bytes));
    }
    async abort() {
      await this.#native.abortMultipartUpload(this.key, this.uploadId);
    }
    async complete(parts) {
      const ps = Array.from(parts, (p) => ({ partNumber: Number(p.partNumber), etag: String(p.etag) }));
      return new R2Object(JSON.parse(await this.#native.completeMultipartUpload(this.key, this.uploadId, JSON.stringify(ps))));
    }
    get [Symbol.toStringTag]() { return "R2MultipartUpload"; }
  }

  class R2Bucket {
    #native;
    constructor(native) { this.#native = native; }

    async head(k) {
      const o = await this.#native.head(key(k));
      return o === null ? null : new R2Object(JSON.parse(o));
    }

    async get(k, options) {
      const opts = {};
      if (options !== undefined && options !== null) {
        opts.onlyIf = conditional(options.onlyIf);
        opts.range = range(options.range);
      }
      const r = await this.#native.get(key(k), JSON.stringify(opts));
      if (r === null) return null;
      const o = JSON.parse(r.object);
      if (r.body === null) return new R2Object(o);
      const rng = opts.range !== undefined ? { offset: r.offset, length: r.length } : undefined;
      return new R2ObjectBody(o, rng, r.body);
    }

    async put(k, value, options) {
      const opts = {};
      if (options !== undefined && options !== null) {
        opts.onlyIf = conditional(options.onlyIf);
        opts.httpMetadata = httpMetadata(options.httpMetadata);
        opts.customMetadata = customMetadata(options.customMetadata);
        const sums = {};
        let given = 0;
        for (const name of CHECKSUMS) {
          const v = checksum(name, options[name]);
          if (v !== undefined) {
            sums[name] = v;
            given++;
          }
        }
        if (given > 1) throw new TypeError("You cannot specify multiple hashing algorithms.");
        opts.checksums = sums;
      }
      const bytes = await body("put", value);
      const o = await this.#native.put(key(k), bytes, JSON.stringify(opts));
      return o === null ? null : new R2Object(JSON.parse(o));
    }

    async delete(keys) {
      const list = Array.isArray(keys) ? keys.map(key) : [key(keys)];
      await this.#native.delete(list);
    }

    async list(options) {
      const opts = {};
      let include;
      if (options !== undefined && options !== null) {
        for (const k of ["prefix", "delimiter", "cursor", "startAfter"]) {
          if (options[k] !== undefined && options[k] !== null) opts[k] = String(options[k]);
        }
        if (options.limit !== undefined) opts.limit = Number(options.limit);
        if (opts.limit !== undefined && !Number.isInteger(opts.limit)) {
          throw new TypeError("list: MaxKeys params must be positive integer <= 1000. (10022)");
        }
        if (options.include !== undefined) include = Array.from(options.include, String);
      }
      const r = JSON.parse(await this.#native.list(JSON.stringify(opts)));
      const out = {
        objects: r.objects.map((o) => new R2Object(o, undefined, include || [])),
        truncated: r.truncated,
        delimitedPrefixes: r.delimitedPrefixes,
      };
      if (r.truncated) out.cursor = r.cursor;
      return out;
    }

    async createMultipartUpload(k, options) {
      const opts = {};
      if (options !== undefined && options !== null) {
        opts.httpMetadata = httpMetadata(options.httpMetadata);
        opts.customMetadata = customMetadata(options.customMetadata);
      }
      k = key(k);
      const id = await this.#native.createMultipartUpload(k, JSON.stringify(opts));
      return new R2MultipartUpload(this.#native, k, id);
    }

    resumeMultipartUpload(k, uploadId) {
      return new R2MultipartUpload(this.#native, key(k), String(uploadId));
    }

    get [Symbol.toStringTag]() { return "R2Bucket"; }
  }

  cairn.makeR2Bucket = (native) => new R2Bucket(native);
})();
