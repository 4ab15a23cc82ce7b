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
