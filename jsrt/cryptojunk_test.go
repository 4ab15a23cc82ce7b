package jsrt

import (
	"strings"
	"testing"
)

// Every crypto and zlib native, reachable by Worker code through
// require("cairn:internal"), called with junk arguments: each call returns
// or throws a JS exception, and the runtime keeps serving (no Go panic
// escapes a native).
func TestCryptoNativesRejectJunk(t *testing.T) {
	names := []string{
		"subtleEncrypt", "subtleDecrypt", "subtleSign", "subtleVerify", "subtleDigest", "subtleGenerateKey",
		"subtleDeriveBits", "subtleDeriveKey", "subtleImportKey", "subtleExportKey", "subtleWrapKey", "subtleUnwrapKey",
		"digestStreamNew", "digestStreamUpdate", "digestStreamFinish",
		"nodeHashNew", "nodeHmacNew", "nodeHashUpdate", "nodeHashDigest", "nodeHashCopy", "nodePbkdf2", "nodeScrypt", "nodeHkdf",
		"nodeCipherNew", "nodeCipherUpdate", "nodeCipherFinal", "nodeCipherSetAAD", "nodeCipherAuthTag", "nodeCipherSetAuthTag",
		"nodeCipherAutoPad", "nodeKeyCreate", "nodeKeyInfo", "nodeKeyExport", "nodeKeyGenerate", "nodeKeyFromCryptoKey",
		"nodeKeyToCryptoKey", "nodeKeyEquals", "nodeSign", "nodeVerify", "nodeRSACrypt",
		"zlibProcess", "zlibCrc32", "zlibStreamNew", "zlibStreamWrite", "zlibStreamEnd",
	}
	code := `const internal = require("cairn:internal");
const names = ` + "`" + strings.Join(names, " ") + "`" + `.split(" ");
const junk = [[], [undefined, null, 1], ["x", {}, [], -1, NaN], [{ name: "AES-GCM" }, "nope", new Uint8Array(3), {}, {}, {}, {}],
  ["gzip", new Uint8Array(3), 99, -5], ["private", "not pem", "pem", "pkcs8"], ["rsa", 1e12], ["ec", 1, 1, "P-999"],
  [{ name: "HMAC", hash: { name: 7 } }, 1, [1, 2]], ["jwk", "{", "jwk"], [Symbol.iterator, 1n]];
exports.default = { fetch() {
  let calls = 0, missing = [];
  for (const name of names) {
    if (typeof internal[name] !== "function") { missing.push(name); continue; }
    for (const args of junk) {
      calls++;
      try { internal[name](...args); } catch (e) {}
    }
  }
  return new Response(calls + " " + missing.join(","));
} };`
	w := newTestWorker(t, code, Config{Runtimes: 1})
	for range 2 { // the second request shows the runtime survived the first
		status, body, err := fetchBody(t, w, "http://x/")
		if err != nil || status != 200 || strings.TrimSpace(body) != "495" {
			t.Fatalf("= %d %q %v, want 495 calls and no missing natives", status, body, err)
		}
	}
}
