// Workers KV as Worker code sees it: env[binding] is a KVNamespace. The
// natives (jsrt/kv.go) call the store off the loop; this file gives it
// workerd's shape: argument coercion, value types, Maps, and the errors
// workerd throws before a request leaves ("Key name cannot be empty.").
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const MAX_VALUE = 25 * 1024 * 1024;
  const MIN_CACHE_TTL = 30;
  const TYPES = ["text", "json", "arrayBuffer", "stream"];

  function checkKey(key) {
    if (key === "") throw new TypeError("Key name cannot be empty.");
    if (key === ".") throw new TypeError('"." is not allowed as a key name.');
    if (key === "..") throw new TypeError('".." is not allowed as a key name.');
  }

  // getOptions reads get()'s second argument: a type string or {type, cacheTtl}.
  function getOptions(options, op) {
    let type = "text";
    let cacheTtl;
    if (typeof options === "string") {
      type = options;
    } else if (options !== undefined && options !== null) {
      if (options.type !== undefined) type = String(options.type);
      cacheTtl = options.cacheTtl;
    }
    if (cacheTtl !== undefined) {
      const n = Number(cacheTtl);
      if (Number.isNaN(n) || n < MIN_CACHE_TTL) {
        throw new Error(`KV ${op} failed: 400 Invalid cache_ttl of ${cacheTtl}. Cache TTL must be at least ${MIN_CACHE_TTL}.`);
      }
    }
    return type;
  }

  function convert(value, type) {
    switch (type) {
      case "text":
      case "arrayBuffer":
        return value;
      case "json":
        return JSON.parse(value);
      case "stream":
        return new ReadableStream({
          start(controller) {
            if (value.byteLength > 0) controller.enqueue(new Uint8Array(value));
            controller.close();
          },
        });
    }
  }

  async function readAll(stream) {
    const reader = stream.getReader();
    const chunks = [];
    let length = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
        throw new TypeError("This TransformStream is being used as a byte stream, but received a value that is not a BufferSource.");
      }
      const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      length += bytes.byteLength;
      // Count past the limit without keeping the bytes, so the error gives
      // the real length (as Miniflare does).
      if (length <= MAX_VALUE) chunks.push(bytes.slice());
    }
    if (length > MAX_VALUE) {
      throw new Error(`KV PUT failed: 413 Value length of ${length} exceeds limit of ${MAX_VALUE}.`);
    }
    const out = new Uint8Array(length);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  const PUT_TYPES = "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";

  class KVNamespace {
    #native;
    constructor(native) { this.#native = native; }

    async #getBulk(keys, options, withMetadata) {
      const names = Array.from(keys, String);
      let type = "text";
      if (typeof options === "string") type = options;
      else if (options !== undefined && options !== null && options.type !== undefined) type = String(options.type);
      if (type !== "text" && type !== "json") {
        throw new Error(`KV GET_BULK failed: 400 "${type}" is not a valid type. Use "json" or "text"`);
      }
      getOptions(options, "GET_BULK");
      const results = await this.#native.getMany(names);
      const map = new Map();
      for (let i = 0; i < names.length; i++) {
        const r = results[i];
        let value = null;
        if (r !== null) {
          try {
            value = type === "json" ? JSON.parse(r.value) : r.value;
          } catch {
            throw new Error(`KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-${type} value`);
          }
          if (withMetadata) value = { value, metadata: r.metadata === null ? null : JSON.parse(r.metadata) };
        }
        map.set(names[i], value);
      }
      return map;
    }

    // #getOne returns a promise of the value (or {value, metadata,
    // cacheStatus} withMetadata); a bad argument rejects it, as in workerd.
    #getOne(key, options, withMetadata) {
      let type;
      try {
        key = String(key);
        checkKey(key);
        type = getOptions(options, "GET");
        if (!TYPES.includes(type)) {
          throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
        }
      } catch (e) {
        return Promise.reject(e);
      }
      const asText = type === "text" || type === "json";
      const p = this.#native.get(key, asText, withMetadata);
      if (withMetadata) {
        return p.then((r) => r === null
          ? { value: null, metadata: null, cacheStatus: null }
          : { value: convert(r.value, type), metadata: r.metadata === null ? null : JSON.parse(r.metadata), cacheStatus: null });
      }
      if (type === "text" || type === "arrayBuffer") return p;
      return p.then((v) => (v === null ? null : convert(v, type)));
    }

    get(key, options) {
      if (Array.isArray(key)) return this.#getBulk(key, options, false);
      return this.#getOne(key, options, false);
    }

    getWithMetadata(key, options) {
      if (Array.isArray(key)) return this.#getBulk(key, options, true);
      return this.#getOne(key, options, true);
    }

    put(key, value, options) {
      try {
        key = String(key);
        checkKey(key);
        let body;
        if (typeof value === "string") {
          body = value;
        } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
          body = value;
        } else if (value instanceof ReadableStream) {
          body = null; // read below
        } else if (value !== null && (typeof value === "object" || typeof value === "function")) {
          throw new TypeError(PUT_TYPES);
        } else {
          body = String(value);
        }
        let expiration = null;
        let expirationTtl = null;
        let metadata = null;
        if (options !== undefined && options !== null) {
          if (options.expiration !== undefined) expiration = Number(options.expiration);
          if (options.expirationTtl !== undefined) expirationTtl = Number(options.expirationTtl);
          if (options.metadata !== undefined && options.metadata !== null) {
            metadata = JSON.stringify(options.metadata);
            if (metadata === undefined) metadata = null;
          }
        }
        if (expiration !== null && !Number.isFinite(expiration)) {
          throw new TypeError(`Invalid expiration: ${options.expiration} is not a number of seconds.`);
        }
        if (expirationTtl !== null && !Number.isFinite(expirationTtl)) {
          throw new TypeError(`Invalid expirationTtl: ${options.expirationTtl} is not a number of seconds.`);
        }
        if (body === null) {
          return readAll(value).then((bytes) => this.#native.put(key, bytes, expiration, expirationTtl, metadata));
        }
        return this.#native.put(key, body, expiration, expirationTtl, metadata);
      } catch (e) {
        return Promise.reject(e);
      }
    }

    async delete(key) {
      key = String(key);
      checkKey(key);
      await this.#native.delete(key);
    }

    async list(options) {
      let prefix = null;
      let limit = 0;
      let cursor = null;
      if (options !== undefined && options !== null) {
        if (options.prefix !== undefined && options.prefix !== null) prefix = String(options.prefix);
        if (options.limit !== undefined) limit = Number(options.limit);
        if (options.cursor !== undefined && options.cursor !== null) cursor = String(options.cursor);
      }
      if (Number.isNaN(limit)) limit = 0;
      const r = await this.#native.list(prefix, limit, cursor);
      const keys = r.keys.map((k) => {
        const out = { name: k.name };
        if (k.expiration !== undefined) out.expiration = k.expiration;
        if (k.metadata !== undefined) out.metadata = JSON.parse(k.metadata);
        return out;
      });
      const result = { keys, list_complete: r.complete };
      if (!r.complete) result.cursor = r.cursor;
      result.cacheStatus = null;
      return result;
    }

    get [Symbol.toStringTag]() { return "KvNamespace"; }
  }

  cairn.makeKVNamespace = (native) => new KVNamespace(native);
})();
