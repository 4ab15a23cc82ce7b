// WebCrypto over the Go natives of package jsrt/webapi (crypto*.go):
// crypto (Crypto), crypto.subtle (SubtleCrypto), CryptoKey, and
// Cloudflare's crypto.DigestStream and crypto.subtle.timingSafeEqual.
// Key material stays in Go: a CryptoKey holds an opaque handle to it in a
// private field, and this file only checks arguments (WebIDL) and turns
// the natives' results and exceptions into promises.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const token = Symbol("cairn.crypto");
  const illegal = () => new TypeError("Illegal constructor");

  const USAGES = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];
  const FORMATS = ["raw", "spki", "pkcs8", "jwk", "raw-public", "raw-private", "raw-seed", "raw-secret"];

  function toBytes(input, what = "parameter") {
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError(`${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  }

  class CryptoKey {
    #handle;
    #type;
    #extractable;
    #algorithm;
    #usages;
    constructor(t, info) {
      if (t !== token) throw illegal();
      this.#handle = info.handle;
      this.#type = info.type;
      this.#extractable = info.extractable;
      this.#algorithm = info.algorithm;
      this.#usages = info.usages;
    }
    get type() { return this.#type; }
    get extractable() { return this.#extractable; }
    get algorithm() { return this.#algorithm; }
    get usages() { return this.#usages; }
    static handleOf(key) {
      if (key === null || typeof key !== "object") return undefined;
      try {
        return key.#handle;
      } catch {
        return undefined;
      }
    }
  }
  Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: "CryptoKey", configurable: true });
  cairn.cryptoKeyHandle = (key) => CryptoKey.handleOf(key);

  const makeKey = (info) => new CryptoKey(token, info);
  cairn.makeCryptoKey = makeKey; // node:crypto's keyObject.toCryptoKey
  const keyResult = (r) =>
    r && r.publicKey ? { publicKey: makeKey(r.publicKey), privateKey: makeKey(r.privateKey) } : makeKey(r);

  function args(method, list, n) {
    if (list.length < n) {
      throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': ${n} arguments required, but only ${list.length} present.`);
    }
  }
  function keyArg(method, key) {
    const h = CryptoKey.handleOf(key);
    if (h === undefined) throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': parameter is not of type 'CryptoKey'.`);
    return h;
  }
  function usagesArg(method, usages) {
    if (usages === null || typeof usages !== "object" || typeof usages[Symbol.iterator] !== "function") {
      throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': keyUsages is not a sequence.`);
    }
    const out = [];
    for (const u of usages) {
      const s = String(u);
      if (!USAGES.includes(s)) throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': '${s}' is not a valid KeyUsage.`);
      out.push(s);
    }
    return out;
  }
  function formatArg(method, format) {
    const s = String(format);
    if (!FORMATS.includes(s)) throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': '${s}' is not a valid KeyFormat.`);
    return s;
  }
  function keyDataArg(method, format, data) {
    if (format === "jwk") {
      if (data === null || typeof data !== "object" || ArrayBuffer.isView(data) || data instanceof ArrayBuffer) {
        throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': JWK key data must be an object.`);
      }
      return data;
    }
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': key data is not of type '(ArrayBuffer or ArrayBufferView)'.`);
    }
    return data;
  }

  // Each method runs its checks and the operation now and reports
  // through a promise, as WebCrypto requires.
  const promised = (fn) => function (...list) {
    try {
      return Promise.resolve(fn(...list));
    } catch (e) {
      return Promise.reject(e);
    }
  };

  class SubtleCrypto {
    constructor(t) { if (t !== token) throw illegal(); }
  }
  const methods = {
    encrypt(...a) { args("encrypt", a, 3); return cairn.subtleEncrypt(a[0], keyArg("encrypt", a[1]), a[2]); },
    decrypt(...a) { args("decrypt", a, 3); return cairn.subtleDecrypt(a[0], keyArg("decrypt", a[1]), a[2]); },
    sign(...a) { args("sign", a, 3); return cairn.subtleSign(a[0], keyArg("sign", a[1]), a[2]); },
    verify(...a) { args("verify", a, 4); return cairn.subtleVerify(a[0], keyArg("verify", a[1]), a[2], a[3]); },
    digest(...a) { args("digest", a, 2); return cairn.subtleDigest(a[0], a[1]); },
    generateKey(...a) {
      args("generateKey", a, 3);
      return keyResult(cairn.subtleGenerateKey(a[0], !!a[1], usagesArg("generateKey", a[2])));
    },
    deriveKey(...a) {
      args("deriveKey", a, 5);
      return keyResult(cairn.subtleDeriveKey(a[0], keyArg("deriveKey", a[1]), a[2], !!a[3], usagesArg("deriveKey", a[4])));
    },
    deriveBits(...a) { args("deriveBits", a, 2); return cairn.subtleDeriveBits(a[0], keyArg("deriveBits", a[1]), a[2]); },
    importKey(...a) {
      args("importKey", a, 5);
      const format = formatArg("importKey", a[0]);
      return keyResult(cairn.subtleImportKey(format, keyDataArg("importKey", format, a[1]), a[2], !!a[3], usagesArg("importKey", a[4])));
    },
    exportKey(...a) { args("exportKey", a, 2); return cairn.subtleExportKey(formatArg("exportKey", a[0]), keyArg("exportKey", a[1])); },
    wrapKey(...a) {
      args("wrapKey", a, 4);
      return cairn.subtleWrapKey(formatArg("wrapKey", a[0]), keyArg("wrapKey", a[1]), keyArg("wrapKey", a[2]), a[3]);
    },
    unwrapKey(...a) {
      args("unwrapKey", a, 7);
      const format = formatArg("unwrapKey", a[0]);
      return keyResult(cairn.subtleUnwrapKey(format, a[1], keyArg("unwrapKey", a[2]), a[3], a[4], !!a[5], usagesArg("unwrapKey", a[6])));
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    const method = promised(fn);
    Object.defineProperty(method, "name", { value: name });
    Object.defineProperty(method, "length", { value: fn.length });
    Object.defineProperty(SubtleCrypto.prototype, name, { value: method, writable: true, configurable: true, enumerable: true });
  }
  // Cloudflare's extension: a constant-time comparison (not a promise).
  Object.defineProperty(SubtleCrypto.prototype, "timingSafeEqual", {
    value: function timingSafeEqual(a, b) { return cairn.timingSafeEqual(toBytes(a), toBytes(b)); },
    writable: true, configurable: true, enumerable: true,
  });
  Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: "SubtleCrypto", configurable: true });
  const subtle = new SubtleCrypto(token);

  // DigestStream (Cloudflare): a WritableStream that hashes what is
  // written; digest resolves to the hash when the stream closes.
  class DigestStream extends WritableStream {
    #digest;
    constructor(algorithm) {
      const h = cairn.digestStreamNew(algorithm);
      let resolve, reject;
      const digest = new Promise((res, rej) => { resolve = res; reject = rej; });
      digest.catch(() => {}); // an aborted stream that nobody asked for its digest is not an error
      super({
        write(chunk) {
          cairn.digestStreamUpdate(h, typeof chunk === "string" ? cairn.utf8Encode(chunk) : toBytes(chunk, "chunk"));
        },
        close() { resolve(cairn.digestStreamFinish(h)); },
        abort(reason) { reject(reason); },
      });
      this.#digest = digest;
    }
    get digest() { return this.#digest; }
  }

  const isIntegerArray = (a) =>
    ArrayBuffer.isView(a) && !(a instanceof DataView) && !(a instanceof Float32Array) && !(a instanceof Float64Array) &&
    !(typeof Float16Array === "function" && a instanceof Float16Array);

  class Crypto {
    constructor(t) { if (t !== token) throw illegal(); }
    get subtle() { return subtle; }
    getRandomValues(array) {
      if (arguments.length < 1) throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': 1 argument required, but only 0 present.");
      if (!isIntegerArray(array)) {
        throw new DOMException("getRandomValues() requires an integer typed array.", "TypeMismatchError");
      }
      cairn.fillRandom(array);
      return array;
    }
    randomUUID() { return cairn.randomUUID(); }
  }
  Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: "Crypto", configurable: true });
  const crypto = new Crypto(token);
  Object.defineProperty(crypto, "DigestStream", { value: DigestStream, writable: true, configurable: true, enumerable: false });

  define("crypto", crypto);
  define("Crypto", Crypto);
  define("SubtleCrypto", SubtleCrypto);
  define("CryptoKey", CryptoKey);
})();
