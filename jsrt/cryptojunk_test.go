package jsrt

import (
	"testing"

	"github.com/dop251/goja"
)

// Every crypto and zlib native called with junk arguments: each call
// returns or throws a JS exception, and the runtime keeps serving (no Go
// panic escapes a native).
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
	w := newTestWorker(t, `exports.default = { fetch() { return new Response("ok") } }`, Config{Runtimes: 1})
	rt := w.rts[0]
	type result struct {
		calls   int
		missing []string
		escaped []string
	}
	done := make(chan result, 1)
	rt.loop.Submit(func() {
		var r result
		junk, err := rt.vm.RunString(`[[], [undefined, null, 1], ["x", {}, [], -1, NaN], [{ name: "AES-GCM" }, "nope", new Uint8Array(3), {}, {}, {}, {}],
  ["gzip", new Uint8Array(3), 99, -5], ["private", "not pem", "pem", "pkcs8"], ["rsa", 1e12], ["ec", 1, 1, "P-999"],
  [{ name: "HMAC", hash: { name: 7 } }, 1, [1, 2]], ["jwk", "{", "jwk"], [Symbol.iterator, 1n]]`)
		if err != nil {
			t.Error(err)
			done <- r
			return
		}
		var sets [][]goja.Value
		for _, set := range junk.(*goja.Object).Export().([]any) {
			var args []goja.Value
			for _, a := range set.([]any) {
				args = append(args, rt.vm.ToValue(a))
			}
			sets = append(sets, args)
		}
		for _, name := range names {
			fn, ok := goja.AssertFunction(rt.natives.Get(name))
			if !ok {
				r.missing = append(r.missing, name)
				continue
			}
			for _, args := range sets {
				r.calls++
				func() {
					defer func() {
						if p := recover(); p != nil {
							r.escaped = append(r.escaped, name)
						}
					}()
					_, _ = fn(goja.Undefined(), args...) // a JS exception is fine
				}()
			}
		}
		done <- r
	})
	r := <-done
	if r.calls != 495 || len(r.missing) > 0 || len(r.escaped) > 0 {
		t.Fatalf("calls %d, missing %v, panics escaped from %v; want 495 calls, none missing, none escaped", r.calls, r.missing, r.escaped)
	}
	if status, body, err := fetchBody(t, w, "http://x/"); err != nil || status != 200 || body != "ok" {
		t.Fatalf("after the junk calls = %d %q %v, want the runtime serving", status, body, err)
	}
}
