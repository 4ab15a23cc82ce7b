package jsrt

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strings"

	"github.com/dop251/goja"
)

// hashes maps WebCrypto hash names (upper-cased) to Go hashes. MD5 is not
// standard WebCrypto but Workers accept it for digest.
var hashes = map[string]func() hash.Hash{
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
	"MD5":     md5.New,
}

// installCrypto defines the natives behind crypto and crypto.subtle (the
// JS API, with promises and CryptoKey, is in prelude/05_platform.js).
func installCrypto(vm *goja.Runtime, natives *goja.Object) error {
	getHash := func(name string) func() hash.Hash {
		h, ok := hashes[strings.ToUpper(name)]
		if !ok {
			panic(domException(vm, "Unrecognized or unimplemented hash algorithm: "+name, "NotSupportedError"))
		}
		return h
	}
	for name, fn := range map[string]any{
		"fillRandom": func(v goja.Value) {
			b := viewBytes(vm, v)
			if len(b) > 65536 {
				panic(domException(vm, "getRandomValues() only accepts buffers of at most 65536 bytes.", "QuotaExceededError"))
			}
			_, _ = rand.Read(b)
		},
		"randomUUID": newUUID,
		"digest": func(alg string, data goja.Value) goja.Value {
			h := getHash(alg)()
			h.Write(viewBytes(vm, data))
			return vm.ToValue(vm.NewArrayBuffer(h.Sum(nil)))
		},
		"hmac": func(alg string, key, data goja.Value) goja.Value {
			m := hmac.New(getHash(alg), viewBytes(vm, key))
			m.Write(viewBytes(vm, data))
			return vm.ToValue(vm.NewArrayBuffer(m.Sum(nil)))
		},
		"timingSafeEqual": func(a, b goja.Value) bool {
			x, y := viewBytes(vm, a), viewBytes(vm, b)
			if len(x) != len(y) {
				panic(vm.NewTypeError("Input buffers must have the same byte length"))
			}
			return subtle.ConstantTimeCompare(x, y) == 1
		},
	} {
		if err := natives.Set(name, fn); err != nil {
			return err
		}
	}
	return nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}
