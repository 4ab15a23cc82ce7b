package webapi

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/dop251/goja"
)

// The DOMException names WebCrypto rejects with (W3C Web Cryptography API,
// "Exceptions"), and TypeError for WebIDL conversion failures.
const (
	errNotSupported  = "NotSupportedError"
	errSyntax        = "SyntaxError"
	errInvalidAccess = "InvalidAccessError"
	errData          = "DataError"
	errOperation     = "OperationError"
	errType          = "TypeError"
)

// cryptoError is a WebCrypto failure: a DOMException name (or TypeError)
// and a message.
type cryptoError struct{ name, msg string }

func (e *cryptoError) Error() string { return e.name + ": " + e.msg }

func cerr(name, format string, args ...any) *cryptoError {
	return &cryptoError{name, fmt.Sprintf(format, args...)}
}

// The recognized key usages, in the order the spec lists them; a key's
// usages are kept in this order, without duplicates.
var usageOrder = []string{"encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"}

// cryptoKey is the Go side of a CryptoKey: the key material never leaves
// Go. The JS CryptoKey holds it as an opaque handle.
type cryptoKey struct {
	kind        string // "secret", "public" or "private"
	alg         keyAlgorithm
	extractable bool
	usages      []string

	secret []byte // AES, HMAC, HKDF, PBKDF2
	pub    any    // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, *ecdh.PublicKey (X25519)
	priv   any    // *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ecdh.PrivateKey (X25519)
}

// keyAlgorithm is a key's [[algorithm]]: KeyAlgorithm and the dictionaries
// that extend it.
type keyAlgorithm struct {
	name           string
	hash           string // HMAC and RSA
	length         int    // bits: AES and HMAC
	namedCurve     string // ECDSA, ECDH
	modulusLength  int    // RSA
	publicExponent []byte // RSA
}

func (k *cryptoKey) hasUsage(u string) bool { return slices.Contains(k.usages, u) }

// algParams is a normalized algorithm: the name in its registered spelling
// and the members of its dictionary that the operation uses.
type algParams struct {
	name string

	hash              string // digest name of a hash member
	length            int    // AES length, HMAC length, AES-CTR counter length
	hasLength         bool
	namedCurve        string
	modulusLength     int
	publicExponent    []byte
	saltLength        int
	label             []byte
	iv                []byte // AES-CBC, AES-GCM
	counter           []byte // AES-CTR
	additionalData    []byte
	hasAdditionalData bool
	tagLength         int
	hasTagLength      bool
	salt, info        []byte
	iterations        int
	public            *cryptoKey // ECDH, X25519
}

// The operations algorithms register for ("get key length" is spelled
// "keyLength").
const (
	opEncrypt   = "encrypt"
	opDecrypt   = "decrypt"
	opSign      = "sign"
	opVerify    = "verify"
	opDigest    = "digest"
	opGenerate  = "generateKey"
	opDerive    = "deriveBits"
	opImport    = "importKey"
	opWrap      = "wrapKey"
	opUnwrap    = "unwrapKey"
	opKeyLength = "keyLength"
)

// registered lists, per operation, the algorithms that support it.
var registered = map[string][]string{
	opEncrypt:   {"RSA-OAEP", "AES-CTR", "AES-CBC", "AES-GCM"},
	opDecrypt:   {"RSA-OAEP", "AES-CTR", "AES-CBC", "AES-GCM"},
	opSign:      {"RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA", "Ed25519", "HMAC"},
	opVerify:    {"RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA", "Ed25519", "HMAC"},
	opDigest:    {"SHA-1", "SHA-256", "SHA-384", "SHA-512", "MD5"},
	opGenerate:  {"RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP", "ECDSA", "ECDH", "Ed25519", "X25519", "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW", "HMAC"},
	opDerive:    {"ECDH", "X25519", "HKDF", "PBKDF2"},
	opImport:    {"RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP", "ECDSA", "ECDH", "Ed25519", "X25519", "AES-CTR", "AES-CBC", "AES-GCM", "AES-KW", "HMAC", "HKDF", "PBKDF2"},
	opWrap:      {"AES-KW"},
	opUnwrap:    {"AES-KW"},
	opKeyLength: {"AES-CTR", "AES-CBC", "AES-GCM", "AES-KW", "HMAC", "HKDF", "PBKDF2"},
}

// subtleEnv is what the natives of crypto.subtle share in one runtime.
type subtleEnv struct {
	vm       *goja.Runtime
	natives  *goja.Object
	isView   goja.Callable // ArrayBuffer.isView, captured before user code runs
	handleOf goja.Callable // the prelude's __cairn.cryptoKeyHandle, found on first use
}

// bufferSource returns a copy of the bytes of an ArrayBuffer or view, or a
// TypeError.
func (e *subtleEnv) bufferSource(v goja.Value, what string) ([]byte, *cryptoError) {
	if v != nil {
		if ab, ok := v.Export().(goja.ArrayBuffer); ok {
			return slices.Clone(ab.Bytes()), nil
		}
		if obj, ok := v.(*goja.Object); ok {
			if r, err := e.isView(goja.Undefined(), obj); err == nil && r.ToBoolean() {
				return slices.Clone(ViewBytes(e.vm, obj)), nil
			}
		}
	}
	return nil, cerr(errType, "%s is not of type '(ArrayBuffer or ArrayBufferView)'.", what)
}

// member reads a dictionary member; absent means undefined.
func member(o *goja.Object, name string) (goja.Value, bool) {
	v := o.Get(name)
	if v == nil || goja.IsUndefined(v) {
		return nil, false
	}
	return v, true
}

// enforceRange converts v as a WebIDL integer type with [EnforceRange] and
// the maximum max.
func enforceRange(v goja.Value, what string, max float64) (int, *cryptoError) {
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, cerr(errType, "%s is not a finite number.", what)
	}
	f = math.Trunc(f)
	if f < 0 || f > max {
		return 0, cerr(errType, "%s is outside the range [0, %.0f].", what, max)
	}
	return int(f), nil
}

// normalize implements "normalize an algorithm" for op: alg is a string or
// an object with a name; the result has the registered name and the
// members of the operation's dictionary, converted.
func (e *subtleEnv) normalize(op string, alg goja.Value) (*algParams, *cryptoError) {
	var obj *goja.Object
	var name string
	switch {
	case alg == nil || goja.IsUndefined(alg) || goja.IsNull(alg):
		return nil, cerr(errType, "Algorithm must be a string or an object with a name.")
	case isString(alg):
		name = alg.String()
		obj = e.vm.NewObject()
	default:
		o, ok := alg.(*goja.Object)
		if !ok {
			return nil, cerr(errType, "Algorithm must be a string or an object with a name.")
		}
		obj = o
		n, ok := member(o, "name")
		if !ok {
			return nil, cerr(errType, "Algorithm: name is required.")
		}
		name = n.String()
	}
	var canonical string
	for _, r := range registered[op] {
		if strings.EqualFold(r, name) {
			canonical = r
			break
		}
	}
	if canonical == "" {
		return nil, cerr(errNotSupported, "Unrecognized or unimplemented algorithm %q for %s.", name, op)
	}
	p := &algParams{name: canonical}
	return p, e.readParams(op, obj, p)
}

func isString(v goja.Value) bool {
	_, ok := v.Export().(string)
	return ok && !isObject(v)
}

func isObject(v goja.Value) bool {
	_, ok := v.(*goja.Object)
	return ok
}

// readParams reads the members of the dictionary that op takes for p.name.
func (e *subtleEnv) readParams(op string, o *goja.Object, p *algParams) *cryptoError {
	required := func(name string) (goja.Value, *cryptoError) {
		v, ok := member(o, name)
		if !ok {
			return nil, cerr(errType, "%s: %s is required.", p.name, name)
		}
		return v, nil
	}
	buffer := func(name string) ([]byte, *cryptoError) {
		v, err := required(name)
		if err != nil {
			return nil, err
		}
		return e.bufferSource(v, p.name+" "+name)
	}
	hash := func() *cryptoError {
		v, err := required("hash")
		if err != nil {
			return err
		}
		h, herr := e.normalize(opDigest, v)
		if herr != nil {
			return herr
		}
		if h.name == "MD5" { // Workers digest MD5, but no algorithm takes it as its hash
			return cerr(errNotSupported, "%s does not support the hash MD5.", p.name)
		}
		p.hash = h.name
		return nil
	}
	optionalLength := func(max float64) *cryptoError {
		if v, ok := member(o, "length"); ok {
			n, err := enforceRange(v, p.name+" length", max)
			if err != nil {
				return err
			}
			p.length, p.hasLength = n, true
		}
		return nil
	}
	var err *cryptoError
	switch op + " " + p.name {
	case "encrypt RSA-OAEP", "decrypt RSA-OAEP":
		if v, ok := member(o, "label"); ok {
			p.label, err = e.bufferSource(v, "RSA-OAEP label")
		}
	case "encrypt AES-CTR", "decrypt AES-CTR":
		if p.counter, err = buffer("counter"); err != nil {
			return err
		}
		var v goja.Value
		if v, err = required("length"); err != nil {
			return err
		}
		p.length, err = enforceRange(v, "AES-CTR length", 255)
	case "encrypt AES-CBC", "decrypt AES-CBC":
		p.iv, err = buffer("iv")
	case "encrypt AES-GCM", "decrypt AES-GCM":
		if v, ok := member(o, "additionalData"); ok {
			if p.additionalData, err = e.bufferSource(v, "AES-GCM additionalData"); err != nil {
				return err
			}
			p.hasAdditionalData = true
		}
		if p.iv, err = buffer("iv"); err != nil {
			return err
		}
		if v, ok := member(o, "tagLength"); ok {
			p.tagLength, err = enforceRange(v, "AES-GCM tagLength", 255)
			p.hasTagLength = true
		}
	case "sign RSA-PSS", "verify RSA-PSS":
		var v goja.Value
		if v, err = required("saltLength"); err != nil {
			return err
		}
		p.saltLength, err = enforceRange(v, "RSA-PSS saltLength", math.MaxUint32)
	case "sign ECDSA", "verify ECDSA":
		err = hash()
	case "generateKey RSASSA-PKCS1-v1_5", "generateKey RSA-PSS", "generateKey RSA-OAEP":
		if err = hash(); err != nil {
			return err
		}
		var v goja.Value
		if v, err = required("modulusLength"); err != nil {
			return err
		}
		if p.modulusLength, err = enforceRange(v, "modulusLength", math.MaxUint32); err != nil {
			return err
		}
		if v, err = required("publicExponent"); err != nil {
			return err
		}
		if !isUint8Array(v) {
			return cerr(errType, "publicExponent must be a Uint8Array.")
		}
		p.publicExponent, err = e.bufferSource(v, "publicExponent")
	case "importKey RSASSA-PKCS1-v1_5", "importKey RSA-PSS", "importKey RSA-OAEP":
		err = hash()
	case "generateKey ECDSA", "generateKey ECDH", "importKey ECDSA", "importKey ECDH":
		var v goja.Value
		if v, err = required("namedCurve"); err != nil {
			return err
		}
		p.namedCurve = v.String()
	case "generateKey AES-CTR", "generateKey AES-CBC", "generateKey AES-GCM", "generateKey AES-KW",
		"keyLength AES-CTR", "keyLength AES-CBC", "keyLength AES-GCM", "keyLength AES-KW":
		var v goja.Value
		if v, err = required("length"); err != nil {
			return err
		}
		p.length, err = enforceRange(v, p.name+" length", 65535)
		p.hasLength = true
	case "generateKey HMAC", "importKey HMAC", "keyLength HMAC":
		if err = hash(); err != nil {
			return err
		}
		err = optionalLength(math.MaxUint32)
	case "deriveBits ECDH", "deriveBits X25519":
		var v goja.Value
		if v, err = required("public"); err != nil {
			return err
		}
		k := e.keyOf(v)
		if k == nil {
			return cerr(errType, "%s public must be a CryptoKey.", p.name)
		}
		p.public = k
	case "deriveBits HKDF":
		if err = hash(); err != nil {
			return err
		}
		if p.info, err = buffer("info"); err != nil {
			return err
		}
		p.salt, err = buffer("salt")
	case "deriveBits PBKDF2":
		if err = hash(); err != nil {
			return err
		}
		var v goja.Value
		if v, err = required("iterations"); err != nil {
			return err
		}
		if p.iterations, err = enforceRange(v, "PBKDF2 iterations", math.MaxUint32); err != nil {
			return err
		}
		p.salt, err = buffer("salt")
	}
	return err
}

// isUint8Array tells a Uint8Array (which exports as []byte) from other
// views.
func isUint8Array(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ExportType() == reflect.TypeFor[[]byte]() && o.ClassName() != "DataView"
}

// keyOf returns the Go key behind a CryptoKey (nil if v is none). The
// prelude defines __cairn.cryptoKeyHandle, which unwraps its private field.
func (e *subtleEnv) keyOf(v goja.Value) *cryptoKey {
	if v == nil {
		return nil
	}
	if k, ok := v.Export().(*cryptoKey); ok {
		return k
	}
	if e.handleOf == nil {
		fn, ok := goja.AssertFunction(e.natives.Get("cryptoKeyHandle"))
		if !ok {
			return nil
		}
		e.handleOf = fn
	}
	h, err := e.handleOf(goja.Undefined(), v)
	if err != nil {
		return nil
	}
	k, _ := h.Export().(*cryptoKey)
	return k
}

// usagesOf validates a list of usages (already strings) and returns them
// in canonical order without duplicates; allowed limits them (SyntaxError).
func usagesOf(usages []string, allowed ...string) ([]string, *cryptoError) {
	var out []string
	for _, u := range usageOrder {
		if !slices.Contains(usages, u) {
			continue
		}
		if !slices.Contains(allowed, u) {
			return nil, cerr(errSyntax, "Cannot create a key using the specified key usages: %q is not allowed.", u)
		}
		out = append(out, u)
	}
	for _, u := range usages {
		if !slices.Contains(usageOrder, u) {
			return nil, cerr(errType, "%q is not a valid key usage.", u)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// intersect returns the usages of want that are in allowed, in order.
func intersect(want []string, allowed ...string) []string {
	out := []string{}
	for _, u := range want {
		if slices.Contains(allowed, u) {
			out = append(out, u)
		}
	}
	return out
}

// checkKeyFor is the common check of an operation on key: the normalized
// algorithm must be the key's, and the key must allow usage.
func checkKeyFor(p *algParams, k *cryptoKey, usage string) *cryptoError {
	if k == nil {
		return cerr(errType, "Expected a CryptoKey.")
	}
	if p.name != k.alg.name {
		return cerr(errInvalidAccess, "The requested operation is not valid for the provided key: it is a %s key, not %s.", k.alg.name, p.name)
	}
	if !k.hasUsage(usage) {
		return cerr(errInvalidAccess, "The requested operation is not valid for the provided key: its usages do not include %q.", usage)
	}
	return nil
}

// jwk is a JSON Web Key's members as read from a JsonWebKey dictionary or
// from JSON (unwrapKey).
type jwk struct {
	str    map[string]string
	keyOps []string
	hasOps bool
	ext    *bool
}

// jwkStringMembers are the string members of JsonWebKey.
var jwkStringMembers = []string{"kty", "use", "alg", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "k"}

func (j *jwk) has(name string) bool   { _, ok := j.str[name]; return ok }
func (j *jwk) get(name string) string { return j.str[name] }

// bytes decodes a base64url member; a missing or malformed one is a
// DataError.
func (j *jwk) bytes(name string) ([]byte, *cryptoError) {
	s, ok := j.str[name]
	if !ok {
		return nil, cerr(errData, "The JWK member %q is missing.", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, cerr(errData, "The JWK member %q is not valid base64url.", name)
	}
	return b, nil
}

// jwkFromObject converts a JS JsonWebKey dictionary.
func jwkFromObject(vm *goja.Runtime, v goja.Value) (*jwk, *cryptoError) {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, cerr(errType, "JWK key data must be an object.")
	}
	j := &jwk{str: map[string]string{}}
	for _, name := range jwkStringMembers {
		if m, ok := member(o, name); ok {
			j.str[name] = m.String()
		}
	}
	if m, ok := member(o, "key_ops"); ok {
		var ops []string
		if err := vm.ExportTo(m, &ops); err != nil {
			return nil, cerr(errType, "JWK key_ops must be a sequence of strings.")
		}
		j.keyOps, j.hasOps = ops, true
	}
	if m, ok := member(o, "ext"); ok {
		b := m.ToBoolean()
		j.ext = &b
	}
	return j, nil
}

// jwkFromMap converts decoded JSON (unwrapKey with format "jwk").
func jwkFromMap(m map[string]any) (*jwk, *cryptoError) {
	j := &jwk{str: map[string]string{}}
	for _, name := range jwkStringMembers {
		if v, ok := m[name]; ok {
			s, ok := v.(string)
			if !ok {
				return nil, cerr(errData, "The JWK member %q is not a string.", name)
			}
			j.str[name] = s
		}
	}
	if v, ok := m["key_ops"]; ok {
		arr, ok := v.([]any)
		if !ok {
			return nil, cerr(errData, "The JWK member key_ops is not an array.")
		}
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, cerr(errData, "The JWK member key_ops has a value that is not a string.")
			}
			j.keyOps = append(j.keyOps, s)
		}
		j.hasOps = true
	}
	if v, ok := m["ext"]; ok {
		b, ok := v.(bool)
		if !ok {
			return nil, cerr(errData, "The JWK member ext is not a boolean.")
		}
		j.ext = &b
	}
	return j, nil
}

// check does the checks every JWK import shares: kty, use (when usages
// are given), key_ops and ext.
func (j *jwk) check(kty, use string, usages []string, extractable bool) *cryptoError {
	if j.get("kty") != kty {
		return cerr(errData, "The JWK member kty must be %q.", kty)
	}
	if j.has("use") && len(usages) > 0 && j.get("use") != use {
		return cerr(errData, "The JWK member use must be %q.", use)
	}
	if j.hasOps {
		seen := map[string]bool{}
		for _, op := range j.keyOps {
			if seen[op] {
				return cerr(errData, "The JWK member key_ops has the duplicate %q.", op)
			}
			seen[op] = true
		}
		for _, u := range usages {
			if !seen[u] {
				return cerr(errData, "The JWK member key_ops does not include the requested usage %q.", u)
			}
		}
	}
	if j.ext != nil && !*j.ext && extractable {
		return cerr(errData, "The JWK is not extractable (ext is false), but an extractable key was requested.")
	}
	return nil
}

// jwkOut builds an exported JWK: members in order, then key_ops and ext.
type jwkOut struct {
	names  []string
	values map[string]string
}

func (o *jwkOut) set(name, value string) {
	if o.values == nil {
		o.values = map[string]string{}
	}
	if _, ok := o.values[name]; !ok {
		o.names = append(o.names, name)
	}
	o.values[name] = value
}

func (o *jwkOut) setBytes(name string, b []byte) {
	o.set(name, base64.RawURLEncoding.EncodeToString(b))
}

// finish adds key_ops and ext from k.
func (o *jwkOut) toMap(k *cryptoKey) map[string]any {
	m := make(map[string]any, len(o.names)+2)
	for _, n := range o.names {
		m[n] = o.values[n]
	}
	m["key_ops"] = slices.Clone(k.usages)
	m["ext"] = k.extractable
	return m
}

func (o *jwkOut) toJS(vm *goja.Runtime, k *cryptoKey) goja.Value {
	obj := vm.NewObject()
	for _, n := range o.names {
		_ = obj.Set(n, o.values[n])
	}
	ops := make([]any, len(k.usages))
	for i, u := range k.usages {
		ops[i] = u
	}
	_ = obj.Set("key_ops", vm.NewArray(ops...))
	_ = obj.Set("ext", k.extractable)
	return obj
}

// constantTimeEqual compares two byte strings of possibly different
// lengths without leaking where they differ.
func constantTimeEqual(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
