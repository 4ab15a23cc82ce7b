// node:crypto over Go natives (package jsrt/webapi: crypto_node.go,
// crypto_nodekeys.go): hashes, HMAC, random values, PBKDF2,
// scrypt, HKDF, AES ciphers (cbc, ctr, gcm, ecb), keys (KeyObject) and
// signatures (RSA PKCS #1 v1.5 and PSS, ECDSA, Ed25519), RSA encryption
// (publicEncrypt, privateDecrypt), timingSafeEqual,
// and webcrypto (the global crypto). Key material stays in Go.
"use strict";
const internal = require("cairn:internal");
const { Buffer } = require("buffer");

function codeError(Ctor, code, message) {
  const e = new Ctor(message);
  e.code = code;
  return e;
}
const argType = (name, what = "string or an instance of Buffer, TypedArray, or DataView") =>
  codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type ${what}.`);

// toBuf converts data (string with encoding, ArrayBuffer or view) to bytes.
function toBuf(data, encoding, name = "data") {
  if (typeof data === "string") return Buffer.from(data, encoding && encoding !== "buffer" ? encoding : "utf8");
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return data;
  throw argType(name);
}
function out(ab, encoding) {
  const b = Buffer.from(ab);
  return encoding && encoding !== "buffer" ? b.toString(encoding) : b;
}
function callback(cb) {
  if (typeof cb !== "function") throw argType("callback", "function");
  return cb;
}
// later runs fn and reports to cb asynchronously, as Node's callback APIs.
function later(cb, fn) {
  let result, error = null;
  try {
    result = fn();
  } catch (e) {
    error = e;
  }
  queueMicrotask(() => (error ? cb(error) : cb(null, result)));
}

const token = Symbol("cairn.node.crypto");
const webcrypto = globalThis.crypto; // as the runtime made it, whatever the Worker does to the global later

// --- Hash, Hmac ---

class Hash {
  #h;
  #algorithm;
  constructor(algorithm, options, handle) {
    if (typeof algorithm !== "string") throw argType("algorithm", "string");
    this.#algorithm = algorithm;
    this.#h = handle && handle[0] === token ? handle[1] : internal.nodeHashNew(algorithm);
  }
  update(data, encoding) {
    internal.nodeHashUpdate(this.#h, toBuf(data, encoding));
    return this;
  }
  digest(encoding) { return out(internal.nodeHashDigest(this.#h), encoding); }
  copy() { return new Hash(this.#algorithm, undefined, [token, internal.nodeHashCopy(this.#h, this.#algorithm)]); }
}

class Hmac {
  #h;
  constructor(algorithm, key, options) {
    if (typeof algorithm !== "string") throw argType("hmac", "string");
    const secret = key instanceof KeyObject ? key.export() : toBuf(key, options && options.encoding, "key");
    this.#h = internal.nodeHmacNew(algorithm, secret);
  }
  update(data, encoding) {
    internal.nodeHashUpdate(this.#h, toBuf(data, encoding));
    return this;
  }
  digest(encoding) { return out(internal.nodeHashDigest(this.#h), encoding); }
}

const createHash = (algorithm, options) => new Hash(algorithm, options);
const createHmac = (algorithm, key, options) => new Hmac(algorithm, key, options);
const hash = (algorithm, data, outputEncoding = "hex") => createHash(algorithm).update(data).digest(outputEncoding);

const HASHES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512-224", "sha512-256", "sha3-224", "sha3-256", "sha3-384", "sha3-512"];
const CIPHERS = ["aes-128-cbc", "aes-128-ctr", "aes-128-ecb", "aes-128-gcm", "aes-192-cbc", "aes-192-ctr", "aes-192-ecb", "aes-192-gcm", "aes-256-cbc", "aes-256-ctr", "aes-256-ecb", "aes-256-gcm"];

// --- random ---

function checkSize(size, name = "size") {
  if (typeof size !== "number") throw argType(name, "number");
  if (!Number.isInteger(size) || size < 0 || size > 2 ** 31 - 1) {
    throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`);
  }
}
function fill(buf, offset, size) {
  const view = new Uint8Array(buf.buffer || buf, buf.byteOffset || 0, buf.byteLength);
  for (let i = offset; i < offset + size; i += 65536) {
    internal.fillRandom(view.subarray(i, Math.min(offset + size, i + 65536)));
  }
  return buf;
}
function randomBytes(size, cb) {
  checkSize(size);
  if (cb !== undefined) return later(callback(cb), () => fill(Buffer.alloc(size), 0, size));
  return fill(Buffer.alloc(size), 0, size);
}
function randomFillSync(buf, offset = 0, size) {
  if (!(buf instanceof ArrayBuffer) && !ArrayBuffer.isView(buf)) throw argType("buf", "an instance of ArrayBuffer or ArrayBufferView");
  const len = buf.byteLength;
  checkSize(offset, "offset");
  if (size === undefined) size = len - offset;
  checkSize(size);
  if (offset + size > len) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "size + offset" is out of range. It must be <= ${len}. Received ${offset + size}`);
  return fill(buf, offset, size);
}
function randomFill(buf, offset, size, cb) {
  if (typeof offset === "function") [cb, offset, size] = [offset, 0, undefined];
  else if (typeof size === "function") [cb, size] = [size, undefined];
  later(callback(cb), () => randomFillSync(buf, offset, size));
}
function randomInt(min, max, cb) {
  if (max === undefined || typeof max === "function") [min, max, cb] = [0, min, max];
  if (!Number.isSafeInteger(min)) throw argType("min", "safe integer");
  if (!Number.isSafeInteger(max)) throw argType("max", "safe integer");
  const range = max - min;
  if (range <= 0 || range > 2 ** 48) {
    throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "max" is out of range. It must be greater than the value of "min" (${min}) and less than or equal to ${min + 2 ** 48}. Received ${max}`);
  }
  const pick = () => {
    // Rejection sampling over 48 random bits.
    const limit = 2 ** 48 - (2 ** 48 % range);
    for (;;) {
      const b = fill(new Uint8Array(6), 0, 6);
      const x = b[0] * 2 ** 40 + b[1] * 2 ** 32 + b[2] * 2 ** 24 + b[3] * 2 ** 16 + b[4] * 2 ** 8 + b[5];
      if (x < limit) return min + (x % range);
    }
  };
  if (cb !== undefined) return later(callback(cb), pick);
  return pick();
}

// --- key derivation ---

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  if (typeof digest !== "string") throw argType("digest", "string");
  return out(internal.nodePbkdf2(toBuf(password, undefined, "password"), toBuf(salt, undefined, "salt"), iterations, keylen, digest));
}
function pbkdf2(password, salt, iterations, keylen, digest, cb) {
  callback(cb);
  later(cb, () => pbkdf2Sync(password, salt, iterations, keylen, digest));
}

function scryptSync(password, salt, keylen, options = {}) {
  const N = options.N ?? options.cost ?? 16384;
  const r = options.r ?? options.blockSize ?? 8;
  const p = options.p ?? options.parallelization ?? 1;
  const maxmem = options.maxmem ?? 32 << 20;
  return out(internal.nodeScrypt(toBuf(password, undefined, "password"), toBuf(salt, undefined, "salt"), keylen, N, r, p, maxmem));
}
function scrypt(password, salt, keylen, options, cb) {
  if (typeof options === "function") [cb, options] = [options, undefined];
  callback(cb);
  later(cb, () => scryptSync(password, salt, keylen, options));
}

function hkdfSync(digest, ikm, salt, info, keylen) {
  const key = ikm instanceof KeyObject ? ikm.export() : toBuf(ikm, undefined, "ikm");
  const b = internal.nodeHkdf(digest, key, toBuf(salt, undefined, "salt"), toBuf(info, undefined, "info"), keylen);
  return b;
}
function hkdf(digest, ikm, salt, info, keylen, cb) {
  callback(cb);
  later(cb, () => hkdfSync(digest, ikm, salt, info, keylen));
}

// --- ciphers ---

class Cipheriv {
  #h;
  constructor(algorithm, key, iv, options, decrypt) {
    const secret = key instanceof KeyObject ? key.export() : toBuf(key, undefined, "key");
    const ivBytes = iv === null || iv === undefined ? null : toBuf(iv, undefined, "iv");
    this.#h = internal.nodeCipherNew(String(algorithm), secret, ivBytes, decrypt, options && options.authTagLength);
  }
  update(data, inputEncoding, outputEncoding) {
    return out(internal.nodeCipherUpdate(this.#h, toBuf(data, inputEncoding)), outputEncoding);
  }
  final(outputEncoding) { return out(internal.nodeCipherFinal(this.#h), outputEncoding); }
  setAAD(buffer) {
    internal.nodeCipherSetAAD(this.#h, toBuf(buffer, undefined, "buffer"));
    return this;
  }
  getAuthTag() { return out(internal.nodeCipherAuthTag(this.#h)); }
  setAuthTag(tag, encoding) {
    internal.nodeCipherSetAuthTag(this.#h, toBuf(tag, encoding, "buffer"));
    return this;
  }
  setAutoPadding(autoPadding = true) {
    internal.nodeCipherAutoPad(this.#h, !!autoPadding);
    return this;
  }
}
class Decipheriv extends Cipheriv {}

const createCipheriv = (algorithm, key, iv, options) => new Cipheriv(algorithm, key, iv, options, false);
const createDecipheriv = (algorithm, key, iv, options) => new Decipheriv(algorithm, key, iv, options, true);

// --- keys ---

class KeyObject {
  #h;
  #info;
  constructor(t, handle) {
    if (t !== token) throw new TypeError("Illegal constructor");
    this.#h = handle;
    this.#info = internal.nodeKeyInfo(handle);
  }
  static handleOf(key) {
    try {
      return key.#h;
    } catch {
      return undefined;
    }
  }
  static from(cryptoKey) {
    const h = internal.cryptoKeyHandle(cryptoKey);
    if (h === undefined) throw argType("key", "an instance of CryptoKey");
    return new KeyObject(token, internal.nodeKeyFromCryptoKey(h));
  }
  get type() { return this.#info.type; }
  get asymmetricKeyType() { return this.#info.asymmetricKeyType; }
  get symmetricKeySize() { return this.#info.symmetricKeySize; }
  get asymmetricKeyDetails() {
    const i = this.#info;
    if (i.type === "secret") return undefined;
    if (i.modulusLength) return { modulusLength: i.modulusLength, publicExponent: BigInt(i.publicExponent) };
    if (i.namedCurve) return { namedCurve: i.namedCurve };
    return {};
  }
  export(options = {}) {
    if (options.passphrase !== undefined || options.cipher !== undefined) {
      throw codeError(Error, "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", "cairn does not encrypt exported private keys");
    }
    if (options.format === "jwk") return JSON.parse(internal.nodeKeyExport(this.#h, "jwk", ""));
    if (this.type === "secret") return out(internal.nodeKeyExport(this.#h, "buffer", ""));
    const format = options.format || "pem";
    const type = options.type || (this.type === "public" ? "spki" : "pkcs8");
    const r = internal.nodeKeyExport(this.#h, format, type);
    return typeof r === "string" ? r : out(r);
  }
  equals(other) {
    if (!(other instanceof KeyObject)) throw argType("otherKeyObject", "an instance of KeyObject");
    return internal.nodeKeyEquals(this.#h, KeyObject.handleOf(other));
  }
  toCryptoKey(algorithm, extractable, keyUsages) {
    const info = internal.nodeKeyToCryptoKey(this.#h, algorithm, !!extractable, [...keyUsages].map(String));
    return internal.makeCryptoKey(info);
  }
}
Object.defineProperty(KeyObject.prototype, Symbol.toStringTag, { value: "KeyObject", configurable: true });

function isCryptoKey(v) { return internal.cryptoKeyHandle(v) !== undefined; }

// keyHandle turns the key forms Node accepts (KeyObject, CryptoKey, PEM
// text or buffer, {key, format, type, encoding}) into a Go key of kind.
function keyHandle(input, kind) {
  if (input instanceof KeyObject) {
    if (kind === "public" && input.type === "private") {
      return internal.nodeKeyCreate("public", input.export({ format: "der", type: "pkcs8" }), "der", "pkcs8");
    }
    return KeyObject.handleOf(input);
  }
  if (isCryptoKey(input)) return internal.nodeKeyFromCryptoKey(internal.cryptoKeyHandle(input));
  let data = input, format = "pem", type, encoding;
  if (input !== null && typeof input === "object" && !ArrayBuffer.isView(input) && !(input instanceof ArrayBuffer)) {
    if (input.passphrase !== undefined) throw codeError(Error, "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", "cairn does not support encrypted private keys");
    ({ key: data, format = "pem", type, encoding } = input);
    if (data instanceof KeyObject || isCryptoKey(data)) return keyHandle(data, kind);
  }
  if (format === "jwk") {
    if (data === null || typeof data !== "object") throw argType("key.key", "object");
    return internal.nodeKeyCreate(kind, JSON.stringify(data), "jwk");
  }
  if (kind === "secret") return internal.nodeKeyCreate("secret", toBuf(data, encoding, "key"), "raw");
  if (format === "pem") {
    const text = typeof data === "string" ? data : ArrayBuffer.isView(data) || data instanceof ArrayBuffer ? Buffer.from(toBuf(data)).toString("utf8") : null;
    if (text === null) throw argType("key", "string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey");
    return internal.nodeKeyCreate(kind, text, "pem");
  }
  if (format === "der") {
    if (type === undefined) type = kind === "public" ? "spki" : "pkcs8";
    return internal.nodeKeyCreate(kind, toBuf(data, encoding, "key"), "der", type);
  }
  throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The property 'key.format' is invalid. Received '${format}'`);
}

const createPublicKey = (key) => new KeyObject(token, keyHandle(key, "public"));
const createPrivateKey = (key) => new KeyObject(token, keyHandle(key, "private"));
const createSecretKey = (key, encoding) => new KeyObject(token, internal.nodeKeyCreate("secret", toBuf(key, encoding, "key"), "raw"));

function encodeKey(key, encoding) {
  return encoding ? key.export(encoding) : key;
}
function generateKeyPairSync(type, options = {}) {
  const [pub, priv] = internal.nodeKeyGenerate(String(type), options.modulusLength, options.publicExponent, options.namedCurve);
  return {
    publicKey: encodeKey(new KeyObject(token, pub), options.publicKeyEncoding),
    privateKey: encodeKey(new KeyObject(token, priv), options.privateKeyEncoding),
  };
}
function generateKeyPair(type, options, cb) {
  if (typeof options === "function") [cb, options] = [options, undefined];
  callback(cb);
  let result, error = null;
  try {
    result = generateKeyPairSync(type, options);
  } catch (e) {
    error = e;
  }
  queueMicrotask(() => (error ? cb(error) : cb(null, result.publicKey, result.privateKey)));
}
function generateKeySync(type, options = {}) {
  const { length } = options;
  if (type === "aes" && ![128, 192, 256].includes(length)) {
    throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", "The property 'options.length' must be one of: 128, 192, 256.");
  }
  if (type !== "aes" && type !== "hmac") throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The argument 'type' must be one of: 'aes', 'hmac'. Received '${type}'`);
  if (!Number.isInteger(length) || length < 8 || length > 2 ** 31 - 1) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "options.length" is out of range. Received ${length}`);
  return createSecretKey(randomBytes(Math.floor(length / 8)));
}
function generateKey(type, options, cb) {
  callback(cb);
  later(cb, () => generateKeySync(type, options));
}

// --- signatures ---

function signOptions(key) {
  return key !== null && typeof key === "object" && !(key instanceof KeyObject) && !isCryptoKey(key) && !ArrayBuffer.isView(key) ? key : {};
}
function signOneShot(algorithm, data, key, cb) {
  const o = signOptions(key);
  const run = () => out(internal.nodeSign(algorithm, toBuf(data), keyHandle(key, "private"), o.padding, o.saltLength, o.dsaEncoding));
  if (cb !== undefined) return later(callback(cb), run);
  return run();
}
function verifyOneShot(algorithm, data, key, signature, cb) {
  const o = signOptions(key);
  const run = () => internal.nodeVerify(algorithm, toBuf(data), keyHandle(key, "public"), toBuf(signature, undefined, "signature"), o.padding, o.saltLength, o.dsaEncoding);
  if (cb !== undefined) return later(callback(cb), run);
  return run();
}

class Sign {
  #algorithm;
  #chunks = [];
  constructor(algorithm) {
    if (typeof algorithm !== "string") throw argType("algorithm", "string");
    internal.nodeHashNew(algorithm.replace(/^rsa-/i, "")); // checks the digest now, as Node does
    this.#algorithm = algorithm;
  }
  update(data, encoding) {
    this.#chunks.push(Buffer.from(toBuf(data, encoding)));
    return this;
  }
  sign(key, outputEncoding) { return out(signOneShot(this.#algorithm, Buffer.concat(this.#chunks), key), outputEncoding); }
}
class Verify {
  #algorithm;
  #chunks = [];
  constructor(algorithm) {
    if (typeof algorithm !== "string") throw argType("algorithm", "string");
    internal.nodeHashNew(algorithm.replace(/^rsa-/i, ""));
    this.#algorithm = algorithm;
  }
  update(data, encoding) {
    this.#chunks.push(Buffer.from(toBuf(data, encoding)));
    return this;
  }
  verify(key, signature, signatureEncoding) {
    return verifyOneShot(this.#algorithm, Buffer.concat(this.#chunks), key, toBuf(signature, signatureEncoding, "signature"));
  }
}
// publicEncrypt and privateDecrypt: RSA-OAEP (SHA-1 unless oaepHash) by
// default, or RSA_PKCS1_PADDING.
function rsaCrypt(encrypt, key, buffer) {
  const o = signOptions(key);
  const label = o.oaepLabel === undefined ? undefined : toBuf(o.oaepLabel, undefined, "oaepLabel");
  return out(internal.nodeRSACrypt(encrypt, keyHandle(key, encrypt ? "public" : "private"), toBuf(buffer, undefined, "buffer"), o.padding, o.oaepHash, label));
}
const publicEncrypt = (key, buffer) => rsaCrypt(true, key, buffer);
const privateDecrypt = (key, buffer) => rsaCrypt(false, key, buffer);

const createSign = (algorithm) => new Sign(algorithm);
const createVerify = (algorithm) => new Verify(algorithm);

function timingSafeEqual(a, b) {
  if (!ArrayBuffer.isView(a) && !(a instanceof ArrayBuffer)) throw argType("buf1", "an instance of ArrayBuffer, Buffer, TypedArray, or DataView");
  if (!ArrayBuffer.isView(b) && !(b instanceof ArrayBuffer)) throw argType("buf2", "an instance of ArrayBuffer, Buffer, TypedArray, or DataView");
  if (a.byteLength !== b.byteLength) throw codeError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  return internal.timingSafeEqual(toBuf(a), toBuf(b));
}

const constants = {
  RSA_PKCS1_PADDING: 1, RSA_NO_PADDING: 3, RSA_PKCS1_OAEP_PADDING: 4, RSA_PKCS1_PSS_PADDING: 6,
  RSA_PSS_SALTLEN_DIGEST: -1, RSA_PSS_SALTLEN_MAX_SIGN: -2, RSA_PSS_SALTLEN_AUTO: -3,
};

module.exports = {
  createHash, createHmac, hash, Hash, Hmac,
  getHashes: () => HASHES.slice(), getCiphers: () => CIPHERS.slice(), getCurves: () => ["prime256v1", "secp384r1", "secp521r1"],
  randomBytes, randomFill, randomFillSync, randomInt, randomUUID: () => internal.randomUUID(),
  getRandomValues: (array) => webcrypto.getRandomValues(array),
  pbkdf2, pbkdf2Sync, scrypt, scryptSync, hkdf, hkdfSync,
  createCipheriv, createDecipheriv, Cipheriv, Decipheriv,
  KeyObject, createPublicKey, createPrivateKey, createSecretKey,
  generateKeyPair, generateKeyPairSync, generateKey, generateKeySync,
  sign: signOneShot, verify: verifyOneShot, createSign, createVerify, Sign, Verify,
  publicEncrypt, privateDecrypt,
  timingSafeEqual, constants,
  webcrypto, subtle: webcrypto.subtle,
};
