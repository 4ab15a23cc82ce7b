package webapi

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/dop251/goja"
)

// node:crypto keys (KeyObject) and signatures. A KeyObject holds a handle
// to a *cryptoKey whose algorithm is unset: Node keys are not bound to an
// algorithm or usages.

// nodeCryptoHash maps Node digest names to the crypto.Hash of RSA and
// ECDSA signatures.
var nodeCryptoHash = map[string]crypto.Hash{
	"md5": crypto.MD5, "sha1": crypto.SHA1, "sha224": crypto.SHA224, "sha256": crypto.SHA256,
	"sha384": crypto.SHA384, "sha512": crypto.SHA512, "sha512-224": crypto.SHA512_224, "sha512-256": crypto.SHA512_256,
	"sha3-256": crypto.SHA3_256, "sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}

// nodeCurveNames maps the curve names Node accepts to WebCrypto's.
var nodeCurveNames = map[string]string{
	"p-256": "P-256", "prime256v1": "P-256", "secp256r1": "P-256",
	"p-384": "P-384", "secp384r1": "P-384",
	"p-521": "P-521", "secp521r1": "P-521",
}

// opensslCurve is the curve name KeyObject.asymmetricKeyDetails reports.
var opensslCurve = map[string]string{"P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1"}

func invalidKey(format string, args ...any) *nodeError {
	return &nodeError{"Error", "ERR_OSSL_UNSUPPORTED", "error:1E08010C:DECODER routines::unsupported: " + fmt.Sprintf(format, args...)}
}

func (n *nodeEnv) nodeKey(v goja.Value) (*cryptoKey, *nodeError) {
	k, ok := v.Export().(*cryptoKey)
	if !ok || k == nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", "Expected a KeyObject."}
	}
	return k, nil
}

// publicOf returns the public key of a private key.
func publicOf(priv any) any {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	case *ecdh.PrivateKey:
		return k.PublicKey()
	}
	return nil
}

// asymmetricKey makes a node KeyObject key of kind from a Go key.
func asymmetricKey(kind string, key any) (*cryptoKey, *nodeError) {
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	case *ecdh.PublicKey:
		if key.(*ecdh.PublicKey).Curve() != ecdh.X25519() {
			return nil, invalidKey("unsupported key type")
		}
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *ecdh.PrivateKey:
		if kind == "public" {
			return &cryptoKey{kind: "public", pub: publicOf(key), extractable: true}, nil
		}
		return &cryptoKey{kind: "private", priv: key, pub: publicOf(key), extractable: true}, nil
	default:
		return nil, invalidKey("unsupported key type %T", key)
	}
	if kind == "private" {
		return nil, invalidKey("a public key cannot be used as a private key")
	}
	return &cryptoKey{kind: "public", pub: key, extractable: true}, nil
}

// parseDER parses DER key data of type (spki, pkcs1, pkcs8, sec1).
func parseDER(kind, typ string, der []byte) (any, *nodeError) {
	var key any
	var err error
	switch typ {
	case "spki":
		key, err = x509.ParsePKIXPublicKey(der)
	case "pkcs1":
		if kind == "public" {
			if key, err = x509.ParsePKCS1PublicKey(der); err != nil {
				key, err = x509.ParsePKCS1PrivateKey(der)
			}
		} else {
			key, err = x509.ParsePKCS1PrivateKey(der)
		}
	case "pkcs8":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "sec1":
		key, err = x509.ParseECPrivateKey(der)
	default:
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The property 'options.type' is invalid. Received %q", typ)}
	}
	if err != nil {
		return nil, invalidKey("%v", err)
	}
	return key, nil
}

// parsePEM parses the first PEM block of a key.
func parsePEM(kind, text string) (any, *nodeError) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, invalidKey("no PEM data found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return parseDER(kind, "spki", block.Bytes)
	case "RSA PUBLIC KEY":
		return parseDER(kind, "pkcs1", block.Bytes)
	case "PRIVATE KEY":
		return parseDER(kind, "pkcs8", block.Bytes)
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["DEK-Info"]; encrypted {
			return nil, &nodeError{"TypeError", "ERR_MISSING_PASSPHRASE", "Encrypted private keys are not supported"}
		}
		return parseDER("private", "pkcs1", block.Bytes)
	case "EC PRIVATE KEY":
		return parseDER(kind, "sec1", block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalidKey("%v", err)
		}
		return cert.PublicKey, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, &nodeError{"TypeError", "ERR_MISSING_PASSPHRASE", "Encrypted private keys are not supported"}
	}
	return nil, invalidKey("unsupported PEM type %q", block.Type)
}

// keyFromJWK makes a key from a JWK (JSON text).
func keyFromJWK(kind, text string) (*cryptoKey, *nodeError) {
	var m map[string]any
	if json.Unmarshal([]byte(text), &m) != nil || m == nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", "The \"key.key\" property must be of type object."}
	}
	j, jerr := jwkFromMap(m)
	if jerr != nil {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Invalid JWK data: " + jerr.msg}
	}
	bad := func(e *cryptoError) *nodeError {
		return &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Invalid JWK " + j.get("kty") + " key: " + e.msg}
	}
	var key any
	switch j.get("kty") {
	case "oct":
		k, err := j.bytes("k")
		if err != nil {
			return nil, bad(err)
		}
		return &cryptoKey{kind: "secret", secret: k, extractable: true}, nil
	case "RSA":
		pub, priv, err := rsaFromJWK(j, &algParams{name: "RSASSA-PKCS1-v1_5"}, nil, false)
		if err != nil {
			return nil, bad(err)
		}
		key = pub
		if priv != nil {
			key = priv
		}
	case "EC":
		crv := j.get("crv")
		c, ok := curves[crv]
		if !ok {
			return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Unsupported JWK EC curve: " + crv}
		}
		pub, priv, err := ecFromJWK(j, &algParams{name: "ECDH", namedCurve: crv}, c, nil, false)
		if err != nil {
			return nil, bad(err)
		}
		key = pub
		if priv != nil {
			key = priv
		}
	case "OKP":
		crv := j.get("crv")
		if crv != "Ed25519" && crv != "X25519" {
			return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Unsupported JWK OKP curve: " + crv}
		}
		x, err := j.bytes("x")
		if err != nil {
			return nil, bad(err)
		}
		if key, err = okpPublic(crv, x); err != nil {
			return nil, bad(err)
		}
		if j.has("d") {
			d, err := j.bytes("d")
			if err != nil {
				return nil, bad(err)
			}
			if _, key, err = okpPrivate(crv, d); err != nil {
				return nil, bad(err)
			}
		}
	default:
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Invalid JWK data: unsupported kty " + j.get("kty")}
	}
	return asymmetricKey(kind, key)
}

// keyCreate(kind, data, format, type): createPublicKey, createPrivateKey
// and createSecretKey. data is a buffer (der, secret), or text (pem, jwk
// as JSON).
func (n *nodeEnv) keyCreate(c goja.FunctionCall) (goja.Value, *nodeError) {
	kind := c.Argument(0).String()
	format := c.Argument(2).String()
	var k *cryptoKey
	var err *nodeError
	switch {
	case format == "jwk":
		k, err = keyFromJWK(kind, c.Argument(1).String())
		if err == nil && (k.kind == "secret") != (kind == "secret") {
			err = &nodeError{"TypeError", "ERR_CRYPTO_INVALID_JWK", "Invalid JWK key type for this operation"}
		}
	case kind == "secret":
		var b []byte
		if b, err = n.bytes(c.Argument(1), "key"); err == nil {
			k = &cryptoKey{kind: "secret", secret: b, extractable: true}
		}
	case format == "pem":
		var key any
		if key, err = parsePEM(kind, c.Argument(1).String()); err == nil {
			k, err = asymmetricKey(kind, key)
		}
	case format == "der":
		var b []byte
		if b, err = n.bytes(c.Argument(1), "key"); err == nil {
			var key any
			if key, err = parseDER(kind, c.Argument(3).String(), b); err == nil {
				k, err = asymmetricKey(kind, key)
			}
		}
	default:
		err = &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The property 'key.format' is invalid. Received %q", format)}
	}
	if err != nil {
		return nil, err
	}
	return n.vm.ToValue(k), nil
}

// asymmetricType is KeyObject.asymmetricKeyType.
func asymmetricType(k *cryptoKey) string {
	switch k.pub.(type) {
	case *rsa.PublicKey:
		return "rsa"
	case *ecdsa.PublicKey:
		return "ec"
	case ed25519.PublicKey:
		return "ed25519"
	case *ecdh.PublicKey:
		return "x25519"
	}
	return ""
}

// keyInfo(handle) → {type, asymmetricKeyType, symmetricKeySize,
// modulusLength, publicExponent, namedCurve}.
func (n *nodeEnv) keyInfo(c goja.FunctionCall) (goja.Value, *nodeError) {
	k, err := n.nodeKey(c.Argument(0))
	if err != nil {
		return nil, err
	}
	o := n.vm.NewObject()
	_ = o.Set("type", k.kind)
	if k.kind == "secret" {
		_ = o.Set("symmetricKeySize", len(k.secret))
		return o, nil
	}
	_ = o.Set("asymmetricKeyType", asymmetricType(k))
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		_ = o.Set("modulusLength", pub.N.BitLen())
		_ = o.Set("publicExponent", pub.E)
	case *ecdsa.PublicKey:
		_ = o.Set("namedCurve", opensslCurve[curveName(pub.Curve)])
	}
	return o, nil
}

// nodeJWK is a key's JWK members (Node exports no alg, key_ops or ext).
func nodeJWK(k *cryptoKey) (map[string]string, *nodeError) {
	j := &jwkOut{}
	switch pub := k.pub.(type) {
	case nil:
		j.set("kty", "oct")
		j.setBytes("k", k.secret)
	case *rsa.PublicKey:
		tmp := &cryptoKey{kind: k.kind, pub: pub, priv: k.priv, alg: keyAlgorithm{name: "RSASSA-PKCS1-v1_5", hash: "SHA-256"}, extractable: true}
		_, out, err := rsaExport("jwk", tmp)
		if err != nil {
			return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%s", err.msg)
		}
		j = out
		delete(j.values, "alg")
	case *ecdsa.PublicKey:
		tmp := &cryptoKey{kind: k.kind, pub: pub, priv: k.priv, alg: keyAlgorithm{name: "ECDSA", namedCurve: curveName(pub.Curve)}, extractable: true}
		_, out, err := ecExport("jwk", tmp)
		if err != nil {
			return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%s", err.msg)
		}
		j = out
	default:
		name := "Ed25519"
		if _, ok := pub.(*ecdh.PublicKey); ok {
			name = "X25519"
		}
		tmp := &cryptoKey{kind: k.kind, pub: pub, priv: k.priv, alg: keyAlgorithm{name: name}, extractable: true}
		_, out, err := okpExport("jwk", tmp)
		if err != nil {
			return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%s", err.msg)
		}
		j = out
		delete(j.values, "alg")
	}
	return j.values, nil
}

// keyExport(handle, format, type): a PEM string, a DER buffer, a secret
// buffer ("buffer") or a JWK as JSON text ("jwk").
func (n *nodeEnv) keyExport(c goja.FunctionCall) (goja.Value, *nodeError) {
	k, err := n.nodeKey(c.Argument(0))
	if err != nil {
		return nil, err
	}
	format, typ := c.Argument(1).String(), c.Argument(2).String()
	if format == "jwk" {
		m, err := nodeJWK(k)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(m)
		return n.vm.ToValue(string(b)), nil
	}
	if k.kind == "secret" {
		if format != "buffer" {
			return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The property 'options.format' is invalid. Received %q", format)}
		}
		return n.buffer(slices.Clone(k.secret)), nil
	}
	var der []byte
	var blockType string
	var merr error
	switch {
	case k.kind == "public" && typ == "spki":
		der, merr = x509.MarshalPKIXPublicKey(k.pub)
		blockType = "PUBLIC KEY"
	case k.kind == "public" && typ == "pkcs1":
		pub, ok := k.pub.(*rsa.PublicKey)
		if !ok {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS", "The selected key encoding pkcs1 can only be used for RSA keys."}
		}
		der, blockType = x509.MarshalPKCS1PublicKey(pub), "RSA PUBLIC KEY"
	case k.kind == "private" && typ == "pkcs8":
		der, merr = x509.MarshalPKCS8PrivateKey(k.priv)
		blockType = "PRIVATE KEY"
	case k.kind == "private" && typ == "pkcs1":
		priv, ok := k.priv.(*rsa.PrivateKey)
		if !ok {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS", "The selected key encoding pkcs1 can only be used for RSA keys."}
		}
		der, blockType = x509.MarshalPKCS1PrivateKey(priv), "RSA PRIVATE KEY"
	case k.kind == "private" && typ == "sec1":
		priv, ok := k.priv.(*ecdsa.PrivateKey)
		if !ok {
			return nil, &nodeError{"Error", "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS", "The selected key encoding sec1 can only be used for EC keys."}
		}
		der, merr = x509.MarshalECPrivateKey(priv)
		blockType = "EC PRIVATE KEY"
	default:
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The property 'options.type' is invalid. Received %q", typ)}
	}
	if merr != nil {
		return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%v", merr)
	}
	switch format {
	case "pem":
		return n.vm.ToValue(string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))), nil
	case "der":
		return n.buffer(der), nil
	}
	return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The property 'options.format' is invalid. Received %q", format)}
}

// keyGenerate(type, modulusLength, publicExponent, namedCurve) → [public,
// private] handles (generateKeyPair).
func (n *nodeEnv) keyGenerate(c goja.FunctionCall) (goja.Value, *nodeError) {
	var priv any
	switch typ := c.Argument(0).String(); typ {
	case "rsa", "rsa-pss":
		bits, err := intArg(c.Argument(1), "options.modulusLength", 8192) // see rsaGenerate
		if err != nil {
			return nil, err
		}
		if e := c.Argument(2); !goja.IsUndefined(e) && e.ToInteger() != 65537 {
			return nil, &nodeError{"RangeError", "ERR_OUT_OF_RANGE", "cairn generates RSA keys with the publicExponent 65537 only"}
		}
		k, gerr := rsa.GenerateKey(rand.Reader, bits)
		if gerr != nil {
			return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "RSA key generation failed: %v", gerr)
		}
		priv = k
	case "ec":
		crv := nodeCurveNames[strings.ToLower(c.Argument(3).String())]
		curve, ok := curves[crv]
		if !ok {
			return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_CURVE", "Invalid EC curve name"}
		}
		k, gerr := ecdsa.GenerateKey(curve, rand.Reader)
		if gerr != nil {
			return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%v", gerr)
		}
		priv = k
	case "ed25519":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		priv = k
	case "x25519":
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		priv = k
	default:
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", fmt.Sprintf("The argument 'type' must be a supported key type. Received %q", typ)}
	}
	sk, _ := asymmetricKey("private", priv)
	pk, _ := asymmetricKey("public", priv)
	return n.vm.NewArray(pk, sk), nil
}

// keyFromCryptoKey(handle) is KeyObject.from(cryptoKey).
func (n *nodeEnv) keyFromCryptoKey(c goja.FunctionCall) (goja.Value, *nodeError) {
	ck, ok := c.Argument(0).Export().(*cryptoKey)
	if !ok || ck == nil {
		return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_TYPE", `The "key" argument must be an instance of CryptoKey.`}
	}
	return n.vm.ToValue(&cryptoKey{kind: ck.kind, secret: slices.Clone(ck.secret), pub: ck.pub, priv: ck.priv, extractable: true}), nil
}

// keyToCryptoKey(handle, algorithm, extractable, usages) is
// keyObject.toCryptoKey: the key imported into WebCrypto.
func (n *nodeEnv) keyToCryptoKey(c goja.FunctionCall) (goja.Value, *nodeError) {
	k, err := n.nodeKey(c.Argument(0))
	if err != nil {
		return nil, err
	}
	fail := func(e *cryptoError) *nodeError { return &nodeError{"Error", e.name, e.msg} }
	p, cerr := n.e.normalize(opImport, c.Argument(1))
	if cerr != nil {
		return nil, fail(cerr)
	}
	var format string
	var der []byte
	var merr error
	switch k.kind {
	case "secret":
		format, der = "raw", slices.Clone(k.secret)
	case "public":
		format = "spki"
		der, merr = x509.MarshalPKIXPublicKey(k.pub)
	default:
		format = "pkcs8"
		der, merr = x509.MarshalPKCS8PrivateKey(k.priv)
	}
	if merr != nil {
		return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%v", merr)
	}
	ck, cerr := importKeyOp(format, der, nil, p, c.Argument(2).ToBoolean(), n.e.strings(c.Argument(3)))
	if cerr != nil {
		return nil, fail(cerr)
	}
	return n.e.keyInfo(ck), nil
}

func (n *nodeEnv) keyEquals(c goja.FunctionCall) (goja.Value, *nodeError) {
	a, err := n.nodeKey(c.Argument(0))
	if err != nil {
		return nil, err
	}
	b, err := n.nodeKey(c.Argument(1))
	if err != nil {
		return nil, err
	}
	if a.kind != b.kind {
		return n.vm.ToValue(false), nil
	}
	if a.kind == "secret" {
		return n.vm.ToValue(constantTimeEqual(a.secret, b.secret)), nil
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.pub.(equaler)
	return n.vm.ToValue(ok && e.Equal(b.pub)), nil
}

// The RSA padding and PSS salt length constants of node:crypto.
const (
	rsaPKCS1Padding   = 1
	rsaOAEPPadding    = 4
	rsaPSSPadding     = 6
	pssSaltLenDigest  = -1
	pssSaltLenMaxSign = -2
	pssSaltLenAuto    = -3
)

// signParams reads sign/verify's digest name (argument 0) and the
// options (padding, saltLength, dsaEncoding at 3, 4, 5 after the key).
type signParams struct {
	hash        crypto.Hash
	hashName    string
	padding     int
	saltLength  int
	hasSalt     bool
	dsaEncoding string
}

func readSignParams(c goja.FunctionCall, first int) (*signParams, *nodeError) {
	sp := &signParams{padding: rsaPKCS1Padding, dsaEncoding: "der"}
	if v := c.Argument(0); !goja.IsUndefined(v) && !goja.IsNull(v) {
		sp.hashName = nodeHashName(v.String())
		h, ok := nodeCryptoHash[sp.hashName]
		if !ok {
			return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest: " + v.String()}
		}
		sp.hash = h
	}
	if v := c.Argument(first); !goja.IsUndefined(v) && !goja.IsNull(v) {
		sp.padding = int(v.ToInteger())
	}
	if v := c.Argument(first + 1); !goja.IsUndefined(v) && !goja.IsNull(v) {
		sp.saltLength, sp.hasSalt = int(v.ToInteger()), true
	}
	if v := c.Argument(first + 2); !goja.IsUndefined(v) && !goja.IsNull(v) {
		sp.dsaEncoding = v.String()
		if sp.dsaEncoding != "der" && sp.dsaEncoding != "ieee-p1363" {
			return nil, &nodeError{"TypeError", "ERR_INVALID_ARG_VALUE", "The property 'options.dsaEncoding' is invalid. Received " + sp.dsaEncoding}
		}
	}
	return sp, nil
}

func (sp *signParams) digest(data []byte) []byte {
	h := sp.hash
	if h == 0 {
		h = crypto.SHA256
	}
	hh := h.New()
	hh.Write(data)
	return hh.Sum(nil)
}

func (sp *signParams) pssOptions(sign bool) *rsa.PSSOptions {
	h := sp.hash
	if h == 0 {
		h = crypto.SHA256
	}
	salt := rsa.PSSSaltLengthAuto
	switch {
	case !sp.hasSalt && !sign, sp.saltLength == pssSaltLenAuto, sp.saltLength == pssSaltLenMaxSign:
	case sp.saltLength == pssSaltLenDigest:
		salt = rsa.PSSSaltLengthEqualsHash
	default:
		salt = sp.saltLength
	}
	return &rsa.PSSOptions{SaltLength: salt, Hash: h}
}

// sign(digest, data, handle, padding, saltLength, dsaEncoding) is
// crypto.sign and Sign.sign.
func (n *nodeEnv) sign(c goja.FunctionCall) (goja.Value, *nodeError) {
	data, err := n.bytes(c.Argument(1), "data")
	if err != nil {
		return nil, err
	}
	k, err := n.nodeKey(c.Argument(2))
	if err != nil {
		return nil, err
	}
	if k.kind != "private" {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", "Invalid key object type public, expected private."}
	}
	sp, err := readSignParams(c, 3)
	if err != nil {
		return nil, err
	}
	var sig []byte
	var serr error
	switch priv := k.priv.(type) {
	case *rsa.PrivateKey:
		h := sp.hash
		if h == 0 {
			h = crypto.SHA256
		}
		if sp.padding == rsaPSSPadding {
			sig, serr = rsa.SignPSS(rand.Reader, priv, h, sp.digest(data), sp.pssOptions(true))
		} else {
			sig, serr = rsa.SignPKCS1v15(nil, priv, h, sp.digest(data))
		}
	case *ecdsa.PrivateKey:
		if sp.dsaEncoding == "ieee-p1363" {
			r, s, e := ecdsa.Sign(rand.Reader, priv, sp.digest(data))
			if serr = e; e == nil {
				size := coordSize(priv.Curve)
				sig = make([]byte, 2*size)
				r.FillBytes(sig[:size])
				s.FillBytes(sig[size:])
			}
		} else {
			sig, serr = ecdsa.SignASN1(rand.Reader, priv, sp.digest(data))
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, data)
	default:
		return nil, &nodeError{"Error", "ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE", "operation not supported for this keytype"}
	}
	if serr != nil {
		return nil, nerr("ERR_CRYPTO_OPERATION_FAILED", "%v", serr)
	}
	return n.buffer(sig), nil
}

// verify(digest, data, handle, signature, padding, saltLength,
// dsaEncoding) is crypto.verify and Verify.verify.
func (n *nodeEnv) verify(c goja.FunctionCall) (goja.Value, *nodeError) {
	data, err := n.bytes(c.Argument(1), "data")
	if err != nil {
		return nil, err
	}
	k, err := n.nodeKey(c.Argument(2))
	if err != nil {
		return nil, err
	}
	sig, err := n.bytes(c.Argument(3), "signature")
	if err != nil {
		return nil, err
	}
	sp, err := readSignParams(c, 4)
	if err != nil {
		return nil, err
	}
	if k.kind == "secret" {
		return nil, &nodeError{"TypeError", "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", "Invalid key object type secret, expected public."}
	}
	ok := false
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		h := sp.hash
		if h == 0 {
			h = crypto.SHA256
		}
		if sp.padding == rsaPSSPadding {
			ok = rsa.VerifyPSS(pub, h, sp.digest(data), sig, sp.pssOptions(false)) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(pub, h, sp.digest(data), sig) == nil
		}
	case *ecdsa.PublicKey:
		if sp.dsaEncoding == "ieee-p1363" {
			size := coordSize(pub.Curve)
			if len(sig) == 2*size {
				ok = ecdsa.Verify(pub, sp.digest(data), new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
			}
		} else {
			ok = ecdsa.VerifyASN1(pub, sp.digest(data), sig)
		}
	case ed25519.PublicKey:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, data, sig)
	default:
		return nil, &nodeError{"Error", "ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE", "operation not supported for this keytype"}
	}
	return n.vm.ToValue(ok), nil
}

// rsaCrypt(encrypt, handle, data, padding, oaepHash, oaepLabel) is
// publicEncrypt (encrypt true) and privateDecrypt: RSA-OAEP (the default,
// with SHA-1 unless oaepHash says otherwise) or PKCS #1 v1.5 padding.
func (n *nodeEnv) rsaCrypt(c goja.FunctionCall) (goja.Value, *nodeError) {
	encrypt := c.Argument(0).ToBoolean()
	k, err := n.nodeKey(c.Argument(1))
	if err != nil {
		return nil, err
	}
	data, err := n.bytes(c.Argument(2), "buffer")
	if err != nil {
		return nil, err
	}
	padding := rsaOAEPPadding
	if v := c.Argument(3); !goja.IsUndefined(v) && !goja.IsNull(v) {
		padding = int(v.ToInteger())
	}
	hashName := "sha1"
	if v := c.Argument(4); !goja.IsUndefined(v) && !goja.IsNull(v) {
		hashName = v.String()
	}
	h, err := nodeHash(hashName)
	if err != nil {
		return nil, &nodeError{"TypeError", "ERR_OSSL_EVP_INVALID_DIGEST", "Invalid digest used: " + hashName}
	}
	var label []byte
	if v := c.Argument(5); !goja.IsUndefined(v) && !goja.IsNull(v) {
		if label, err = n.bytes(v, "oaepLabel"); err != nil {
			return nil, err
		}
	}
	if padding != rsaOAEPPadding && padding != rsaPKCS1Padding {
		return nil, &nodeError{"Error", "ERR_OSSL_RSA_UNKNOWN_PADDING_TYPE", "unknown padding type"}
	}
	var out []byte
	var cerr error
	if encrypt {
		pub, ok := k.pub.(*rsa.PublicKey)
		if !ok {
			return nil, &nodeError{"Error", "ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE", "operation not supported for this keytype"}
		}
		if padding == rsaOAEPPadding {
			out, cerr = rsa.EncryptOAEP(h(), rand.Reader, pub, data, label)
		} else {
			out, cerr = rsa.EncryptPKCS1v15(rand.Reader, pub, data)
		}
		if cerr != nil {
			return nil, nerr("ERR_OSSL_RSA_DATA_TOO_LARGE_FOR_KEY_SIZE", "data too large for key size")
		}
		return n.buffer(out), nil
	}
	priv, ok := k.priv.(*rsa.PrivateKey)
	if !ok || k.kind != "private" {
		return nil, &nodeError{"Error", "ERR_OSSL_EVP_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE", "operation not supported for this keytype"}
	}
	if padding == rsaOAEPPadding {
		out, cerr = rsa.DecryptOAEP(h(), nil, priv, data, label)
	} else {
		out, cerr = rsa.DecryptPKCS1v15(nil, priv, data)
	}
	if cerr != nil {
		return nil, nerr("ERR_OSSL_RSA_OAEP_DECODING_ERROR", "error:02000079:rsa routines::oaep decoding error")
	}
	return n.buffer(out), nil
}
