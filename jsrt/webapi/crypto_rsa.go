package webapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"slices"
	"strings"
)

// RSA: RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP keys, signatures and
// encryption.

// cryptoHash maps a WebCrypto hash name to Go's.
var cryptoHash = map[string]crypto.Hash{
	"SHA-1": crypto.SHA1, "SHA-256": crypto.SHA256, "SHA-384": crypto.SHA384, "SHA-512": crypto.SHA512,
}

// rsaUsages returns the usages of an RSA algorithm's public and private
// keys.
func rsaUsages(name string) (public, private []string) {
	if name == "RSA-OAEP" {
		return []string{"encrypt", "wrapKey"}, []string{"decrypt", "unwrapKey"}
	}
	return []string{"verify"}, []string{"sign"}
}

// rsaJWKAlg is the JWK "alg" of an RSA algorithm with hash.
func rsaJWKAlg(name, hash string) string {
	bits := strings.TrimPrefix(hash, "SHA-")
	switch name {
	case "RSASSA-PKCS1-v1_5":
		if hash == "SHA-1" {
			return "RS1"
		}
		return "RS" + bits
	case "RSA-PSS":
		if hash == "SHA-1" {
			return "PS1"
		}
		return "PS" + bits
	default:
		if hash == "SHA-1" {
			return "RSA-OAEP"
		}
		return "RSA-OAEP-" + bits
	}
}

func rsaUse(name string) string {
	if name == "RSA-OAEP" {
		return "enc"
	}
	return "sig"
}

func rsaAlgorithm(name, hash string, pub *rsa.PublicKey) keyAlgorithm {
	return keyAlgorithm{name: name, hash: hash, modulusLength: pub.N.BitLen(), publicExponent: big.NewInt(int64(pub.E)).Bytes()}
}

func rsaGenerate(p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoKey, *cryptoError) {
	pubU, privU := rsaUsages(p.name)
	if _, err := usagesOf(usages, append(pubU, privU...)...); err != nil {
		return nil, nil, err
	}
	e := new(big.Int).SetBytes(p.publicExponent)
	if !e.IsInt64() || e.Int64() != 65537 {
		return nil, nil, cerr(errOperation, "RSA publicExponent must be 65537.")
	}
	// Generation runs on the runtime's thread and cannot be interrupted:
	// 8192 bits take seconds, more could take minutes.
	if p.modulusLength < 1024 || p.modulusLength > 8192 || p.modulusLength%8 != 0 {
		return nil, nil, cerr(errOperation, "RSA modulusLength must be a multiple of 8 between 1024 and 8192, not %d.", p.modulusLength)
	}
	priv, err := rsa.GenerateKey(rand.Reader, p.modulusLength)
	if err != nil {
		return nil, nil, cerr(errOperation, "RSA key generation failed: %v", err)
	}
	alg := rsaAlgorithm(p.name, p.hash, &priv.PublicKey)
	pub := &cryptoKey{kind: "public", alg: alg, extractable: true, usages: intersect(orderUsages(usages), pubU...), pub: &priv.PublicKey}
	pk := &cryptoKey{kind: "private", alg: alg, extractable: extractable, usages: intersect(orderUsages(usages), privU...), priv: priv, pub: &priv.PublicKey}
	return pub, pk, nil
}

// orderUsages puts usages in canonical order without duplicates.
func orderUsages(usages []string) []string {
	out := []string{}
	for _, u := range usageOrder {
		if slices.Contains(usages, u) {
			out = append(out, u)
		}
	}
	return out
}

func rsaImport(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	pubU, privU := rsaUsages(p.name)
	var pub *rsa.PublicKey
	var priv *rsa.PrivateKey
	switch format {
	case "spki":
		if _, err := usagesOf(usages, pubU...); err != nil {
			return nil, err
		}
		k, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			return nil, cerr(errData, "Invalid SPKI RSA public key: %v", err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return nil, cerr(errData, "The SPKI key is not an RSA key.")
		}
	case "pkcs8":
		if _, err := usagesOf(usages, privU...); err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(raw)
		if err != nil {
			return nil, cerr(errData, "Invalid PKCS #8 RSA private key: %v", err)
		}
		var ok bool
		if priv, ok = k.(*rsa.PrivateKey); !ok {
			return nil, cerr(errData, "The PKCS #8 key is not an RSA key.")
		}
	case "jwk":
		var err *cryptoError
		if pub, priv, err = rsaFromJWK(j, p, usages, extractable); err != nil {
			return nil, err
		}
	default:
		return nil, unsupportedFormat(format, p.name)
	}
	if priv != nil {
		u, err := usagesOf(usages, privU...)
		if err != nil {
			return nil, err
		}
		return &cryptoKey{kind: "private", alg: rsaAlgorithm(p.name, p.hash, &priv.PublicKey), extractable: extractable, usages: u, priv: priv, pub: &priv.PublicKey}, nil
	}
	u, err := usagesOf(usages, pubU...)
	if err != nil {
		return nil, err
	}
	return &cryptoKey{kind: "public", alg: rsaAlgorithm(p.name, p.hash, pub), extractable: extractable, usages: u, pub: pub}, nil
}

func rsaFromJWK(j *jwk, p *algParams, usages []string, extractable bool) (*rsa.PublicKey, *rsa.PrivateKey, *cryptoError) {
	pubU, privU := rsaUsages(p.name)
	allowed := pubU
	if j.has("d") {
		allowed = privU
	}
	if _, err := usagesOf(usages, allowed...); err != nil {
		return nil, nil, err
	}
	if err := j.check("RSA", rsaUse(p.name), usages, extractable); err != nil {
		return nil, nil, err
	}
	if j.has("alg") && j.get("alg") != rsaJWKAlg(p.name, p.hash) {
		return nil, nil, cerr(errData, "The JWK alg %q does not match %s with %s.", j.get("alg"), p.name, p.hash)
	}
	num := func(name string) (*big.Int, *cryptoError) {
		b, err := j.bytes(name)
		if err != nil {
			return nil, err
		}
		return new(big.Int).SetBytes(b), nil
	}
	n, err := num("n")
	if err != nil {
		return nil, nil, err
	}
	e, err := num("e")
	if err != nil {
		return nil, nil, err
	}
	if !e.IsInt64() || e.Int64() > 1<<31-1 || e.Int64() < 3 {
		return nil, nil, cerr(errData, "The JWK exponent e is out of range.")
	}
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	if !j.has("d") {
		return pub, nil, nil
	}
	priv := &rsa.PrivateKey{PublicKey: *pub}
	if priv.D, err = num("d"); err != nil {
		return nil, nil, err
	}
	if j.has("p") || j.has("q") {
		var p1, q1 *big.Int
		if p1, err = num("p"); err != nil {
			return nil, nil, err
		}
		if q1, err = num("q"); err != nil {
			return nil, nil, err
		}
		priv.Primes = []*big.Int{p1, q1}
		for _, m := range []string{"dp", "dq", "qi"} {
			if !j.has(m) {
				return nil, nil, cerr(errData, "The JWK member %q is missing.", m)
			}
		}
	}
	if len(priv.Primes) == 0 {
		return nil, nil, cerr(errData, "RSA private JWKs without the primes p and q are not supported.")
	}
	if verr := priv.Validate(); verr != nil {
		return nil, nil, cerr(errData, "Invalid RSA private key: %v", verr)
	}
	priv.Precompute()
	return pub, priv, nil
}

func rsaExport(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	pub := k.pub.(*rsa.PublicKey)
	switch format {
	case "spki", "pkcs8":
		b, err := exportDER(format, k)
		return b, nil, err
	case "jwk":
		j := &jwkOut{}
		j.set("kty", "RSA")
		j.set("alg", rsaJWKAlg(k.alg.name, k.alg.hash))
		j.setBytes("n", pub.N.Bytes())
		j.setBytes("e", big.NewInt(int64(pub.E)).Bytes())
		if priv, ok := k.priv.(*rsa.PrivateKey); ok && k.kind == "private" {
			if len(priv.Primes) != 2 {
				return nil, nil, cerr(errOperation, "RSA keys with more than two primes cannot be exported as JWK.")
			}
			j.setBytes("d", priv.D.Bytes())
			j.setBytes("p", priv.Primes[0].Bytes())
			j.setBytes("q", priv.Primes[1].Bytes())
			j.setBytes("dp", priv.Precomputed.Dp.Bytes())
			j.setBytes("dq", priv.Precomputed.Dq.Bytes())
			j.setBytes("qi", priv.Precomputed.Qinv.Bytes())
		}
		return nil, j, nil
	}
	return nil, nil, unsupportedFormat(format, k.alg.name)
}

func hashOf(name string, data []byte) []byte {
	h := hashes[name]()
	h.Write(data)
	return h.Sum(nil)
}

func rsaSign(p *algParams, k *cryptoKey, data []byte) ([]byte, *cryptoError) {
	priv, ok := k.priv.(*rsa.PrivateKey)
	if !ok || k.kind != "private" {
		return nil, cerr(errInvalidAccess, "Signing needs a private key.")
	}
	h := cryptoHash[k.alg.hash]
	digest := hashOf(k.alg.hash, data)
	var sig []byte
	var err error
	if p.name == "RSA-PSS" {
		if p.saltLength == 0 {
			return pssSignNoSalt(priv, h, digest)
		}
		sig, err = rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: p.saltLength, Hash: h})
	} else {
		sig, err = rsa.SignPKCS1v15(nil, priv, h, digest)
	}
	if err != nil {
		return nil, cerr(errOperation, "RSA signing failed: %v", err)
	}
	return sig, nil
}

func rsaVerify(p *algParams, k *cryptoKey, sig, data []byte) (bool, *cryptoError) {
	if k.kind != "public" {
		return false, cerr(errInvalidAccess, "Verifying needs a public key.")
	}
	pub := k.pub.(*rsa.PublicKey)
	h := cryptoHash[k.alg.hash]
	digest := hashOf(k.alg.hash, data)
	if p.name == "RSA-PSS" {
		if p.saltLength == 0 {
			return pssVerifyNoSalt(pub, h, digest, sig), nil
		}
		return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: p.saltLength, Hash: h}) == nil, nil
	}
	return rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil, nil
}

func rsaOAEP(p *algParams, k *cryptoKey, data []byte, enc bool) ([]byte, *cryptoError) {
	h := hashes[k.alg.hash]
	if enc {
		if k.kind != "public" {
			return nil, cerr(errInvalidAccess, "Encrypting needs a public key.")
		}
		out, err := rsa.EncryptOAEP(h(), rand.Reader, k.pub.(*rsa.PublicKey), data, p.label)
		if err != nil {
			return nil, cerr(errOperation, "RSA-OAEP encryption failed: %v", err)
		}
		return out, nil
	}
	if k.kind != "private" {
		return nil, cerr(errInvalidAccess, "Decrypting needs a private key.")
	}
	out, err := rsa.DecryptOAEP(h(), nil, k.priv.(*rsa.PrivateKey), data, p.label)
	if err != nil {
		return nil, cerr(errOperation, "RSA-OAEP decryption failed.")
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// Go's RSA-PSS cannot express a salt of zero bytes (0 means "auto"), which
// WebCrypto allows; these do EMSA-PSS (RFC 8017 9.1) with an empty salt
// over the raw RSA operations.

func pssSignNoSalt(priv *rsa.PrivateKey, h crypto.Hash, digest []byte) ([]byte, *cryptoError) {
	emBits := priv.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	hLen := h.Size()
	if emLen < hLen+2 {
		return nil, cerr(errOperation, "The RSA key is too short for RSA-PSS with this hash.")
	}
	mp := make([]byte, 8+hLen)
	copy(mp[8:], digest)
	hh := h.New()
	hh.Write(mp)
	H := hh.Sum(nil)
	db := make([]byte, emLen-hLen-1)
	db[len(db)-1] = 0x01
	mask := mgf1(h, H, len(db))
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= byte(0xff >> (8*emLen - emBits))
	em := append(append(db, H...), 0xbc)
	m := new(big.Int).SetBytes(em)
	s := new(big.Int).Exp(m, priv.D, priv.N)
	// Check the result, as a fault would leak the key.
	if new(big.Int).Exp(s, big.NewInt(int64(priv.E)), priv.N).Cmp(m) != 0 {
		return nil, cerr(errOperation, "RSA signing failed.")
	}
	return s.FillBytes(make([]byte, (priv.N.BitLen()+7)/8)), nil
}

func pssVerifyNoSalt(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return false
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return false
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	hLen := h.Size()
	if m.BitLen() > emBits || emLen < hLen+2 {
		return false
	}
	em := m.FillBytes(make([]byte, emLen))
	if em[emLen-1] != 0xbc {
		return false
	}
	db := slices.Clone(em[:emLen-hLen-1])
	H := em[emLen-hLen-1 : emLen-1]
	if db[0]&^byte(0xff>>(8*emLen-emBits)) != 0 {
		return false
	}
	mask := mgf1(h, H, len(db))
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= byte(0xff >> (8*emLen - emBits))
	for _, b := range db[:len(db)-1] {
		if b != 0 {
			return false
		}
	}
	if db[len(db)-1] != 0x01 {
		return false
	}
	mp := make([]byte, 8+hLen)
	copy(mp[8:], digest)
	hh := h.New()
	hh.Write(mp)
	return constantTimeEqual(hh.Sum(nil), H)
}

// mgf1 is the mask generation function of RFC 8017 B.2.1.
func mgf1(h crypto.Hash, seed []byte, n int) []byte {
	out := make([]byte, 0, n+h.Size())
	var c [4]byte
	for i := uint32(0); len(out) < n; i++ {
		c[0], c[1], c[2], c[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		hh := h.New()
		hh.Write(seed)
		hh.Write(c[:])
		out = hh.Sum(out)
	}
	return out[:n]
}

// exportDER exports an asymmetric key as spki (public keys) or pkcs8
// (private keys), as every asymmetric family does.
func exportDER(format string, k *cryptoKey) ([]byte, *cryptoError) {
	var b []byte
	var err error
	switch {
	case format == "spki" && k.kind == "public":
		b, err = x509.MarshalPKIXPublicKey(k.pub)
	case format == "spki":
		return nil, cerr(errInvalidAccess, "Only public keys export as spki.")
	case k.kind == "private":
		b, err = x509.MarshalPKCS8PrivateKey(k.priv)
	default:
		return nil, cerr(errInvalidAccess, "Only private keys export as pkcs8.")
	}
	if err != nil {
		return nil, cerr(errOperation, "%v", err)
	}
	return b, nil
}
