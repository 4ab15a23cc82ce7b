package jsrt

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// moduleCase is one expression evaluated in a Worker with node:crypto and
// node:zlib loaded, and its expected string form (or "throws: Name code:
// message").
type moduleCase struct{ name, expr, want string }

// runModuleCases evaluates each case in one Worker, one request each.
func runModuleCases(t *testing.T, cases []moduleCase) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`const crypto = require("node:crypto"); const zlib = require("node:zlib"); const { Buffer } = require("node:buffer");
const hex = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("hex");
const cases = {`)
	for _, c := range cases {
		name, _ := json.Marshal(c.name)
		fmt.Fprintf(&b, "%s: async () => (%s),\n", name, c.expr)
	}
	b.WriteString(`};
exports.default = { async fetch(req) {
  const c = cases[new URL(req.url).searchParams.get("c")];
  try { return new Response(String(await c())); }
  catch (e) { return new Response("throws: " + e.name + " " + (e.code || "") + ": " + e.message); }
} };`)
	w := newTestWorker(t, b.String(), Config{NodeCompat: true, Runtimes: 1})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, got, err := fetchBody(t, w, "http://x/?c="+url.QueryEscape(c.name))
			if err != nil || status != 200 {
				t.Fatalf("%s: %d %v", c.expr, status, err)
			}
			if got != c.want {
				t.Errorf("%s\n got: %q\nwant: %q", c.expr, got, c.want)
			}
		})
	}
}

// node:crypto, with known answers from RFCs and from Node.js itself.
func TestNodeCrypto(t *testing.T) {
	rsaPair := `crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })`
	runModuleCases(t, []moduleCase{
		{"sha256", `crypto.createHash("sha256").update("abc").digest("hex")`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha512 base64 chunks", `crypto.createHash("SHA512").update("a").update(Buffer.from("bc")).digest("base64").slice(0, 16)`, "3a81oZNherrMQXNJ"},
		{"md5 empty", `crypto.createHash("md5").digest("hex")`, "d41d8cd98f00b204e9800998ecf8427e"},
		{"sha3-256", `crypto.hash("sha3-256", "")`, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
		{"copy", `(() => { const h = crypto.createHash("sha1").update("a"); const c = h.copy(); return h.digest("hex") + " " + c.update("bc").digest("hex"); })()`,
			"86f7e437faa5a7fce15d1ddcb9eaeaea377667b8 a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"digest twice", `(() => { const h = crypto.createHash("sha1"); h.digest(); return h.digest(); })()`, "throws: Error ERR_CRYPTO_HASH_FINALIZED: Digest already called"},
		{"unknown hash", `crypto.createHash("whirlpool")`, "throws: Error ERR_OSSL_EVP_UNSUPPORTED: Digest method not supported"},
		{"hmac", `crypto.createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex")`, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		// RFC 6070 test 2, RFC 5869 test 3 (no salt, no info), RFC 7914 test 2.
		{"pbkdf2Sync", `crypto.pbkdf2Sync("password", "salt", 2, 20, "sha1").toString("hex")`, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
		{"pbkdf2 callback", `new Promise((res, rej) => crypto.pbkdf2("password", "salt", 2, 20, "sha1", (e, k) => e ? rej(e) : res(k.toString("hex"))))`, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
		{"pbkdf2 bound", `crypto.pbkdf2Sync("p", "s", 2e9, 8, "sha256")`, `throws: RangeError ERR_OUT_OF_RANGE: The value of "iterations" is out of range. It must be >= 1 && <= 10000000 (cairn's bound). Received 2000000000`},
		{"scrypt bound", `crypto.scryptSync("p", "s", 8, { N: 1024, r: 8, p: 100000, maxmem: 1e9 })`, "throws: RangeError ERR_CRYPTO_INVALID_SCRYPT_PARAMS: Invalid scrypt params: 128·N·r·p is over cairn's bound of 4 GiB"},
		{"pbkdf2 bad digest", `crypto.pbkdf2Sync("p", "s", 1, 8, "nope")`, "throws: TypeError ERR_CRYPTO_INVALID_DIGEST: Invalid digest: nope"},
		{"hkdfSync", `hex(crypto.hkdfSync("sha256", Buffer.from("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "hex"), "", "", 42))`,
			"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
		{"scryptSync", `crypto.scryptSync("password", "NaCl", 64, { N: 1024, r: 8, p: 16 }).toString("hex")`,
			"fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
		{"scrypt callback", `new Promise((res, rej) => crypto.scrypt("pw", "salt", 8, { N: 16 }, (e, k) => e ? rej(e) : res(k.length)))`, "8"},
		{"scrypt bad N", `crypto.scryptSync("pw", "salt", 8, { N: 3 })`, "throws: RangeError ERR_CRYPTO_INVALID_SCRYPT_PARAMS: Invalid scrypt params: N must be a power of 2 greater than 1, r and p positive"},
		{"randomBytes", `crypto.randomBytes(32).length + " " + (crypto.randomBytes(16).toString("hex") !== crypto.randomBytes(16).toString("hex"))`, "32 true"},
		{"randomBytes big", `crypto.randomBytes(100000).some((x) => x !== 0)`, "true"},
		{"randomFillSync", `(() => { const b = Buffer.alloc(8); crypto.randomFillSync(b, 4); return b.subarray(0, 4).toString("hex"); })()`, "00000000"},
		{"randomInt", `Array.from({ length: 50 }, () => crypto.randomInt(3, 6)).every((x) => x >= 3 && x < 6)`, "true"},
		{"randomUUID", `/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`, "true"},
		// Ciphertexts from Node.js 22 for the same inputs.
		{"aes-128-cbc", `(() => { const k = Buffer.alloc(16, 1), iv = Buffer.alloc(16, 2); const c = crypto.createCipheriv("aes-128-cbc", k, iv); const ct = Buffer.concat([c.update("hello world, this is more than a block"), c.final()]); const d = crypto.createDecipheriv("aes-128-cbc", k, iv); return ct.toString("hex") + " " + d.update(ct, undefined, "utf8") + d.final("utf8"); })()`,
			"71db388103a663f908aa2453634abde5750295e5f7a01dbb2a077eb60b8a01bd79c765bf1b1c5167c4239fd6580c15a7 hello world, this is more than a block"},
		{"aes-cbc bad decrypt", `(() => { const d = crypto.createDecipheriv("aes-128-cbc", Buffer.alloc(16), Buffer.alloc(16)); d.update(Buffer.alloc(16, 7)); return d.final(); })()`, "throws: Error ERR_OSSL_BAD_DECRYPT: bad decrypt"},
		{"aes-cbc no padding", `(() => { const c = crypto.createCipheriv("aes-128-cbc", Buffer.alloc(16), Buffer.alloc(16)).setAutoPadding(false); c.update("abc"); return c.final(); })()`, "throws: Error ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH: wrong final block length"},
		{"aes-256-ctr", `crypto.createCipheriv("aes-256-ctr", Buffer.alloc(32, 1), Buffer.alloc(16, 2)).update("hello").toString("hex")`, "0acb7e9f4b"},
		{"aes-128-ecb", `(() => { const c = crypto.createCipheriv("aes-128-ecb", Buffer.alloc(16, 1), null); return Buffer.concat([c.update("abc"), c.final()]).toString("hex"); })()`, "b0870d8fa44b83f7432b311eef042271"},
		{"aes-256-gcm", `(() => { const k = Buffer.alloc(32, 1), iv = Buffer.alloc(12, 2); const c = crypto.createCipheriv("aes-256-gcm", k, iv); c.setAAD(Buffer.from("aad")); const ct = Buffer.concat([c.update("secret message"), c.final()]); const tag = c.getAuthTag(); const d = crypto.createDecipheriv("aes-256-gcm", k, iv); d.setAAD(Buffer.from("aad")); d.setAuthTag(tag); const pt = d.update(ct).toString(); d.final(); return ct.toString("hex") + " " + tag.toString("hex") + " " + pt; })()`,
			"74b3aa3b2f23e190b6bfcfa93bc2 40d06704581b1c050fab0a38ea619fa7 secret message"},
		{"aes-gcm 7-byte iv 8-byte tag", `(() => { const c = crypto.createCipheriv("aes-128-gcm", Buffer.alloc(16, 3), Buffer.alloc(7, 4), { authTagLength: 8 }); const ct = Buffer.concat([c.update("secret message that is long enough"), c.update("!"), c.final()]); return ct.toString("hex") + " " + c.getAuthTag().toString("hex"); })()`,
			"4244ec6ac125ee8a8f59faea3beca3e056e214008d350e489641c1433c032a3df71072 b13c24ce470c1859"},
		{"aes-gcm bad tag", `(() => { const d = crypto.createDecipheriv("aes-128-gcm", Buffer.alloc(16), Buffer.alloc(12)); d.setAuthTag(Buffer.alloc(16)); d.update(Buffer.from("ab")); return d.final(); })()`, "throws: Error ERR_CRYPTO_INVALID_AUTH_TAG: Unsupported state or unable to authenticate data"},
		{"bad key length", `crypto.createCipheriv("aes-256-cbc", Buffer.alloc(16), Buffer.alloc(16))`, "throws: RangeError ERR_CRYPTO_INVALID_KEYLEN: Invalid key length"},
		{"bad iv", `crypto.createCipheriv("aes-128-cbc", Buffer.alloc(16), Buffer.alloc(8))`, "throws: Error ERR_CRYPTO_INVALID_IV: Invalid initialization vector"},
		{"unknown cipher", `crypto.createCipheriv("des-ede3-cbc", Buffer.alloc(24), Buffer.alloc(8))`, "throws: Error ERR_CRYPTO_UNKNOWN_CIPHER: Unknown cipher"},
		{"rsa sign verify", `(() => { const { publicKey, privateKey } = ` + rsaPair + `; const s = crypto.sign("sha256", Buffer.from("hi"), privateKey); return [s.length, crypto.verify("sha256", Buffer.from("hi"), publicKey, s), crypto.verify("sha256", Buffer.from("ho"), publicKey, s), publicKey.asymmetricKeyType, publicKey.asymmetricKeyDetails.modulusLength, publicKey.asymmetricKeyDetails.publicExponent].join(" "); })()`,
			"256 true false rsa 2048 65537"},
		{"rsa-pss pem", `(() => { const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "pkcs1", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } }); const opts = { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }; const s = crypto.createSign("RSA-SHA256").update("m").sign({ key: privateKey, ...opts }, "base64"); return publicKey.split("\n")[0] + " " + crypto.createVerify("sha256").update("m").verify({ key: publicKey, ...opts }, s, "base64"); })()`,
			"-----BEGIN RSA PUBLIC KEY----- true"},
		{"ecdsa der and p1363", `(() => { const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }); const der = crypto.sign("sha256", Buffer.from("m"), privateKey); const raw = crypto.sign("sha256", Buffer.from("m"), { key: privateKey, dsaEncoding: "ieee-p1363" }); return [der[0], raw.length, crypto.verify("sha256", Buffer.from("m"), publicKey, der), crypto.verify("sha256", Buffer.from("m"), { key: publicKey, dsaEncoding: "ieee-p1363" }, raw), publicKey.asymmetricKeyDetails.namedCurve].join(" "); })()`,
			"48 64 true true prime256v1"},
		{"ed25519", `(() => { const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519"); const s = crypto.sign(null, Buffer.from("m"), privateKey); return s.length + " " + crypto.verify(null, Buffer.from("m"), publicKey, s) + " " + Object.keys(privateKey.export({ format: "jwk" })).sort().join(","); })()`,
			"64 true crv,d,kty,x"},
		// RFC 8037 A.1 and A.4: an Ed25519 JWK and its signature of "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".
		{"ed25519 jwk rfc8037", `crypto.sign(null, Buffer.from("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"), crypto.createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }, format: "jwk" })).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")`,
			"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"},
		{"public from private", `(() => { const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }); const pem = privateKey.export({ type: "sec1", format: "pem" }); const pub = crypto.createPublicKey(pem); return pem.split("\n")[0] + " " + pub.type + " " + pub.export({ format: "jwk" }).crv; })()`,
			"-----BEGIN EC PRIVATE KEY----- public P-384"},
		{"der round trip", `(() => { const { publicKey } = crypto.generateKeyPairSync("x25519"); const der = publicKey.export({ type: "spki", format: "der" }); return crypto.createPublicKey({ key: der, format: "der", type: "spki" }).equals(publicKey) + " " + publicKey.asymmetricKeyType; })()`, "true x25519"},
		{"bad pem", `crypto.createPublicKey("not a key")`, "throws: Error ERR_OSSL_UNSUPPORTED: error:1E08010C:DECODER routines::unsupported: no PEM data found"},
		{"secret key", `(() => { const k = crypto.createSecretKey(Buffer.from("abc")); return [k.type, k.symmetricKeySize, k.export().toString(), k.export({ format: "jwk" }).k].join(" "); })()`, "secret 3 abc YWJj"},
		{"KeyObject.from", `crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]).then((k) => crypto.KeyObject.from(k).symmetricKeySize)`, "64"},
		{"toCryptoKey", `crypto.createSecretKey(Buffer.alloc(16)).toCryptoKey({ name: "AES-GCM" }, true, ["encrypt"]).algorithm.length`, "128"},
		{"publicEncrypt", `(() => { const { publicKey, privateKey } = ` + rsaPair + `; const c = crypto.publicEncrypt(publicKey, Buffer.from("oaep")); const c2 = crypto.publicEncrypt({ key: publicKey.export({ type: "spki", format: "pem" }), oaepHash: "sha256", oaepLabel: Buffer.from("L") }, Buffer.from("sha256"));
			const c3 = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from("v15"));
			return [c.length, crypto.privateDecrypt(privateKey, c), crypto.privateDecrypt({ key: privateKey, oaepHash: "sha256", oaepLabel: Buffer.from("L") }, c2), crypto.privateDecrypt({ key: privateKey, padding: 1 }, c3)].join(" "); })()`, "256 oaep sha256 v15"},
		{"privateDecrypt wrong label", `(() => { const { publicKey, privateKey } = ` + rsaPair + `; return crypto.privateDecrypt({ key: privateKey, oaepLabel: Buffer.from("x") }, crypto.publicEncrypt(publicKey, Buffer.from("m"))); })()`,
			"throws: Error ERR_OSSL_RSA_OAEP_DECODING_ERROR: error:02000079:rsa routines::oaep decoding error"},
		{"timingSafeEqual", `crypto.timingSafeEqual(Buffer.from("ab"), Buffer.from("ab")) + " " + crypto.timingSafeEqual(Buffer.from("ab"), Buffer.from("ac"))`, "true false"},
		{"timingSafeEqual lengths", `crypto.timingSafeEqual(Buffer.from("a"), Buffer.from("ab"))`, "throws: RangeError ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH: Input buffers must have the same byte length"},
		{"webcrypto", `crypto.webcrypto === globalThis.crypto && crypto.subtle === globalThis.crypto.subtle`, "true"},
	})
}

// node:zlib: round trips, output readable by other implementations (the
// gzip header), Node's error codes.
func TestNodeZlib(t *testing.T) {
	runModuleCases(t, []moduleCase{
		{"gzip round trip", `zlib.gunzipSync(zlib.gzipSync("hello hello hello")).toString()`, "hello hello hello"},
		{"gzip header", `hex(zlib.gzipSync("x").subarray(0, 3))`, "1f8b08"},
		{"deflate round trip", `zlib.inflateSync(zlib.deflateSync(Buffer.from("abc".repeat(100)), { level: 9 })).length`, "300"},
		{"deflate header", `hex(zlib.deflateSync("x").subarray(0, 1))`, "78"},
		{"raw round trip", `zlib.inflateRawSync(zlib.deflateRawSync(new Uint8Array([1, 2, 3]))).join()`, "1,2,3"},
		{"unzip gzip", `zlib.unzipSync(zlib.gzipSync("g")).toString()`, "g"},
		{"unzip zlib", `zlib.unzipSync(zlib.deflateSync("z")).toString()`, "z"},
		// "hello" compressed by Node.js's zlib.deflateSync.
		{"inflate node output", `zlib.inflateSync(Buffer.from("eJzLSM3JyQcABiwCFQ==", "base64")).toString()`, "hello"},
		{"callback", `new Promise((res, rej) => zlib.gzip("cb", (e, z) => e ? rej(e) : zlib.gunzip(z, (e2, s) => e2 ? rej(e2) : res(s.toString()))))`, "cb"},
		{"compresses", `zlib.gzipSync("a".repeat(10000)).length < 100`, "true"},
		{"bad header", `zlib.gunzipSync(Buffer.from("not gzip at all"))`, "throws: Error Z_DATA_ERROR: incorrect header check"},
		{"truncated", `zlib.gunzipSync(zlib.gzipSync("hello world").subarray(0, 12))`, "throws: Error Z_BUF_ERROR: unexpected end of file"},
		{"errno", `(() => { try { zlib.inflateSync(Buffer.from("xx")); } catch (e) { return e.errno; } })()`, "-3"},
		{"maxOutputLength", `zlib.gunzipSync(zlib.gzipSync("a".repeat(1000)), { maxOutputLength: 10 })`, "throws: RangeError ERR_BUFFER_TOO_LARGE: Cannot create a Buffer larger than 10 bytes"},
		{"bad level", `zlib.gzipSync("x", { level: 11 })`, `throws: RangeError ERR_OUT_OF_RANGE: The value of "options.level" is out of range. It must be >= -1 and <= 9. Received 11`},
		{"crc32", `zlib.crc32("hello") + " " + zlib.crc32(Buffer.from("world"), zlib.crc32("hello "))`, "907060870 222957957"},
		{"constants", `zlib.constants.Z_BEST_COMPRESSION + " " + zlib.Z_DATA_ERROR`, "9 -3"},
		{"stream events", `new Promise((res) => { const gz = zlib.createGzip(); const parts = []; gz.on("data", (c) => parts.push(c)); gz.on("end", () => res(zlib.gunzipSync(Buffer.concat(parts)).toString())); gz.write("stream "); gz.end("me"); })`, "stream me"},
		{"stream pipe", `new Promise((res) => { const src = zlib.createDeflate(); const dst = zlib.createInflate(); const parts = []; dst.on("data", (c) => parts.push(c)); dst.on("end", () => res(Buffer.concat(parts).toString())); src.pipe(dst); src.end("piped"); })`, "piped"},
		{"stream async iteration", `(async () => { const gz = zlib.createGunzip(); gz.end(zlib.gzipSync("iterated")); const it = gz[Symbol.asyncIterator](); const parts = []; for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value); return Buffer.concat(parts).toString(); })()`, "iterated"},
		{"stream error", `new Promise((res) => { const gz = zlib.createGunzip(); gz.on("error", (e) => res(e.code)); gz.end(Buffer.from("junk")); })`, "Z_DATA_ERROR"},
		{"stream class", `zlib.createUnzip() instanceof zlib.Unzip`, "true"},
	})
}
