package jsrt

import "testing"

// crypto and crypto.subtle as scripts see them: the prelude's API (promises,
// CryptoKey, usages) over package webapi's natives, tested on their own
// there.
func TestNativeCrypto(t *testing.T) {
	hmacKey := `crypto.subtle.importKey("raw", new TextEncoder().encode("Jefe"), {name: "HMAC", hash: "SHA-256"}, true, ["sign", "verify"])`
	data := `new TextEncoder().encode("what do ya want for nothing?")`
	nativeRun(t, []nativeCase{
		{"sha-256 abc", `crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc")).then(hex)`,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha-1 object alg", `crypto.subtle.digest({name: "sha-1"}, new TextEncoder().encode("abc")).then(hex)`,
			"a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"md5", `crypto.subtle.digest("MD5", new Uint8Array(0)).then(hex)`, "d41d8cd98f00b204e9800998ecf8427e"},
		{"sha-512 length", `crypto.subtle.digest("SHA-512", new ArrayBuffer(0)).then((d) => d.byteLength)`, "64"},
		{"sha-384 length", `crypto.subtle.digest("SHA-384", new ArrayBuffer(0)).then((d) => d.byteLength)`, "48"},
		{"digest bad alg", `crypto.subtle.digest("SHA-3", new ArrayBuffer(0))`, `rejects: NotSupportedError: Unrecognized or unimplemented algorithm "SHA-3" for digest.`},
		// RFC 4231 test case 2.
		{"hmac sign", hmacKey + `.then((k) => crypto.subtle.sign("HMAC", k, ` + data + `)).then(hex)`,
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"hmac verify true", `(async () => { const k = await ` + hmacKey + `; const s = await crypto.subtle.sign("HMAC", k, ` + data + `); return crypto.subtle.verify("HMAC", k, s, ` + data + `); })()`, "true"},
		{"hmac verify false", `(async () => { const k = await ` + hmacKey + `; const s = new Uint8Array(await crypto.subtle.sign("HMAC", k, ` + data + `)); s[0] ^= 1; return crypto.subtle.verify("HMAC", k, s, ` + data + `); })()`, "false"},
		{"hmac verify short", `(async () => { const k = await ` + hmacKey + `; return crypto.subtle.verify("HMAC", k, new Uint8Array(3), ` + data + `); })()`, "false"},
		{"cryptokey", hmacKey + `.then((k) => [k instanceof CryptoKey, k.type, k.extractable, k.algorithm.name, k.algorithm.hash.name, k.algorithm.length, k.usages.join("+")].join(","))`,
			"true,secret,true,HMAC,SHA-256,32,sign+verify"},
		{"export raw", hmacKey + `.then((k) => crypto.subtle.exportKey("raw", k)).then((b) => new TextDecoder().decode(b))`, "Jefe"},
		{"export jwk", hmacKey + `.then((k) => crypto.subtle.exportKey("jwk", k)).then((j) => j.kty + " " + j.k + " " + j.alg)`, "oct SmVmZQ HS256"},
		{"import jwk", `crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ"}, {name: "HMAC", hash: {name: "SHA-256"}}, false, ["sign"]).then((k) => crypto.subtle.sign("HMAC", k, ` + data + `)).then(hex)`,
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"not extractable", `crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["sign"]).then((k) => crypto.subtle.exportKey("raw", k))`,
			"rejects: InvalidAccessError: The key is not extractable."},
		{"usage enforced", `crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["verify"]).then((k) => crypto.subtle.sign("HMAC", k, new Uint8Array(1)))`,
			`rejects: InvalidAccessError: The requested operation is not valid for the provided key: its usages do not include "sign".`},
		{"generateKey", `crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["sign"]).then((k) => crypto.subtle.exportKey("raw", k)).then((b) => b.byteLength)`, "64"},
		{"timingSafeEqual", `[crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 3]))].join()`, "true,false"},
		{"timingSafeEqual lengths", `crypto.subtle.timingSafeEqual(new Uint8Array(1), new Uint8Array(2))`, "throws: TypeError: Input buffers must have the same byte length"},
		{"getRandomValues", `(() => { const a = new Uint32Array(8); return crypto.getRandomValues(a) === a && a.some((x) => x !== 0); })()`, "true"},
		{"getRandomValues offset", `(() => { const b = new Uint8Array(64); crypto.getRandomValues(b.subarray(8, 16)); return b.slice(0, 8).every((x) => x === 0) && b.slice(16).every((x) => x === 0); })()`, "true"},
		{"getRandomValues quota", `crypto.getRandomValues(new Uint8Array(65537))`, "throws: QuotaExceededError: getRandomValues() only accepts buffers of at most 65536 bytes."},
		{"getRandomValues max", `crypto.getRandomValues(new Uint8Array(65536)).length`, "65536"},
		{"getRandomValues float", `crypto.getRandomValues(new Float64Array(1))`, "throws: TypeMismatchError: getRandomValues() requires an integer typed array."},
		{"randomUUID", `/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`, "true"},
	})
}

// The rest of WebCrypto (issue 19), with known answers from the RFCs and
// NIST vectors, and the spec's exception names.
func TestNativeWebCrypto(t *testing.T) {
	const prelude = `var s = crypto.subtle; var h = (x) => Uint8Array.from(x.match(/../g), (b) => parseInt(b, 16)); `
	const edPkcs8 = `h("302e020100300506032b657004220420" + "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")`
	const xPkcs8 = `h("302e020100300506032b656e04220420" + "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")`
	nativeRun(t, []nativeCase{
		// RFC 5869 A.1.
		{"hkdf", prelude + `s.importKey("raw", h("0b".repeat(22)), "HKDF", false, ["deriveBits"]).then((k) => s.deriveBits({ name: "HKDF", hash: "SHA-256", salt: h("000102030405060708090a0b0c"), info: h("f0f1f2f3f4f5f6f7f8f9") }, k, 336)).then(hex)`,
			"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
		{"hkdf length not bytes", prelude + `s.importKey("raw", h("0b"), "HKDF", false, ["deriveBits"]).then((k) => s.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new Uint8Array(0) }, k, 12))`,
			"rejects: OperationError: HKDF length must be a multiple of 8, not 12."},
		// RFC 6070 test 2.
		{"pbkdf2", prelude + `s.importKey("raw", new TextEncoder().encode("password"), "PBKDF2", false, ["deriveBits"]).then((k) => s.deriveBits({ name: "PBKDF2", hash: "SHA-1", salt: new TextEncoder().encode("salt"), iterations: 2 }, k, 160)).then(hex)`,
			"ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
		{"pbkdf2 extractable", prelude + `s.importKey("raw", h("00"), "PBKDF2", true, ["deriveBits"])`, "rejects: SyntaxError: PBKDF2 keys cannot be extractable."},
		{"deriveKey", prelude + `s.importKey("raw", h("0102"), "PBKDF2", false, ["deriveKey"]).then((k) => s.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt: h("00"), iterations: 10 }, k, { name: "AES-GCM", length: 256 }, false, ["encrypt"])).then((k) => k.algorithm.name + " " + k.algorithm.length + " " + k.usages)`,
			"AES-GCM 256 encrypt"},
		// RFC 3394 4.1.
		{"aes-kw", prelude + `Promise.all([s.importKey("raw", h("000102030405060708090a0b0c0d0e0f"), "AES-KW", false, ["wrapKey"]), s.importKey("raw", h("00112233445566778899aabbccddeeff"), "AES-CBC", true, ["encrypt"])]).then(([kek, k]) => s.wrapKey("raw", k, kek, "AES-KW")).then(hex)`,
			"1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"},
		{"aes-kw unwrap tampered", prelude + `s.importKey("raw", h("000102030405060708090a0b0c0d0e0f"), "AES-KW", false, ["unwrapKey"]).then((kek) => s.unwrapKey("raw", h("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe6"), kek, "AES-KW", "AES-CBC", true, ["encrypt"]))`,
			"rejects: OperationError: AES-KW unwrap failed: the integrity check does not match."},
		// NIST SP 800-38A F.2.1 (first block) and F.5.1.
		{"aes-cbc", prelude + `s.importKey("raw", h("2b7e151628aed2a6abf7158809cf4f3c"), "AES-CBC", false, ["encrypt"]).then((k) => s.encrypt({ name: "AES-CBC", iv: h("000102030405060708090a0b0c0d0e0f") }, k, h("6bc1bee22e409f96e93d7e117393172a"))).then((c) => hex(c).slice(0, 32) + " " + c.byteLength)`,
			"7649abac8119b246cee98e9b12e9197d 32"},
		{"aes-ctr", prelude + `s.importKey("raw", h("2b7e151628aed2a6abf7158809cf4f3c"), "AES-CTR", false, ["encrypt"]).then((k) => s.encrypt({ name: "AES-CTR", counter: h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), length: 64 }, k, h("6bc1bee22e409f96e93d7e117393172a"))).then(hex)`,
			"874d6191b620e3261bef6864990db6ce"},
		// With an 8-bit counter, the block after ...ff uses ...00: the carry does not reach the nonce.
		{"aes-ctr wraps", prelude + `(async () => { const k = await s.importKey("raw", h("2b7e151628aed2a6abf7158809cf4f3c"), "AES-CTR", false, ["encrypt"]); const n = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfe";
			const two = new Uint8Array(await s.encrypt({ name: "AES-CTR", counter: h(n + "ff"), length: 8 }, k, new Uint8Array(32)));
			const one = await s.encrypt({ name: "AES-CTR", counter: h(n + "00"), length: 8 }, k, new Uint8Array(16)); return hex(two.subarray(16)) === hex(one); })()`, "true"},
		{"aes-cbc bad iv", prelude + `s.importKey("raw", new Uint8Array(16), "AES-CBC", false, ["encrypt"]).then((k) => s.encrypt({ name: "AES-CBC", iv: new Uint8Array(8) }, k, new Uint8Array(1)))`,
			"rejects: OperationError: AES-CBC iv must be 16 bytes, not 8."},
		{"aes bad length", prelude + `s.importKey("raw", new Uint8Array(10), "AES-GCM", false, ["encrypt"])`, "rejects: DataError: AES key data must be 128, 192 or 256 bits, not 80."},
		// RFC 8032 7.1 test 1.
		{"ed25519 rfc8032", prelude + `s.importKey("pkcs8", ` + edPkcs8 + `, "Ed25519", true, ["sign"]).then(async (k) => hex(await s.sign("Ed25519", k, new Uint8Array(0))) + " " + (await s.exportKey("jwk", k)).x)`,
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		// RFC 7748 6.1.
		{"x25519 rfc7748", prelude + `Promise.all([s.importKey("pkcs8", ` + xPkcs8 + `, "X25519", false, ["deriveBits"]), s.importKey("raw", h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), "X25519", true, [])]).then(([a, b]) => s.deriveBits({ name: "X25519", public: b }, a, 256)).then(hex)`,
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
		{"ecdsa round trip", prelude + `(async () => { const { publicKey, privateKey } = await s.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"]);
			const sig = new Uint8Array(await s.sign({ name: "ECDSA", hash: "SHA-384" }, privateKey, h("01")));
			const ok = await s.verify({ name: "ECDSA", hash: "SHA-384" }, publicKey, sig, h("01")); sig[5] ^= 1;
			const bad = await s.verify({ name: "ECDSA", hash: "SHA-384" }, publicKey, sig, h("01"));
			const jwk = await s.exportKey("jwk", privateKey);
			return [sig.length, ok, bad, publicKey.type, privateKey.usages, jwk.kty, jwk.crv, (await s.exportKey("raw", publicKey)).byteLength].join(" "); })()`,
			"96 true false public sign EC P-384 97"},
		{"ecdh", prelude + `(async () => { const alg = { name: "ECDH", namedCurve: "P-256" }; const a = await s.generateKey(alg, false, ["deriveBits"]), b = await s.generateKey(alg, false, ["deriveBits"]);
			const x = await s.deriveBits({ name: "ECDH", public: b.publicKey }, a.privateKey, 256), y = await s.deriveBits({ name: "ECDH", public: a.publicKey }, b.privateKey, 256);
			return hex(x) === hex(y) && x.byteLength === 32; })()`, "true"},
		{"rsa-pss and oaep", prelude + `(async () => { const pss = await s.generateKey({ name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]);
			const sig = await s.sign({ name: "RSA-PSS", saltLength: 32 }, pss.privateKey, h("00"));
			const sig0 = await s.sign({ name: "RSA-PSS", saltLength: 0 }, pss.privateKey, h("00"));
			const oaep = await s.importKey("spki", await s.exportKey("spki", pss.publicKey), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
			const priv = await s.importKey("jwk", await s.exportKey("jwk", pss.privateKey), { name: "RSA-PSS", hash: "SHA-256" }, false, ["sign"]);
			const again = await s.sign({ name: "RSA-PSS", saltLength: 0 }, priv, h("00"));
			return [await s.verify({ name: "RSA-PSS", saltLength: 32 }, pss.publicKey, sig, h("00")), await s.verify({ name: "RSA-PSS", saltLength: 0 }, pss.publicKey, sig0, h("00")),
				hex(again) === hex(sig0), pss.publicKey.algorithm.modulusLength, hex(pss.publicKey.algorithm.publicExponent), oaep.algorithm.name, (await s.encrypt({ name: "RSA-OAEP" }, oaep, h("ff"))).byteLength].join(" "); })()`,
			"true true true 2048 010001 RSA-OAEP 256"},
		{"wrap jwk round trip", prelude + `(async () => { const kek = await s.generateKey({ name: "AES-GCM", length: 128 }, false, ["wrapKey", "unwrapKey"]); const k = await s.generateKey({ name: "HMAC", hash: "SHA-384" }, true, ["sign"]);
			const iv = new Uint8Array(12); const w = await s.wrapKey("jwk", k, kek, { name: "AES-GCM", iv });
			const u = await s.unwrapKey("jwk", w, kek, { name: "AES-GCM", iv }, { name: "HMAC", hash: "SHA-384" }, true, ["sign"]);
			return hex(await s.exportKey("raw", u)) === hex(await s.exportKey("raw", k)); })()`, "true"},
		{"sign with public key", prelude + `s.generateKey("Ed25519", false, ["sign", "verify"]).then((p) => s.sign("Ed25519", p.publicKey, h("00")))`,
			`rejects: InvalidAccessError: The requested operation is not valid for the provided key: its usages do not include "sign".`},
		{"wrong algorithm", prelude + `s.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]).then((k) => s.sign({ name: "ECDSA", hash: "SHA-256" }, k, h("00")))`,
			"rejects: InvalidAccessError: The requested operation is not valid for the provided key: it is a HMAC key, not ECDSA."},
		{"bad usage", prelude + `s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["encrypt"])`, `rejects: SyntaxError: Cannot create a key using the specified key usages: "encrypt" is not allowed.`},
		{"empty usages", prelude + `s.generateKey({ name: "AES-GCM", length: 128 }, false, [])`, "rejects: SyntaxError: Usages cannot be empty when creating a key."},
		{"unknown algorithm", prelude + `s.generateKey({ name: "DES" }, false, ["encrypt"])`, `rejects: NotSupportedError: Unrecognized or unimplemented algorithm "DES" for generateKey.`},
		{"unknown curve", prelude + `s.generateKey({ name: "ECDH", namedCurve: "P-192" }, false, ["deriveBits"])`, `rejects: NotSupportedError: Unsupported namedCurve "P-192": cairn supports P-256, P-384 and P-521.`},
		{"missing member", prelude + `s.encrypt({ name: "AES-GCM" }, null, h("00"))`, "rejects: TypeError: Failed to execute 'encrypt' on 'SubtleCrypto': parameter is not of type 'CryptoKey'."},
		{"missing iv", prelude + `s.generateKey({ name: "AES-GCM", length: 128 }, false, ["encrypt"]).then((k) => s.encrypt({ name: "AES-GCM" }, k, h("00")))`, "rejects: TypeError: AES-GCM: iv is required."},
		{"bad spki", prelude + `s.importKey("spki", h("3000"), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]).catch((e) => e.name)`, "DataError"},
		{"bad key usage value", prelude + `s.generateKey({ name: "AES-GCM", length: 128 }, false, ["fly"])`, "rejects: TypeError: Failed to execute 'generateKey' on 'SubtleCrypto': 'fly' is not a valid KeyUsage."},
		{"CryptoKey illegal constructor", `new CryptoKey()`, "throws: TypeError: Illegal constructor"},
		{"cached slots", prelude + `s.generateKey({ name: "AES-CTR", length: 128 }, true, ["encrypt", "decrypt", "encrypt"]).then((k) => [k.algorithm === k.algorithm, k.usages === k.usages, k.usages.join(), Object.prototype.toString.call(k), crypto.subtle instanceof SubtleCrypto].join(" "))`,
			"true true encrypt,decrypt [object CryptoKey] true"},
		{"DigestStream", `(async () => { const d = new crypto.DigestStream("SHA-256"); const w = d.getWriter(); await w.write(new TextEncoder().encode("a")); await w.write("bc"); await w.close(); return hex(await d.digest); })()`,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"DigestStream bad algorithm", `new crypto.DigestStream("SHA-3")`, `throws: NotSupportedError: Unrecognized or unimplemented algorithm "SHA-3" for digest.`},
	})
}
