package webapi

import (
	"encoding/json"
	"fmt"
	"hash"
	"log/slog"
	"slices"

	"github.com/dop251/goja"
)

// installSubtle defines the natives behind crypto.subtle (see
// InstallCrypto). Each takes the SubtleCrypto method's arguments after
// the prelude checked their count and WebIDL types (keys as handles, key
// usages as strings, formats as KeyFormat values) and returns its result
// or throws its exception.
func installSubtle(vm *goja.Runtime, natives *goja.Object) error {
	isView, ok := goja.AssertFunction(vm.Get("ArrayBuffer").ToObject(vm).Get("isView"))
	if !ok {
		return fmt.Errorf("webapi: ArrayBuffer.isView is not a function")
	}
	e := &subtleEnv{vm: vm, natives: natives, isView: isView}
	for name, fn := range map[string]func(goja.FunctionCall) (goja.Value, *cryptoError){
		"subtleEncrypt":     func(c goja.FunctionCall) (goja.Value, *cryptoError) { return e.encrypt(c, true) },
		"subtleDecrypt":     func(c goja.FunctionCall) (goja.Value, *cryptoError) { return e.encrypt(c, false) },
		"subtleSign":        e.sign,
		"subtleVerify":      e.verify,
		"subtleDigest":      e.digest,
		"subtleGenerateKey": e.generateKey,
		"subtleDeriveBits":  e.deriveBits,
		"subtleDeriveKey":   e.deriveKey,
		"subtleImportKey":   e.importKey,
		"subtleExportKey":   e.exportKey,
		"subtleWrapKey":     e.wrapKey,
		"subtleUnwrapKey":   e.unwrapKey,
	} {
		if err := natives.Set(name, e.native(name, fn)); err != nil {
			return err
		}
	}
	if err := e.installDigestStream(); err != nil {
		return err
	}
	return installNodeCrypto(e)
}

// digestState is a running hash of a DigestStream.
type digestState struct{ h hash.Hash }

// installDigestStream defines the natives of crypto.DigestStream:
// digestStreamNew(algorithm) handle, digestStreamUpdate(handle, bytes) and
// digestStreamFinish(handle) ArrayBuffer.
func (e *subtleEnv) installDigestStream() error {
	state := func(v goja.Value) (*digestState, *cryptoError) {
		d, ok := v.Export().(*digestState)
		if !ok || d == nil {
			return nil, cerr(errType, "Expected a DigestStream handle.")
		}
		return d, nil
	}
	for name, fn := range map[string]func(goja.FunctionCall) (goja.Value, *cryptoError){
		"digestStreamNew": func(c goja.FunctionCall) (goja.Value, *cryptoError) {
			p, err := e.normalize(opDigest, c.Argument(0))
			if err != nil {
				return nil, err
			}
			return e.vm.ToValue(&digestState{h: hashes[p.name]()}), nil
		},
		"digestStreamUpdate": func(c goja.FunctionCall) (goja.Value, *cryptoError) {
			d, err := state(c.Argument(0))
			if err != nil {
				return nil, err
			}
			b, err := e.bufferSource(c.Argument(1), "chunk")
			if err != nil {
				return nil, err
			}
			d.h.Write(b)
			return goja.Undefined(), nil
		},
		"digestStreamFinish": func(c goja.FunctionCall) (goja.Value, *cryptoError) {
			d, err := state(c.Argument(0))
			if err != nil {
				return nil, err
			}
			return e.buffer(d.h.Sum(nil)), nil
		},
	} {
		if err := e.natives.Set(name, e.native(name, fn)); err != nil {
			return err
		}
	}
	return nil
}

// native turns an operation into a JS function that throws its error as
// a DOMException (or TypeError). A Go panic inside an operation (a bug, or
// a library's) becomes an OperationError rather than taking the runtime
// down.
func (e *subtleEnv) native(name string, fn func(goja.FunctionCall) (goja.Value, *cryptoError)) func(goja.FunctionCall) goja.Value {
	vm := e.vm
	return func(c goja.FunctionCall) goja.Value {
		var (
			v   goja.Value
			err *cryptoError
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					if jsv, ok := r.(goja.Value); ok { // a JS exception thrown on purpose
						panic(jsv)
					}
					slog.Error("webapi: crypto operation panicked", "op", name, "panic", fmt.Sprint(r))
					err = cerr(errOperation, "The operation failed for an operation-specific reason.")
				}
			}()
			v, err = fn(c)
		}()
		if err != nil {
			if err.name == errType {
				panic(vm.NewTypeError(err.msg))
			}
			panic(domException(vm, err.msg, err.name))
		}
		return v
	}
}

// key returns the Go key of a handle argument.
func (e *subtleEnv) key(v goja.Value) (*cryptoKey, *cryptoError) {
	if k, ok := v.Export().(*cryptoKey); ok && k != nil {
		return k, nil
	}
	return nil, cerr(errType, "Expected a CryptoKey.")
}

// strings converts an array of strings (the prelude checked it).
func (e *subtleEnv) strings(v goja.Value) []string {
	var out []string
	_ = e.vm.ExportTo(v, &out)
	return out
}

func (e *subtleEnv) buffer(b []byte) goja.Value {
	if b == nil {
		b = []byte{}
	}
	return e.vm.ToValue(e.vm.NewArrayBuffer(b))
}

// keyInfo is what the prelude wraps in a CryptoKey: the handle and the
// key's attributes.
func (e *subtleEnv) keyInfo(k *cryptoKey) goja.Value {
	vm := e.vm
	o := vm.NewObject()
	_ = o.Set("handle", k)
	_ = o.Set("type", k.kind)
	_ = o.Set("extractable", k.extractable)
	_ = o.Set("algorithm", e.algorithmObject(k.alg))
	usages := make([]any, len(k.usages))
	for i, u := range k.usages {
		usages[i] = u
	}
	_ = o.Set("usages", vm.NewArray(usages...))
	return o
}

func (e *subtleEnv) algorithmObject(a keyAlgorithm) *goja.Object {
	vm := e.vm
	o := vm.NewObject()
	_ = o.Set("name", a.name)
	if a.modulusLength != 0 {
		_ = o.Set("modulusLength", a.modulusLength)
		u8, _ := vm.New(vm.Get("Uint8Array"), vm.ToValue(vm.NewArrayBuffer(slices.Clone(a.publicExponent))))
		_ = o.Set("publicExponent", u8)
	}
	if a.hash != "" {
		h := vm.NewObject()
		_ = h.Set("name", a.hash)
		_ = o.Set("hash", h)
	}
	if a.length != 0 {
		_ = o.Set("length", a.length)
	}
	if a.namedCurve != "" {
		_ = o.Set("namedCurve", a.namedCurve)
	}
	return o
}

func (e *subtleEnv) encrypt(c goja.FunctionCall, enc bool) (goja.Value, *cryptoError) {
	op := opEncrypt
	if !enc {
		op = opDecrypt
	}
	p, err := e.normalize(op, c.Argument(0))
	if err != nil {
		return nil, err
	}
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	data, err := e.bufferSource(c.Argument(2), "data")
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, k, op); err != nil {
		return nil, err
	}
	out, err := cipherOp(p, k, data, enc)
	if err != nil {
		return nil, err
	}
	return e.buffer(out), nil
}

// cipherOp encrypts or decrypts with an encrypt/decrypt algorithm.
func cipherOp(p *algParams, k *cryptoKey, data []byte, enc bool) ([]byte, *cryptoError) {
	switch p.name {
	case "RSA-OAEP":
		return rsaOAEP(p, k, data, enc)
	case "AES-CBC":
		return aesCBC(p, k.secret, data, enc)
	case "AES-CTR":
		return aesCTR(p, k.secret, data)
	case "AES-GCM":
		return aesGCMOp(p, k.secret, data, enc)
	}
	return nil, cerr(errNotSupported, "%s cannot encrypt.", p.name)
}

func (e *subtleEnv) sign(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opSign, c.Argument(0))
	if err != nil {
		return nil, err
	}
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	data, err := e.bufferSource(c.Argument(2), "data")
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, k, opSign); err != nil {
		return nil, err
	}
	var sig []byte
	switch p.name {
	case "HMAC":
		sig, err = hmacSign(k, data)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS":
		sig, err = rsaSign(p, k, data)
	case "ECDSA":
		sig, err = ecdsaSign(p, k, data)
	case "Ed25519":
		sig, err = ed25519Sign(p, k, data)
	}
	if err != nil {
		return nil, err
	}
	return e.buffer(sig), nil
}

func (e *subtleEnv) verify(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opVerify, c.Argument(0))
	if err != nil {
		return nil, err
	}
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	sig, err := e.bufferSource(c.Argument(2), "signature")
	if err != nil {
		return nil, err
	}
	data, err := e.bufferSource(c.Argument(3), "data")
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, k, opVerify); err != nil {
		return nil, err
	}
	var ok bool
	switch p.name {
	case "HMAC":
		ok, err = hmacVerify(k, sig, data)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS":
		ok, err = rsaVerify(p, k, sig, data)
	case "ECDSA":
		ok, err = ecdsaVerify(p, k, sig, data)
	case "Ed25519":
		ok, err = ed25519Verify(p, k, sig, data)
	}
	if err != nil {
		return nil, err
	}
	return e.vm.ToValue(ok), nil
}

func (e *subtleEnv) digest(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opDigest, c.Argument(0))
	if err != nil {
		return nil, err
	}
	data, err := e.bufferSource(c.Argument(1), "data")
	if err != nil {
		return nil, err
	}
	h := hashes[p.name]()
	h.Write(data)
	return e.buffer(h.Sum(nil)), nil
}

func (e *subtleEnv) generateKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opGenerate, c.Argument(0))
	if err != nil {
		return nil, err
	}
	extractable := c.Argument(1).ToBoolean()
	usages := e.strings(c.Argument(2))
	var pub, priv *cryptoKey
	switch p.name {
	case "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW":
		priv, err = aesGenerate(p, extractable, usages)
	case "HMAC":
		priv, err = hmacGenerate(p, extractable, usages)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP":
		pub, priv, err = rsaGenerate(p, extractable, usages)
	case "ECDSA", "ECDH":
		pub, priv, err = ecGenerate(p, extractable, usages)
	case "Ed25519", "X25519":
		pub, priv, err = okpGenerate(p, extractable, usages)
	}
	if err != nil {
		return nil, err
	}
	if len(priv.usages) == 0 {
		return nil, cerr(errSyntax, "Usages cannot be empty when creating a key.")
	}
	if pub == nil {
		return e.keyInfo(priv), nil
	}
	o := e.vm.NewObject()
	_ = o.Set("publicKey", e.keyInfo(pub))
	_ = o.Set("privateKey", e.keyInfo(priv))
	return o, nil
}

// bitsLength reads deriveBits's length argument: nil for null or
// undefined.
func bitsLength(v goja.Value) (*int, *cryptoError) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	n, err := enforceRange(v, "length", 1<<32-1)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (e *subtleEnv) deriveBits(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opDerive, c.Argument(0))
	if err != nil {
		return nil, err
	}
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	length, err := bitsLength(c.Argument(2))
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, k, "deriveBits"); err != nil {
		return nil, err
	}
	out, err := deriveBitsOp(p, k, length)
	if err != nil {
		return nil, err
	}
	return e.buffer(out), nil
}

func deriveBitsOp(p *algParams, k *cryptoKey, length *int) ([]byte, *cryptoError) {
	switch p.name {
	case "HKDF":
		return hkdfDerive(p, k, length)
	case "PBKDF2":
		return pbkdf2Derive(p, k, length)
	case "ECDH":
		return ecdhDerive(p, k, length)
	case "X25519":
		return x25519Derive(p, k, length)
	}
	return nil, cerr(errNotSupported, "%s cannot derive bits.", p.name)
}

// truncateBits keeps the first n bits of secret (nil: all of it); asking
// for more than there are is an OperationError.
func truncateBits(secret []byte, n *int) ([]byte, *cryptoError) {
	if n == nil {
		return secret, nil
	}
	if *n > len(secret)*8 {
		return nil, cerr(errOperation, "The length %d is more than the %d bits the key agreement gives.", *n, len(secret)*8)
	}
	out := slices.Clone(secret[:(*n+7)/8])
	if r := *n % 8; r != 0 {
		out[len(out)-1] &= byte(0xff << (8 - r))
	}
	return out, nil
}

func (e *subtleEnv) deriveKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	p, err := e.normalize(opDerive, c.Argument(0))
	if err != nil {
		return nil, err
	}
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	imp, err := e.normalize(opImport, c.Argument(2))
	if err != nil {
		return nil, err
	}
	kl, err := e.normalize(opKeyLength, c.Argument(2))
	if err != nil {
		return nil, err
	}
	extractable := c.Argument(3).ToBoolean()
	usages := e.strings(c.Argument(4))
	if err := checkKeyFor(p, k, "deriveKey"); err != nil {
		return nil, err
	}
	length, err := keyLength(kl)
	if err != nil {
		return nil, err
	}
	secret, err := deriveBitsOp(p, k, length)
	if err != nil {
		return nil, err
	}
	key, err := importKeyOp("raw", secret, nil, imp, extractable, usages)
	if err != nil {
		return nil, err
	}
	return e.keyInfo(key), nil
}

// keyLength is the spec's "get key length" of a derived key's algorithm;
// nil means null (the derivation decides).
func keyLength(p *algParams) (*int, *cryptoError) {
	var n int
	switch p.name {
	case "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW":
		if p.length != 128 && p.length != 192 && p.length != 256 {
			return nil, cerr(errOperation, "AES key length must be 128, 192 or 256 bits.")
		}
		n = p.length
	case "HMAC":
		switch {
		case !p.hasLength:
			n = hashBlockBits(p.hash)
		case p.length != 0:
			n = p.length
		default:
			return nil, cerr(errType, "HMAC length must not be zero.")
		}
	default:
		return nil, nil
	}
	return &n, nil
}

func (e *subtleEnv) importKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	format := c.Argument(0).String()
	var (
		raw []byte
		j   *jwk
		err *cryptoError
	)
	if format == "jwk" {
		if j, err = jwkFromObject(e.vm, c.Argument(1)); err != nil {
			return nil, err
		}
	} else if raw, err = e.bufferSource(c.Argument(1), "keyData"); err != nil {
		return nil, err
	}
	p, err := e.normalize(opImport, c.Argument(2))
	if err != nil {
		return nil, err
	}
	k, err := importKeyOp(format, raw, j, p, c.Argument(3).ToBoolean(), e.strings(c.Argument(4)))
	if err != nil {
		return nil, err
	}
	return e.keyInfo(k), nil
}

// importKeyOp imports key data (raw for the binary formats, j for "jwk")
// as a key of algorithm p.
func importKeyOp(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	var (
		k   *cryptoKey
		err *cryptoError
	)
	switch p.name {
	case "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW":
		k, err = aesImport(format, raw, j, p, extractable, usages)
	case "HMAC":
		k, err = hmacImport(format, raw, j, p, extractable, usages)
	case "HKDF", "PBKDF2":
		k, err = kdfImport(format, raw, p, extractable, usages)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP":
		k, err = rsaImport(format, raw, j, p, extractable, usages)
	case "ECDSA", "ECDH":
		k, err = ecImport(format, raw, j, p, extractable, usages)
	case "Ed25519", "X25519":
		k, err = okpImport(format, raw, j, p, extractable, usages)
	default:
		err = cerr(errNotSupported, "%s keys cannot be imported.", p.name)
	}
	if err != nil {
		return nil, err
	}
	if (k.kind == "secret" || k.kind == "private") && len(k.usages) == 0 {
		return nil, cerr(errSyntax, "Usages cannot be empty when creating a key.")
	}
	return k, nil
}

// unsupportedFormat is the NotSupportedError of a format an algorithm
// does not import or export.
func unsupportedFormat(format, alg string) *cryptoError {
	return cerr(errNotSupported, "The %q format is not supported for %s keys.", format, alg)
}

func (e *subtleEnv) exportKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	format := c.Argument(0).String()
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	raw, j, err := exportKeyOp(format, k)
	if err != nil {
		return nil, err
	}
	if j != nil {
		return j.toJS(e.vm, k), nil
	}
	return e.buffer(raw), nil
}

// exportKeyOp exports k in format: bytes, or a JWK for "jwk".
func exportKeyOp(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	if !k.extractable {
		return nil, nil, cerr(errInvalidAccess, "The key is not extractable.")
	}
	switch k.alg.name {
	case "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW":
		return aesExport(format, k)
	case "HMAC":
		return hmacExport(format, k)
	case "RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP":
		return rsaExport(format, k)
	case "ECDSA", "ECDH":
		return ecExport(format, k)
	case "Ed25519", "X25519":
		return okpExport(format, k)
	}
	return nil, nil, cerr(errNotSupported, "%s keys cannot be exported.", k.alg.name)
}

// normalizeWrap normalizes a wrapping algorithm: for op (wrapKey or
// unwrapKey), or else as a cipher (encrypt or decrypt).
func (e *subtleEnv) normalizeWrap(op, cipherOp string, alg goja.Value) (*algParams, *cryptoError) {
	p, err := e.normalize(op, alg)
	if err != nil && err.name == errNotSupported {
		return e.normalize(cipherOp, alg)
	}
	return p, err
}

func (e *subtleEnv) wrapKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	format := c.Argument(0).String()
	k, err := e.key(c.Argument(1))
	if err != nil {
		return nil, err
	}
	wk, err := e.key(c.Argument(2))
	if err != nil {
		return nil, err
	}
	p, err := e.normalizeWrap(opWrap, opEncrypt, c.Argument(3))
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, wk, "wrapKey"); err != nil {
		return nil, err
	}
	raw, j, err := exportKeyOp(format, k)
	if err != nil {
		return nil, err
	}
	if j != nil {
		b, jerr := json.Marshal(j.toMap(k))
		if jerr != nil {
			return nil, cerr(errOperation, "Cannot serialize the JWK: %v", jerr)
		}
		raw = b
	}
	var out []byte
	if p.name == "AES-KW" {
		out, err = aesKWWrap(wk.secret, raw)
	} else {
		out, err = cipherOp(p, wk, raw, true)
	}
	if err != nil {
		return nil, err
	}
	return e.buffer(out), nil
}

func (e *subtleEnv) unwrapKey(c goja.FunctionCall) (goja.Value, *cryptoError) {
	format := c.Argument(0).String()
	wrapped, err := e.bufferSource(c.Argument(1), "wrappedKey")
	if err != nil {
		return nil, err
	}
	uk, err := e.key(c.Argument(2))
	if err != nil {
		return nil, err
	}
	p, err := e.normalizeWrap(opUnwrap, opDecrypt, c.Argument(3))
	if err != nil {
		return nil, err
	}
	imp, err := e.normalize(opImport, c.Argument(4))
	if err != nil {
		return nil, err
	}
	if err := checkKeyFor(p, uk, "unwrapKey"); err != nil {
		return nil, err
	}
	var raw []byte
	if p.name == "AES-KW" {
		raw, err = aesKWUnwrap(uk.secret, wrapped)
	} else {
		raw, err = cipherOp(p, uk, wrapped, false)
	}
	if err != nil {
		return nil, err
	}
	var j *jwk
	if format == "jwk" {
		var m map[string]any
		if jerr := json.Unmarshal(raw, &m); jerr != nil || m == nil {
			return nil, cerr(errData, "The unwrapped key is not a JSON Web Key.")
		}
		if j, err = jwkFromMap(m); err != nil {
			return nil, err
		}
		raw = nil
	}
	k, err := importKeyOp(format, raw, j, imp, c.Argument(5).ToBoolean(), e.strings(c.Argument(6)))
	if err != nil {
		return nil, err
	}
	return e.keyInfo(k), nil
}
