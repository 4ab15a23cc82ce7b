package webapi

import (
	"regexp"
	"strconv"
	"testing"
)

func TestCryptoNatives(t *testing.T) {
	runCases(t, []jsCase{
		{"sha-256", `hex(natives.digest("SHA-256", natives.utf8Encode("abc")))`,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha-1 lower case", `hex(natives.digest("sha-1", natives.utf8Encode("abc")))`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"md5 empty", `hex(natives.digest("MD5", new ArrayBuffer(0)))`, "d41d8cd98f00b204e9800998ecf8427e"},
		{"sha-384 length", `natives.digest("SHA-384", new Uint8Array(0)).byteLength`, "48"},
		{"sha-512 length", `natives.digest("SHA-512", new Uint8Array(0)).byteLength`, "64"},
		{"digest bad hash", `natives.digest("SHA-3", new Uint8Array(0))`, "throws: NotSupportedError: Unrecognized or unimplemented hash algorithm: SHA-3"},
		// RFC 4231 test case 2.
		{"hmac", `hex(natives.hmac("SHA-256", natives.utf8Encode("Jefe"), natives.utf8Encode("what do ya want for nothing?")))`,
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"hmac bad hash", `natives.hmac("SHA-3", new Uint8Array(1), new Uint8Array(1))`, "throws: NotSupportedError: Unrecognized or unimplemented hash algorithm: SHA-3"},
		{"fillRandom", `(() => { const b = new Uint8Array(64); natives.fillRandom(b.subarray(8, 16)); return b.slice(0, 8).every((x) => x === 0) && b.slice(16).every((x) => x === 0) && b.slice(8, 16).some((x) => x !== 0); })()`, "true"},
		{"fillRandom max", `natives.fillRandom(new Uint8Array(65536))`, "undefined"},
		{"fillRandom quota", `natives.fillRandom(new Uint8Array(65537))`, "throws: QuotaExceededError: getRandomValues() only accepts buffers of at most 65536 bytes."},
		{"timingSafeEqual", `[natives.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), natives.timingSafeEqual(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 3]))].join()`, "true,false"},
		{"timingSafeEqual lengths", `natives.timingSafeEqual(new Uint8Array(1), new Uint8Array(2))`, "throws: TypeError: Input buffers must have the same byte length"},
	})
}

// The aesGcm native (GCM spec test cases 1 and 2: zero key and IV).
func TestAESGCMNative(t *testing.T) {
	z := func(n int) string { return `new Uint8Array(` + strconv.Itoa(n) + `)` }
	const decryptFailed = "throws: OperationError: Decryption failed: the data or its authentication tag is not valid for this key, iv and additionalData."
	runCases(t, []jsCase{
		{"encrypt empty", `hex(natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(0) + `, undefined, 128))`, "58e2fccefa7e3061367f1d57a4e7455a"},
		{"encrypt block", `hex(natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(16) + `, undefined, 0))`, "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"},
		{"round trip aad", `(() => { const k = new Uint8Array(32).fill(7), iv = new Uint8Array(12).fill(1), aad = natives.utf8Encode("hdr");
			const c = natives.aesGcm(true, k, iv, natives.utf8Encode("secret"), aad, 96);
			return c.byteLength + " " + natives.utf8Decode(natives.aesGcm(false, k, iv, c, aad, 96), false, false); })()`, "18 secret"},
		{"long iv", `(() => { const k = new Uint8Array(16), iv = new Uint8Array(16).fill(3); const c = natives.aesGcm(true, k, iv, new Uint8Array([1, 2]), undefined, 128); return hex(natives.aesGcm(false, k, iv, c, undefined, 128)); })()`, "0102"},
		{"long iv short tag", `(() => { const k = new Uint8Array(16), iv = new Uint8Array(32).fill(5); const c = natives.aesGcm(true, k, iv, new Uint8Array([9, 8, 7]), new Uint8Array([1]), 32); return c.byteLength + " " + hex(natives.aesGcm(false, k, iv, c, new Uint8Array([1]), 32)); })()`, "7 090807"},
		{"short tag tampered", `(() => { const k = new Uint8Array(16), iv = new Uint8Array(12); const c = new Uint8Array(natives.aesGcm(true, k, iv, new Uint8Array([9]), undefined, 64)); c[c.length - 1] ^= 1; return natives.aesGcm(false, k, iv, c, undefined, 64); })()`, decryptFailed},
		// GCM spec test case 2 with the tag truncated to 32 bits.
		{"truncated tag", `hex(natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(16) + `, undefined, 32))`, "0388dace60b6a392f328c2b971b2fe78ab6e47d4"},
		{"decrypt empty", `natives.aesGcm(false, ` + z(16) + `, ` + z(12) + `, natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(0) + `, undefined, 128), undefined, 128).byteLength`, "0"},
		{"tampered", `(() => { const c = new Uint8Array(natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(16) + `, undefined, 128)); c[0] ^= 1; return natives.aesGcm(false, ` + z(16) + `, ` + z(12) + `, c, undefined, 128); })()`, decryptFailed},
		{"wrong aad", `(() => { const c = natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(4) + `, new Uint8Array([1]), 128); return natives.aesGcm(false, ` + z(16) + `, ` + z(12) + `, c, undefined, 128); })()`, decryptFailed},
		{"short ciphertext", `natives.aesGcm(false, ` + z(16) + `, ` + z(12) + `, ` + z(3) + `, undefined, 128)`, "throws: OperationError: The ciphertext is shorter than the authentication tag."},
		{"bad key", `natives.aesGcm(true, ` + z(10) + `, ` + z(12) + `, ` + z(1) + `, undefined, 128)`, "throws: DataError: AES key data must be 128, 192 or 256 bits, not 80."},
		{"bad tag", `natives.aesGcm(true, ` + z(16) + `, ` + z(12) + `, ` + z(1) + `, undefined, 100)`, "throws: OperationError: AES-GCM tagLength 100 is not one of 32, 64, 96, 104, 112, 120 or 128."},
		{"empty iv", `natives.aesGcm(true, ` + z(16) + `, ` + z(0) + `, ` + z(1) + `, undefined, 128)`, "throws: OperationError: AES-GCM iv must not be empty."},
	})
}

func TestRandomUUIDNative(t *testing.T) {
	vm, _ := newVM(t)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := eval(vm, `natives.randomUUID()`)
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("randomUUID() = %q", u)
		}
		seen[u] = true
	}
}
