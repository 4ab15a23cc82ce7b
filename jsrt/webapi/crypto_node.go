package webapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/crypto/scrypt"
)

// The natives behind node:crypto (jsrt/modules/crypto.js): hashes, HMACs,
// PBKDF2, scrypt, HKDF and the AES ciphers of createCipheriv; keys and
// signatures are in crypto_nodekeys.go. Failures throw Errors with Node's
// error codes.

// nodeError is a node:crypto failure: the Error's constructor ("Error",
// "TypeError" or "RangeError"), Node's code and the message.
type nodeError struct{ ctor, code, msg string }

func nerr(code, format string, args ...any) *nodeError {
	return &nodeError{"Error", code, fmt.Sprintf(format, args...)}
}

// nodeHashes maps the digest names node:crypto accepts (lower case, as
// OpenSSL spells them) to Go hashes.
var nodeHashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New, "sha512-224": sha512.New512_224, "sha512-256": sha512.New512_256,
	"sha3-224": func() hash.Hash { return sha3.New224() }, "sha3-256": func() hash.Hash { return sha3.New256() },
	"sha3-384": func() hash.Hash { return sha3.New384() }, "sha3-512": func() hash.Hash { return sha3.New512() },
}

// nodeHashName normalizes a digest name: "SHA256", "sha-256" and
// "RSA-SHA256" are all "sha256".
func nodeHashName(name string) string {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "rsa-")
	if rest, ok := strings.CutPrefix(n, "sha-"); ok {
		n = "sha" + rest
	}
	return n
}

func nodeHash(name string) (func() hash.Hash, *nodeError) {
	h, ok := nodeHashes[nodeHashName(name)]
	if !ok {
		return nil, nerr("ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: %s", name)
	}
	return h, nil
}

// nodeHashState is a running Hash or Hmac.
type nodeHashState struct {
	h    hash.Hash
	done bool
}

// nodeCipherState is a running Cipheriv or Decipheriv.
type nodeCipherState struct {
	mode    string // "cbc", "ctr", "gcm", "ecb"
	decrypt bool
	block   cipher.Block
	cbc     cipher.BlockMode
	stream  cipher.Stream
	pending []byte // cbc/ecb: input not yet processed
	padding bool

	gcm       cipher.AEAD
	iv        []byte
	aad       []byte
	text      []byte // gcm: the plaintext so far (to compute the tag at final)
	off       int    // gcm: bytes processed
	tag       []byte // decrypt: set by setAuthTag; encrypt: computed at final
	tagLen    int
	done      bool
	aadLocked bool
}

type nodeEnv struct {
	vm *goja.Runtime
	e  *subtleEnv
}

// installNodeCrypto defines the natives of node:crypto on natives.
func installNodeCrypto(e *subtleEnv) error {
	n := &nodeEnv{vm: e.vm, e: e}
	for name, fn := range map[string]func(goja.FunctionCall) (goja.Value, *nodeError){
		"nodeHashNew":          n.hashNew,
		"nodeHmacNew":          n.hmacNew,
		"nodeHashUpdate":       n.hashUpdate,
		"nodeHashDigest":       n.hashDigest,
		"nodeHashCopy":         n.hashCopy,
		"nodePbkdf2":           n.pbkdf2,
		"nodeScrypt":           n.scrypt,
		"nodeHkdf":             n.hkdf,
		"nodeCipherNew":        n.cipherNew,
		"nodeCipherUpdate":     n.cipherUpdate,
		"nodeCipherFinal":      n.cipherFinal,
		"nodeCipherSetAAD":     n.cipherSetAAD,
		"nodeCipherAuthTag":    n.cipherAuthTag,
		"nodeCipherSetAuthTag": n.cipherSetAuthTag,
		"nodeCipherAutoPad":    n.cipherAutoPad,
		"nodeKeyCreate":        n.keyCreate,
		"nodeKeyInfo":          n.keyInfo,
		"nodeKeyExport":        n.keyExport,
		"nodeKeyGenerate":      n.keyGenerate,
		"nodeKeyFromCryptoKey": n.keyFromCryptoKey,
		"nodeKeyToCryptoKey":   n.keyToCryptoKey,
		"nodeKeyEquals":        n.keyEquals,
		"nodeSign":             n.sign,
		"nodeVerify":           n.verify,
		"nodeRSACrypt":         n.rsaCrypt,
	} {
		if err := e.natives.Set(name, n.native(name, fn)); err != nil {
			return err
		}
	}
	return nil
}

// native throws a nodeError as an Error with a code; a Go panic becomes
// an Error too instead of crashing the runtime.
func (n *nodeEnv) native(name string, fn func(goja.FunctionCall) (goja.Value, *nodeError)) func(goja.FunctionCall) goja.Value {
	vm := n.vm
	return func(c goja.FunctionCall) goja.Value {
		var (
			v   goja.Value
			err *nodeError
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					if jsv, ok := r.(goja.Value); ok {
						panic(jsv)
					}
					slog.Error("webapi: node:crypto native panicked", "op", name, "panic", fmt.Sprint(r))
					err = nerr("ERR_CRYPTO_OPERATION_FAILED", "%s failed", name)
				}
			}()
			v, err = fn(c)
		}()
		if err != nil {
			ctor, _ := vm.Get(err.ctor).(*goja.Object)
			if ctor == nil {
				ctor, _ = vm.Get("Error").(*goja.Object)
			}
			obj, cerr := vm.New(ctor, vm.ToValue(err.msg))
			if cerr != nil {
				panic(vm.NewGoError(fmt.Errorf("%s", err.msg)))
			}
			_ = obj.Set("code", err.code)
			panic(obj)
		}
		return v
	}
}

// bytes returns a copy of a buffer argument; the module converts strings
// to Buffers before calling.
func (n *nodeEnv) bytes(v goja.Value, what string) ([]byte, *nodeError) {
	b, err := n.e.bufferSource(v, what)
	if err != nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", fmt.Sprintf("The %q argument must be of type string or an instance of Buffer, TypedArray, or DataView.", what)}
	}
	return b, nil
}

func (n *nodeEnv) buffer(b []byte) goja.Value { return n.e.buffer(b) }

func (n *nodeEnv) hashNew(c goja.FunctionCall) (goja.Value, *nodeError) {
	h, err := nodeHash(c.Argument(0).String())
	if err != nil {
		err.code, err.msg = "ERR_OSSL_EVP_UNSUPPORTED", "Digest method not supported"
		return nil, err
	}
	return n.vm.ToValue(&nodeHashState{h: h()}), nil
}

func (n *nodeEnv) hmacNew(c goja.FunctionCall) (goja.Value, *nodeError) {
	h, err := nodeHash(c.Argument(0).String())
	if err != nil {
		err.msg = "Invalid digest: " + c.Argument(0).String()
		return nil, err
	}
	key, err := n.bytes(c.Argument(1), "key")
	if err != nil {
		return nil, err
	}
	return n.vm.ToValue(&nodeHashState{h: hmac.New(h, key)}), nil
}

func (n *nodeEnv) hashState(v goja.Value) (*nodeHashState, *nodeError) {
	s, ok := v.Export().(*nodeHashState)
	if !ok || s == nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", "Expected a Hash."}
	}
	if s.done {
		return nil, nerr("ERR_CRYPTO_HASH_FINALIZED", "Digest already called")
	}
	return s, nil
}

func (n *nodeEnv) hashUpdate(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.hashState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	b, err := n.bytes(c.Argument(1), "data")
	if err != nil {
		return nil, err
	}
	s.h.Write(b)
	return goja.Undefined(), nil
}

func (n *nodeEnv) hashDigest(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.hashState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	s.done = true
	return n.buffer(s.h.Sum(nil)), nil
}

func (n *nodeEnv) hashCopy(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.hashState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if cl, ok := s.h.(hash.Cloner); ok {
		h, cerr := cl.Clone()
		if cerr == nil {
			return n.vm.ToValue(&nodeHashState{h: h}), nil
		}
	}
	m, ok := s.h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, nerr("ERR_CRYPTO_HASH_UPDATE_FAILED", "This hash cannot be copied")
	}
	state, merr := m.MarshalBinary()
	if merr != nil {
		return nil, nerr("ERR_CRYPTO_HASH_UPDATE_FAILED", "%v", merr)
	}
	h, _ := nodeHash(c.Argument(1).String())
	if h == nil {
		return nil, nerr("ERR_CRYPTO_HASH_UPDATE_FAILED", "This hash cannot be copied")
	}
	fresh := h()
	if u, ok := fresh.(encoding.BinaryUnmarshaler); !ok || u.UnmarshalBinary(state) != nil {
		return nil, nerr("ERR_CRYPTO_HASH_UPDATE_FAILED", "This hash cannot be copied")
	}
	return n.vm.ToValue(&nodeHashState{h: fresh}), nil
}

// intArg reads a non-negative integer argument no larger than max.
func intArg(v goja.Value, name string, max int64) (int, *nodeError) {
	f := v.ToFloat()
	if f != f || f < 0 || f > float64(max) || f != float64(int64(f)) {
		return 0, &nodeError{"RangeError", "ERR_OUT_OF_RANGE", fmt.Sprintf("The value of %q is out of range. It must be an integer >= 0 and <= %d. Received %s", name, max, v.String())}
	}
	return int(f), nil
}

func (n *nodeEnv) pbkdf2(c goja.FunctionCall) (goja.Value, *nodeError) {
	pw, err := n.bytes(c.Argument(0), "password")
	if err != nil {
		return nil, err
	}
	salt, err := n.bytes(c.Argument(1), "salt")
	if err != nil {
		return nil, err
	}
	iter, err := intArg(c.Argument(2), "iterations", 1<<31-1)
	if err != nil {
		return nil, err
	}
	if iter == 0 || iter > maxNodePBKDF2Iterations {
		return nil, &nodeError{"RangeError", "ERR_OUT_OF_RANGE", fmt.Sprintf(`The value of "iterations" is out of range. It must be >= 1 && <= %d (cairn's bound). Received %d`, maxNodePBKDF2Iterations, iter)}
	}
	keylen, err := intArg(c.Argument(3), "keylen", 1<<31-1)
	if err != nil {
		return nil, err
	}
	h, err := nodeHash(c.Argument(4).String())
	if err != nil {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: " + c.Argument(4).String()}
	}
	if keylen == 0 {
		return n.buffer(nil), nil
	}
	out, kerr := pbkdf2.Key(h, string(pw), salt, iter, keylen)
	if kerr != nil {
		return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%v", kerr)
	}
	return n.buffer(out), nil
}

func (n *nodeEnv) hkdf(c goja.FunctionCall) (goja.Value, *nodeError) {
	h, err := nodeHash(c.Argument(0).String())
	if err != nil {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: " + c.Argument(0).String()}
	}
	ikm, err := n.bytes(c.Argument(1), "ikm")
	if err != nil {
		return nil, err
	}
	salt, err := n.bytes(c.Argument(2), "salt")
	if err != nil {
		return nil, err
	}
	info, err := n.bytes(c.Argument(3), "info")
	if err != nil {
		return nil, err
	}
	keylen, err := intArg(c.Argument(4), "keylen", 255*int64(h().Size()))
	if err != nil {
		return nil, err
	}
	if keylen == 0 {
		return n.buffer(nil), nil
	}
	out, kerr := hkdf.Key(h, ikm, salt, string(info), keylen)
	if kerr != nil {
		return nil, nerr("ERR_CRYPTO_INVALID_KEYLEN", "%v", kerr)
	}
	return n.buffer(out), nil
}

func (n *nodeEnv) scrypt(c goja.FunctionCall) (goja.Value, *nodeError) {
	pw, err := n.bytes(c.Argument(0), "password")
	if err != nil {
		return nil, err
	}
	salt, err := n.bytes(c.Argument(1), "salt")
	if err != nil {
		return nil, err
	}
	keylen, err := intArg(c.Argument(2), "keylen", 1<<31-1)
	if err != nil {
		return nil, err
	}
	N, err := intArg(c.Argument(3), "N", 1<<40)
	if err != nil {
		return nil, err
	}
	r, err := intArg(c.Argument(4), "r", 1<<30)
	if err != nil {
		return nil, err
	}
	p, err := intArg(c.Argument(5), "p", 1<<30)
	if err != nil {
		return nil, err
	}
	maxmem, err := intArg(c.Argument(6), "maxmem", 1<<53)
	if err != nil {
		return nil, err
	}
	if N < 2 || N&(N-1) != 0 || r == 0 || p == 0 || uint64(r)*uint64(p) >= 1<<30 {
		return nil, &nodeError{"RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params: N must be a power of 2 greater than 1, r and p positive"}
	}
	if mem := 128 * uint64(N) * uint64(r); mem > uint64(maxmem) {
		return nil, &nodeError{"RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params: memory limit exceeded"}
	}
	if work := 128 * uint64(N) * uint64(r) * uint64(p); work > maxScryptWork {
		return nil, &nodeError{"RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params: 128·N·r·p is over cairn's bound of 4 GiB"}
	}
	key, kerr := scrypt.Key(pw, salt, N, r, p, keylen)
	if kerr != nil {
		return nil, &nodeError{"RangeError", "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", "Invalid scrypt params: " + kerr.Error()}
	}
	return n.buffer(key), nil
}

// Key derivation runs on the runtime's thread, where the CPU limit cannot
// interrupt it: these bound one call to seconds rather than minutes (Node
// has no such bounds; ordinary parameters are far below them).
const (
	maxNodePBKDF2Iterations = 10_000_000
	maxScryptWork           = 4 << 30 // 128·N·r·p bytes mixed
)

// aesKeySizes is the key length of each AES variant createCipheriv takes.
var aesKeySizes = map[string]int{"aes-128": 16, "aes-192": 24, "aes-256": 32}

func (n *nodeEnv) cipherNew(c goja.FunctionCall) (goja.Value, *nodeError) {
	name := strings.ToLower(c.Argument(0).String())
	i := strings.LastIndexByte(name, '-')
	size, ok := 0, i > 0
	if ok {
		size, ok = aesKeySizes[name[:i]]
	}
	mode := ""
	if ok {
		mode = name[i+1:]
	}
	if mode != "cbc" && mode != "ctr" && mode != "gcm" && mode != "ecb" {
		return nil, &nodeError{"Error", "ERR_CRYPTO_UNKNOWN_CIPHER", "Unknown cipher"}
	}
	key, err := n.bytes(c.Argument(1), "key")
	if err != nil {
		return nil, err
	}
	if len(key) != size {
		return nil, &nodeError{"RangeError", "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length"}
	}
	var iv []byte
	if v := c.Argument(2); !goja.IsNull(v) && !goja.IsUndefined(v) {
		if iv, err = n.bytes(v, "iv"); err != nil {
			return nil, err
		}
	}
	block, _ := aes.NewCipher(key)
	s := &nodeCipherState{mode: mode, decrypt: c.Argument(3).ToBoolean(), block: block, padding: true, iv: iv}
	switch mode {
	case "ecb":
		if len(iv) != 0 {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector"}
		}
	case "cbc", "ctr":
		if len(iv) != 16 {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector"}
		}
		switch {
		case mode == "ctr":
			s.stream = cipher.NewCTR(block, iv)
		case s.decrypt:
			s.cbc = cipher.NewCBCDecrypter(block, iv)
		default:
			s.cbc = cipher.NewCBCEncrypter(block, iv)
		}
	case "gcm":
		if len(iv) == 0 {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector"}
		}
		s.tagLen = 16
		if v := c.Argument(4); !goja.IsUndefined(v) && !goja.IsNull(v) {
			t, err := intArg(v, "authTagLength", 16)
			if err != nil || (t != 4 && t != 8 && (t < 12 || t > 16)) {
				return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_AUTH_TAG", fmt.Sprintf("Invalid authentication tag length: %s", v.String())}
			}
			s.tagLen = t
		}
		var gerr error
		if len(iv) == 12 {
			s.gcm, gerr = cipher.NewGCM(block)
			s.stream = cipher.NewCTR(block, append(slices.Clone(iv), 0, 0, 0, 2))
		} else {
			s.gcm, gerr = cipher.NewGCMWithNonceSize(block, len(iv))
		}
		if gerr != nil {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector"}
		}
	}
	return n.vm.ToValue(s), nil
}

func (n *nodeEnv) cipherState(v goja.Value) (*nodeCipherState, *nodeError) {
	s, ok := v.Export().(*nodeCipherState)
	if !ok || s == nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", "Expected a Cipher."}
	}
	return s, nil
}

// gcmKeystream XORs data with the GCM keystream at the state's offset:
// the (CTR) encryption of the data is its GCM ciphertext without the tag.
// With a 96-bit iv the keystream is CTR from the counter block iv ‖ 2;
// other ivs derive the counter with GHASH, so Seal computes it.
func (s *nodeCipherState) gcmKeystream(data []byte) []byte {
	if s.stream != nil {
		out := make([]byte, len(data))
		s.stream.XORKeyStream(out, data)
		return out
	}
	zeros := make([]byte, s.off+len(data))
	ks := s.gcm.Seal(nil, s.iv, zeros, nil)[s.off : s.off+len(data)]
	out := make([]byte, len(data))
	subtle.XORBytes(out, data, ks)
	s.off += len(data)
	return out
}

func (n *nodeEnv) cipherUpdate(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation update")
	}
	data, err := n.bytes(c.Argument(1), "data")
	if err != nil {
		return nil, err
	}
	s.aadLocked = true
	switch s.mode {
	case "ctr":
		out := make([]byte, len(data))
		s.stream.XORKeyStream(out, data)
		return n.buffer(out), nil
	case "gcm":
		out := s.gcmKeystream(data)
		if s.decrypt {
			s.text = append(s.text, out...)
		} else {
			s.text = append(s.text, data...)
		}
		return n.buffer(out), nil
	}
	// cbc, ecb: whole blocks; a decrypter with padding keeps the last
	// block back for final.
	s.pending = append(s.pending, data...)
	full := len(s.pending) / 16 * 16
	if s.decrypt && s.padding && full == len(s.pending) && full > 0 {
		full -= 16
	}
	out := make([]byte, full)
	s.crypt(out, s.pending[:full])
	s.pending = slices.Clone(s.pending[full:])
	return n.buffer(out), nil
}

// crypt runs the block mode over whole blocks.
func (s *nodeCipherState) crypt(dst, src []byte) {
	if s.mode == "cbc" {
		s.cbc.CryptBlocks(dst, src)
		return
	}
	for i := 0; i < len(src); i += 16 {
		if s.decrypt {
			s.block.Decrypt(dst[i:i+16], src[i:i+16])
		} else {
			s.block.Encrypt(dst[i:i+16], src[i:i+16])
		}
	}
}

func (n *nodeEnv) cipherFinal(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation final")
	}
	s.done = true
	switch s.mode {
	case "ctr":
		return n.buffer(nil), nil
	case "gcm":
		full := s.gcm.Seal(nil, s.iv, s.text, s.aad)
		tag := full[len(s.text) : len(s.text)+s.tagLen]
		if !s.decrypt {
			s.tag = tag
			return n.buffer(nil), nil
		}
		if s.tag == nil || subtle.ConstantTimeCompare(tag[:len(s.tag)], s.tag) != 1 {
			return nil, nerr("ERR_CRYPTO_INVALID_AUTH_TAG", "Unsupported state or unable to authenticate data")
		}
		return n.buffer(nil), nil
	}
	if !s.decrypt {
		if s.padding {
			pad := 16 - len(s.pending)%16
			for range pad {
				s.pending = append(s.pending, byte(pad))
			}
		} else if len(s.pending)%16 != 0 {
			return nil, nerr("ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH", "wrong final block length")
		}
		out := make([]byte, len(s.pending))
		s.crypt(out, s.pending)
		return n.buffer(out), nil
	}
	if len(s.pending)%16 != 0 || (s.padding && len(s.pending) == 0) {
		return nil, nerr("ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH", "wrong final block length")
	}
	out := make([]byte, len(s.pending))
	s.crypt(out, s.pending)
	if !s.padding {
		return n.buffer(out), nil
	}
	pad := int(out[len(out)-1])
	bad := pad == 0 || pad > 16
	if !bad {
		for _, b := range out[len(out)-pad:] {
			bad = bad || int(b) != pad
		}
	}
	if bad {
		return nil, nerr("ERR_OSSL_BAD_DECRYPT", "bad decrypt")
	}
	return n.buffer(out[:len(out)-pad]), nil
}

func (n *nodeEnv) cipherSetAAD(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.mode != "gcm" || s.aadLocked || s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation setAAD")
	}
	b, err := n.bytes(c.Argument(1), "buffer")
	if err != nil {
		return nil, err
	}
	s.aad = append(s.aad, b...)
	return goja.Undefined(), nil
}

func (n *nodeEnv) cipherAuthTag(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.mode != "gcm" || s.decrypt || !s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation getAuthTag")
	}
	return n.buffer(slices.Clone(s.tag)), nil
}

func (n *nodeEnv) cipherSetAuthTag(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.mode != "gcm" || !s.decrypt || s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation setAuthTag")
	}
	b, err := n.bytes(c.Argument(1), "buffer")
	if err != nil {
		return nil, err
	}
	if len(b) != 4 && len(b) != 8 && (len(b) < 12 || len(b) > 16) || len(b) > s.tagLen {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_AUTH_TAG", fmt.Sprintf("Invalid authentication tag length: %d", len(b))}
	}
	s.tag = b
	return goja.Undefined(), nil
}

func (n *nodeEnv) cipherAutoPad(c goja.FunctionCall) (goja.Value, *nodeError) {
	s, err := n.cipherState(c.Argument(0))
	if err != nil {
		return nil, err
	}
	if s.done {
		return nil, nerr("ERR_CRYPTO_INVALID_STATE", "Invalid state for operation setAutoPadding")
	}
	s.padding = c.Argument(1).ToBoolean()
	return goja.Undefined(), nil
}
