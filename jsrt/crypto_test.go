package jsrt

import (
	"regexp"
	"strconv"
	"testing"
)

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
		{"digest bad alg", `crypto.subtle.digest("SHA-3", new ArrayBuffer(0))`, "rejects: NotSupportedError: Unrecognized or unimplemented hash algorithm: SHA-3"},
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
			"rejects: InvalidAccessError: Key is not extractable."},
		{"usage enforced", `crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["verify"]).then((k) => crypto.subtle.sign("HMAC", k, new Uint8Array(1)))`,
			`rejects: InvalidAccessError: Requested operation "sign" is not permitted by this key.`},
		{"generateKey", `crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, true, ["sign"]).then((k) => crypto.subtle.exportKey("raw", k)).then((b) => b.byteLength)`, "64"},
		{"timingSafeEqual", `[crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 3]))].join()`, "true,false"},
		{"timingSafeEqual lengths", `crypto.subtle.timingSafeEqual(new Uint8Array(1), new Uint8Array(2))`, "throws: TypeError: Input buffers must have the same byte length"},
		{"getRandomValues", `(() => { const a = new Uint32Array(8); return crypto.getRandomValues(a) === a && a.some((x) => x !== 0); })()`, "true"},
		{"getRandomValues offset", `(() => { const b = new Uint8Array(64); crypto.getRandomValues(b.subarray(8, 16)); return b.slice(0, 8).every((x) => x === 0) && b.slice(16).every((x) => x === 0); })()`, "true"},
		{"getRandomValues quota", `crypto.getRandomValues(new Uint8Array(65537))`, "throws: QuotaExceededError: getRandomValues() only accepts buffers of at most 65536 bytes."},
		{"getRandomValues max", `crypto.getRandomValues(new Uint8Array(65536)).length`, "65536"},
		{"getRandomValues float", `crypto.getRandomValues(new Float64Array(1))`, "throws: TypeMismatchError: getRandomValues() requires an integer typed array."},
	})
}

// The aesGcm native (GCM spec test cases 1 and 2: zero key and IV).
func TestNativeAESGCM(t *testing.T) {
	z := func(n int) string { return `new Uint8Array(` + strconv.Itoa(n) + `)` }
	nativeRun(t, []nativeCase{
		{"encrypt empty", `hex(__cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(0) + `, undefined, 128))`, "58e2fccefa7e3061367f1d57a4e7455a"},
		{"encrypt block", `hex(__cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(16) + `, undefined, 0))`, "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"},
		{"round trip aad", `(() => { const k = new Uint8Array(32).fill(7), iv = new Uint8Array(12).fill(1), aad = new TextEncoder().encode("hdr");
			const c = __cairn.aesGcm(true, k, iv, new TextEncoder().encode("secret"), aad, 96);
			return c.byteLength + " " + new TextDecoder().decode(__cairn.aesGcm(false, k, iv, c, aad, 96)); })()`, "18 secret"},
		{"long iv", `(() => { const k = new Uint8Array(16), iv = new Uint8Array(16).fill(3); const c = __cairn.aesGcm(true, k, iv, new Uint8Array([1, 2]), undefined, 128); return hex(__cairn.aesGcm(false, k, iv, c, undefined, 128)); })()`, "0102"},
		{"decrypt empty", `__cairn.aesGcm(false, ` + z(16) + `, ` + z(12) + `, __cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(0) + `, undefined, 128), undefined, 128).byteLength`, "0"},
		{"tampered", `(() => { const c = new Uint8Array(__cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(16) + `, undefined, 128)); c[0] ^= 1; return __cairn.aesGcm(false, ` + z(16) + `, ` + z(12) + `, c, undefined, 128); })()`,
			"throws: OperationError: Decryption failed: the data or its authentication tag is not valid for this key, iv and additionalData."},
		{"wrong aad", `(() => { const c = __cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(4) + `, new Uint8Array([1]), 128); return __cairn.aesGcm(false, ` + z(16) + `, ` + z(12) + `, c, undefined, 128); })()`,
			"throws: OperationError: Decryption failed: the data or its authentication tag is not valid for this key, iv and additionalData."},
		{"short ciphertext", `__cairn.aesGcm(false, ` + z(16) + `, ` + z(12) + `, ` + z(3) + `, undefined, 128)`, "throws: OperationError: The ciphertext is shorter than the authentication tag."},
		{"bad key", `__cairn.aesGcm(true, ` + z(10) + `, ` + z(12) + `, ` + z(1) + `, undefined, 128)`, "throws: DataError: AES key data must be 128, 192 or 256 bits, not 80."},
		{"bad tag", `__cairn.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(1) + `, undefined, 100)`, "throws: OperationError: AES-GCM tagLength 100 is not one of 32, 64, 96, 104, 112, 120 or 128."},
		{"empty iv", `__cairn.aesGcm(true, ` + z(16) + `, ` + z(0) + `, ` + z(1) + `, undefined, 128)`, "throws: OperationError: AES-GCM iv must not be empty."},
	})
}

func TestNativeRandomUUID(t *testing.T) {
	vm, _ := nativeRuntime(t)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := nativeEval(t, vm, `crypto.randomUUID()`)
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("randomUUID() = %q", u)
		}
		seen[u] = true
	}
}
