package webapi

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"slices"
)

// Curve25519: Ed25519 signatures and X25519 key agreement. Keys are
// ed25519.PublicKey / ed25519.PrivateKey and *ecdh.PublicKey /
// *ecdh.PrivateKey.

func okpUsages(name string) (public, private []string) {
	if name == "X25519" {
		return []string{}, []string{"deriveKey", "deriveBits"}
	}
	return []string{"verify"}, []string{"sign"}
}

func okpGenerate(p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoKey, *cryptoError) {
	pubU, privU := okpUsages(p.name)
	if _, err := usagesOf(usages, append(pubU, privU...)...); err != nil {
		return nil, nil, err
	}
	var pubKey, privKey any
	if p.name == "Ed25519" {
		pk, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, cerr(errOperation, "%v", err)
		}
		pubKey, privKey = pk, sk
	} else {
		sk, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, cerr(errOperation, "%v", err)
		}
		pubKey, privKey = sk.PublicKey(), sk
	}
	alg := keyAlgorithm{name: p.name}
	ordered := orderUsages(usages)
	pub := &cryptoKey{kind: "public", alg: alg, extractable: true, usages: intersect(ordered, pubU...), pub: pubKey}
	priv := &cryptoKey{kind: "private", alg: alg, extractable: extractable, usages: intersect(ordered, privU...), pub: pubKey, priv: privKey}
	return pub, priv, nil
}

// okpPublic makes a public key of algorithm name from its 32 bytes.
func okpPublic(name string, b []byte) (any, *cryptoError) {
	if name == "Ed25519" {
		if len(b) != ed25519.PublicKeySize {
			return nil, cerr(errData, "An Ed25519 public key is 32 bytes, not %d.", len(b))
		}
		return ed25519.PublicKey(slices.Clone(b)), nil
	}
	k, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, cerr(errData, "Invalid X25519 public key: %v", err)
	}
	return k, nil
}

// okpPrivate makes a private key of algorithm name from its 32-byte seed
// (Ed25519) or scalar (X25519).
func okpPrivate(name string, b []byte) (pub, priv any, _ *cryptoError) {
	if name == "Ed25519" {
		if len(b) != ed25519.SeedSize {
			return nil, nil, cerr(errData, "An Ed25519 private key is 32 bytes, not %d.", len(b))
		}
		sk := ed25519.NewKeyFromSeed(b)
		return sk.Public(), sk, nil
	}
	sk, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return nil, nil, cerr(errData, "Invalid X25519 private key: %v", err)
	}
	return sk.PublicKey(), sk, nil
}

func okpImport(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	pubU, privU := okpUsages(p.name)
	var pub, priv any
	var err *cryptoError
	switch format {
	case "raw", "raw-public":
		if _, err := usagesOf(usages, pubU...); err != nil {
			return nil, err
		}
		if pub, err = okpPublic(p.name, raw); err != nil {
			return nil, err
		}
	case "spki":
		if _, err := usagesOf(usages, pubU...); err != nil {
			return nil, err
		}
		k, perr := x509.ParsePKIXPublicKey(raw)
		if perr != nil {
			return nil, cerr(errData, "Invalid SPKI %s public key: %v", p.name, perr)
		}
		switch k := k.(type) {
		case ed25519.PublicKey:
			if p.name == "Ed25519" {
				pub = k
			}
		case *ecdh.PublicKey:
			if p.name == "X25519" && k.Curve() == ecdh.X25519() {
				pub = k
			}
		}
		if pub == nil {
			return nil, cerr(errData, "The SPKI key is not an %s key.", p.name)
		}
	case "pkcs8":
		if _, err := usagesOf(usages, privU...); err != nil {
			return nil, err
		}
		k, perr := x509.ParsePKCS8PrivateKey(raw)
		if perr != nil {
			return nil, cerr(errData, "Invalid PKCS #8 %s private key: %v", p.name, perr)
		}
		switch k := k.(type) {
		case ed25519.PrivateKey:
			if p.name == "Ed25519" {
				pub, priv = k.Public(), k
			}
		case *ecdh.PrivateKey:
			if p.name == "X25519" && k.Curve() == ecdh.X25519() {
				pub, priv = k.PublicKey(), k
			}
		}
		if priv == nil {
			return nil, cerr(errData, "The PKCS #8 key is not an %s key.", p.name)
		}
	case "jwk":
		allowed := pubU
		if j.has("d") {
			allowed = privU
		}
		if _, err := usagesOf(usages, allowed...); err != nil {
			return nil, err
		}
		use := "sig"
		if p.name == "X25519" {
			use = "enc"
		}
		if err := j.check("OKP", use, usages, extractable); err != nil {
			return nil, err
		}
		if j.get("crv") != p.name {
			return nil, cerr(errData, "The JWK crv %q does not match %s.", j.get("crv"), p.name)
		}
		if p.name == "Ed25519" && j.has("alg") && j.get("alg") != "EdDSA" && j.get("alg") != "Ed25519" {
			return nil, cerr(errData, "The JWK alg %q does not match Ed25519.", j.get("alg"))
		}
		x, err := j.bytes("x")
		if err != nil {
			return nil, err
		}
		if pub, err = okpPublic(p.name, x); err != nil {
			return nil, err
		}
		if j.has("d") {
			d, err := j.bytes("d")
			if err != nil {
				return nil, err
			}
			var derived any
			if derived, priv, err = okpPrivate(p.name, d); err != nil {
				return nil, err
			}
			if !okpEqual(derived, pub) {
				return nil, cerr(errData, "The JWK private key does not match its public key.")
			}
		}
	default:
		return nil, unsupportedFormat(format, p.name)
	}
	alg := keyAlgorithm{name: p.name}
	if priv != nil {
		u, err := usagesOf(usages, privU...)
		if err != nil {
			return nil, err
		}
		return &cryptoKey{kind: "private", alg: alg, extractable: extractable, usages: u, pub: pub, priv: priv}, nil
	}
	u, err := usagesOf(usages, pubU...)
	if err != nil {
		return nil, err
	}
	return &cryptoKey{kind: "public", alg: alg, extractable: extractable, usages: u, pub: pub}, nil
}

// okpBytes returns the raw bytes of a public key.
func okpBytes(pub any) []byte {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return slices.Clone(k)
	case *ecdh.PublicKey:
		return k.Bytes()
	}
	return nil
}

func okpEqual(a, b any) bool { return constantTimeEqual(okpBytes(a), okpBytes(b)) }

func okpExport(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	switch format {
	case "raw", "raw-public":
		if k.kind != "public" {
			return nil, nil, cerr(errInvalidAccess, "Only public keys export as raw.")
		}
		return okpBytes(k.pub), nil, nil
	case "spki", "pkcs8":
		b, err := exportDER(format, k)
		return b, nil, err
	case "jwk":
		j := &jwkOut{}
		j.set("kty", "OKP")
		j.set("crv", k.alg.name)
		j.setBytes("x", okpBytes(k.pub))
		if k.kind == "private" {
			switch sk := k.priv.(type) {
			case ed25519.PrivateKey:
				j.setBytes("d", sk.Seed())
			case *ecdh.PrivateKey:
				j.setBytes("d", sk.Bytes())
			}
		}
		if k.alg.name == "Ed25519" {
			j.set("alg", "Ed25519")
		}
		return nil, j, nil
	}
	return nil, nil, unsupportedFormat(format, k.alg.name)
}

func ed25519Sign(p *algParams, k *cryptoKey, data []byte) ([]byte, *cryptoError) {
	sk, ok := k.priv.(ed25519.PrivateKey)
	if !ok || k.kind != "private" {
		return nil, cerr(errInvalidAccess, "Signing needs a private key.")
	}
	return ed25519.Sign(sk, data), nil
}

func ed25519Verify(p *algParams, k *cryptoKey, sig, data []byte) (bool, *cryptoError) {
	pk, ok := k.pub.(ed25519.PublicKey)
	if !ok || k.kind != "public" {
		return false, cerr(errInvalidAccess, "Verifying needs a public key.")
	}
	if len(sig) != ed25519.SignatureSize || ed25519SmallOrder(pk) || ed25519SmallOrder(sig[:32]) {
		return false, nil
	}
	return ed25519.Verify(pk, data, sig), nil
}

// The y coordinates of the points of order 1, 2, 4 and 8 on edwards25519:
// 1, p−1, 0, and y₈ and p−y₈ (checked: 8·P is the identity).
var (
	ed25519P       = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	ed25519Y8, _   = new(big.Int).SetString("2707385501144840649318225287225658788936804267575313519463743609750303402022", 10)
	ed25519SmallYs = []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(ed25519P, big.NewInt(1)), ed25519Y8, new(big.Int).Sub(ed25519P, ed25519Y8)}
)

// ed25519SmallOrder tells whether a point encoding (a public key, or a
// signature's R) is of small order, also when non-canonical: WebCrypto's
// Ed25519 verify returns false for those, which forgeries rely on.
func ed25519SmallOrder(point []byte) bool {
	le := slices.Clone(point)
	le[31] &= 0x7f // the sign of x
	slices.Reverse(le)
	y := new(big.Int).SetBytes(le)
	y.Mod(y, ed25519P)
	for _, s := range ed25519SmallYs {
		if y.Cmp(s) == 0 {
			return true
		}
	}
	return false
}

func x25519Derive(p *algParams, k *cryptoKey, length *int) ([]byte, *cryptoError) {
	if k.kind != "private" {
		return nil, cerr(errInvalidAccess, "X25519 needs a private key to derive from.")
	}
	pk := p.public
	if pk.kind != "public" {
		return nil, cerr(errInvalidAccess, "The X25519 public member must be a public key.")
	}
	if pk.alg.name != k.alg.name {
		return nil, cerr(errInvalidAccess, "The X25519 public key is a %s key.", pk.alg.name)
	}
	secret, err := k.priv.(*ecdh.PrivateKey).ECDH(pk.pub.(*ecdh.PublicKey))
	if err != nil {
		return nil, cerr(errOperation, "X25519 failed: %v", err)
	}
	return truncateBits(secret, length)
}
