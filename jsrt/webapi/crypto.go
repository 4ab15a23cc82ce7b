package webapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
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

// InstallCrypto defines on natives the natives behind crypto and
// crypto.subtle (the JS API, with promises and CryptoKey, is jsrt's
// prelude/05_platform.js):
//
//	fillRandom(view)                      fill an integer typed array (≤ 65536 bytes)
//	randomUUID() string                   a version 4 UUID
//	digest(hash, data) ArrayBuffer        SHA-1, SHA-256, SHA-384, SHA-512, MD5
//	hmac(hash, key, data) ArrayBuffer     HMAC with one of those hashes
//	aesGcm(encrypt, key, iv, data, additionalData, tagLengthBits) ArrayBuffer
//	                                      AES-GCM; the ciphertext carries the tag
//	timingSafeEqual(a, b) bool            constant-time; TypeError on unequal lengths
//	subtleEncrypt, subtleDecrypt, subtleSign, subtleVerify, subtleDigest,
//	subtleGenerateKey, subtleDeriveBits, subtleDeriveKey, subtleImportKey,
//	subtleExportKey, subtleWrapKey, subtleUnwrapKey
//	                                      the SubtleCrypto methods (crypto_ops.go), keys as handles
//
// Buffers are ArrayBuffers or views; failures throw DOMExceptions
// (NotSupportedError, QuotaExceededError, DataError, OperationError,
// InvalidAccessError, SyntaxError) or TypeErrors as WebCrypto specifies.
// Key material stays in Go: a CryptoKey holds an opaque handle to it.
func InstallCrypto(vm *goja.Runtime, natives *goja.Object) error {
	if err := installSubtle(vm, natives); err != nil {
		return err
	}
	getHash := func(name string) func() hash.Hash {
		h, ok := hashes[strings.ToUpper(name)]
		if !ok {
			panic(domException(vm, "Unrecognized or unimplemented hash algorithm: "+name, "NotSupportedError"))
		}
		return h
	}
	for name, fn := range map[string]any{
		"fillRandom": func(v goja.Value) {
			b := ViewBytes(vm, v)
			if len(b) > 65536 {
				panic(domException(vm, "getRandomValues() only accepts buffers of at most 65536 bytes.", "QuotaExceededError"))
			}
			_, _ = rand.Read(b)
		},
		"randomUUID": newUUID,
		"digest": func(alg string, data goja.Value) goja.Value {
			h := getHash(alg)()
			h.Write(ViewBytes(vm, data))
			return vm.ToValue(vm.NewArrayBuffer(h.Sum(nil)))
		},
		"hmac": func(alg string, key, data goja.Value) goja.Value {
			m := hmac.New(getHash(alg), ViewBytes(vm, key))
			m.Write(ViewBytes(vm, data))
			return vm.ToValue(vm.NewArrayBuffer(m.Sum(nil)))
		},
		"aesGcm": func(call goja.FunctionCall) goja.Value {
			out, err := aesGCM(call.Argument(0).ToBoolean(), ViewBytes(vm, call.Argument(1)), ViewBytes(vm, call.Argument(2)),
				ViewBytes(vm, call.Argument(3)), ViewBytes(vm, call.Argument(4)), int(call.Argument(5).ToInteger()))
			if err != nil {
				panic(domException(vm, err.msg, err.name))
			}
			return vm.ToValue(vm.NewArrayBuffer(out))
		},
		"timingSafeEqual": func(a, b goja.Value) bool {
			x, y := ViewBytes(vm, a), ViewBytes(vm, b)
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

// aesGCM encrypts (ciphertext with the tag appended) or decrypts data with
// AES-GCM. tagBits 0 means the default 128. Go's GCM takes either a custom
// nonce size or a tag of at least 96 bits, so this always computes the
// full 128-bit tag and truncates it: decryption recovers the plaintext by
// running the (CTR) cipher over the ciphertext, seals it again and
// compares the truncated tags in constant time.
func aesGCM(encrypt bool, key, iv, data, aad []byte, tagBits int) ([]byte, *cryptoError) {
	if tagBits == 0 {
		tagBits = 128
	}
	switch tagBits {
	case 32, 64, 96, 104, 112, 120, 128:
	default:
		return nil, &cryptoError{"OperationError", fmt.Sprintf("AES-GCM tagLength %d is not one of 32, 64, 96, 104, 112, 120 or 128.", tagBits)}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, &cryptoError{"DataError", fmt.Sprintf("AES key data must be 128, 192 or 256 bits, not %d.", len(key)*8)}
	}
	if len(iv) == 0 {
		return nil, &cryptoError{"OperationError", "AES-GCM iv must not be empty."}
	}
	var aead cipher.AEAD
	if len(iv) == 12 {
		aead, err = cipher.NewGCM(block)
	} else {
		aead, err = cipher.NewGCMWithNonceSize(block, len(iv))
	}
	if err != nil {
		return nil, &cryptoError{"OperationError", err.Error()}
	}
	tagLen := tagBits / 8
	if encrypt {
		out := aead.Seal(nil, iv, data, aad)
		return out[:len(data)+tagLen], nil
	}
	if len(data) < tagLen {
		return nil, &cryptoError{"OperationError", "The ciphertext is shorter than the authentication tag."}
	}
	ct, tag := data[:len(data)-tagLen], data[len(data)-tagLen:]
	plain := aead.Seal(nil, iv, ct, nil)[:len(ct)] // CTR: the same keystream decrypts
	full := aead.Seal(nil, iv, plain, aad)
	if subtle.ConstantTimeCompare(full[len(ct):len(ct)+tagLen], tag) != 1 {
		return nil, &cryptoError{"OperationError", "Decryption failed: the data or its authentication tag is not valid for this key, iv and additionalData."}
	}
	return plain, nil
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
