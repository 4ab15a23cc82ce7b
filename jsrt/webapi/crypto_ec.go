package webapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
)

// EC: ECDSA and ECDH keys on P-256, P-384 and P-521, signatures in the
// IEEE P1363 form (r ‖ s) WebCrypto uses, and ECDH key agreement. Both
// algorithms keep their keys as *ecdsa.PrivateKey / *ecdsa.PublicKey.

var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// curveName is the WebCrypto name of a Go curve.
func curveName(c elliptic.Curve) string {
	for name, cc := range curves {
		if cc == c {
			return name
		}
	}
	return ""
}

// coordSize is the byte length of a coordinate (and of r and s) on c.
func coordSize(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }

func ecUsages(name string) (public, private []string) {
	if name == "ECDH" {
		return []string{}, []string{"deriveKey", "deriveBits"}
	}
	return []string{"verify"}, []string{"sign"}
}

func ecCurve(p *algParams) (elliptic.Curve, *cryptoError) {
	c, ok := curves[p.namedCurve]
	if !ok {
		return nil, cerr(errNotSupported, "Unsupported namedCurve %q: cairn supports P-256, P-384 and P-521.", p.namedCurve)
	}
	return c, nil
}

func ecGenerate(p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoKey, *cryptoError) {
	pubU, privU := ecUsages(p.name)
	if _, err := usagesOf(usages, append(pubU, privU...)...); err != nil {
		return nil, nil, err
	}
	c, err := ecCurve(p)
	if err != nil {
		return nil, nil, err
	}
	priv, gerr := ecdsa.GenerateKey(c, rand.Reader)
	if gerr != nil {
		return nil, nil, cerr(errOperation, "EC key generation failed: %v", gerr)
	}
	alg := keyAlgorithm{name: p.name, namedCurve: p.namedCurve}
	ordered := orderUsages(usages)
	pub := &cryptoKey{kind: "public", alg: alg, extractable: true, usages: intersect(ordered, pubU...), pub: &priv.PublicKey}
	pk := &cryptoKey{kind: "private", alg: alg, extractable: extractable, usages: intersect(ordered, privU...), priv: priv, pub: &priv.PublicKey}
	return pub, pk, nil
}

func ecImport(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	pubU, privU := ecUsages(p.name)
	c, err := ecCurve(p)
	if err != nil {
		return nil, err
	}
	var pub *ecdsa.PublicKey
	var priv *ecdsa.PrivateKey
	switch format {
	case "raw", "raw-public":
		if _, err := usagesOf(usages, pubU...); err != nil {
			return nil, err
		}
		if pub, err = ecPoint(c, raw); err != nil {
			return nil, err
		}
	case "spki":
		if _, err := usagesOf(usages, pubU...); err != nil {
			return nil, err
		}
		k, perr := x509.ParsePKIXPublicKey(raw)
		if perr != nil {
			// Go's parser takes uncompressed points only.
			if pub, err = ecCompressedSPKI(raw); err != nil {
				return nil, cerr(errData, "Invalid SPKI EC public key: %v", perr)
			}
			break
		}
		var ok bool
		if pub, ok = k.(*ecdsa.PublicKey); !ok {
			return nil, cerr(errData, "The SPKI key is not an EC key.")
		}
	case "pkcs8":
		if _, err := usagesOf(usages, privU...); err != nil {
			return nil, err
		}
		k, perr := x509.ParsePKCS8PrivateKey(raw)
		if perr != nil {
			return nil, cerr(errData, "Invalid PKCS #8 EC private key: %v", perr)
		}
		var ok bool
		if priv, ok = k.(*ecdsa.PrivateKey); !ok {
			return nil, cerr(errData, "The PKCS #8 key is not an EC key.")
		}
		pub = &priv.PublicKey
	case "jwk":
		if pub, priv, err = ecFromJWK(j, p, c, usages, extractable); err != nil {
			return nil, err
		}
	default:
		return nil, unsupportedFormat(format, p.name)
	}
	if pub.Curve != c {
		return nil, cerr(errData, "The key is on %s, not %s.", curveName(pub.Curve), p.namedCurve)
	}
	alg := keyAlgorithm{name: p.name, namedCurve: p.namedCurve}
	if priv != nil {
		u, err := usagesOf(usages, privU...)
		if err != nil {
			return nil, err
		}
		return &cryptoKey{kind: "private", alg: alg, extractable: extractable, usages: u, priv: priv, pub: pub}, nil
	}
	u, err := usagesOf(usages, pubU...)
	if err != nil {
		return nil, err
	}
	return &cryptoKey{kind: "public", alg: alg, extractable: extractable, usages: u, pub: pub}, nil
}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	curveOIDs      = map[string]elliptic.Curve{
		"1.2.840.10045.3.1.7": elliptic.P256(),
		"1.3.132.0.34":        elliptic.P384(),
		"1.3.132.0.35":        elliptic.P521(),
	}
)

// ecCompressedSPKI parses a SubjectPublicKeyInfo of an EC key whose point
// is compressed.
func ecCompressedSPKI(der []byte) (*ecdsa.PublicKey, *cryptoError) {
	var spki struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.ObjectIdentifier
		}
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 || !spki.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, cerr(errData, "Invalid SPKI EC public key.")
	}
	c, ok := curveOIDs[spki.Algorithm.Parameters.String()]
	if !ok {
		return nil, cerr(errData, "Unsupported SPKI EC curve.")
	}
	b := spki.PublicKey.RightAlign()
	if len(b) == 0 || (b[0] != 2 && b[0] != 3) {
		return nil, cerr(errData, "Invalid SPKI EC point.")
	}
	return ecPoint(c, b)
}

// ecPoint parses an uncompressed or compressed point on c.
func ecPoint(c elliptic.Curve, b []byte) (*ecdsa.PublicKey, *cryptoError) {
	if len(b) > 0 && (b[0] == 2 || b[0] == 3) {
		x, y := elliptic.UnmarshalCompressed(c, b)
		if x == nil {
			return nil, cerr(errData, "Invalid compressed EC point.")
		}
		return &ecdsa.PublicKey{Curve: c, X: x, Y: y}, nil
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(c, b)
	if err != nil {
		return nil, cerr(errData, "Invalid EC point: %v", err)
	}
	return pub, nil
}

func ecFromJWK(j *jwk, p *algParams, c elliptic.Curve, usages []string, extractable bool) (*ecdsa.PublicKey, *ecdsa.PrivateKey, *cryptoError) {
	pubU, privU := ecUsages(p.name)
	allowed := pubU
	if j.has("d") {
		allowed = privU
	}
	if _, err := usagesOf(usages, allowed...); err != nil {
		return nil, nil, err
	}
	use := "sig"
	if p.name == "ECDH" {
		use = "enc"
	}
	if err := j.check("EC", use, usages, extractable); err != nil {
		return nil, nil, err
	}
	if j.get("crv") != p.namedCurve {
		return nil, nil, cerr(errData, "The JWK crv %q does not match namedCurve %s.", j.get("crv"), p.namedCurve)
	}
	if p.name == "ECDSA" && j.has("alg") {
		want := map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[p.namedCurve]
		if j.get("alg") != want {
			return nil, nil, cerr(errData, "The JWK alg %q does not match ECDSA on %s.", j.get("alg"), p.namedCurve)
		}
	}
	n := coordSize(c)
	x, err := j.bytes("x")
	if err != nil {
		return nil, nil, err
	}
	y, err := j.bytes("y")
	if err != nil {
		return nil, nil, err
	}
	if len(x) != n || len(y) != n {
		return nil, nil, cerr(errData, "The JWK coordinates must be %d bytes.", n)
	}
	pub, err := ecPoint(c, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, nil, err
	}
	if !j.has("d") {
		return pub, nil, nil
	}
	d, err := j.bytes("d")
	if err != nil {
		return nil, nil, err
	}
	if len(d) != n {
		return nil, nil, cerr(errData, "The JWK member d must be %d bytes.", n)
	}
	priv, perr := ecdsa.ParseRawPrivateKey(c, d)
	if perr != nil {
		return nil, nil, cerr(errData, "Invalid EC private key: %v", perr)
	}
	if priv.X.Cmp(pub.X) != 0 || priv.Y.Cmp(pub.Y) != 0 {
		return nil, nil, cerr(errData, "The JWK private key does not match its public key.")
	}
	return pub, priv, nil
}

func ecExport(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	pub := k.pub.(*ecdsa.PublicKey)
	switch format {
	case "raw", "raw-public":
		if k.kind != "public" {
			return nil, nil, cerr(errInvalidAccess, "Only public keys export as raw.")
		}
		b, err := pub.Bytes()
		if err != nil {
			return nil, nil, cerr(errOperation, "%v", err)
		}
		return b, nil, nil
	case "spki", "pkcs8":
		b, err := exportDER(format, k)
		return b, nil, err
	case "jwk":
		n := coordSize(pub.Curve)
		j := &jwkOut{}
		j.set("kty", "EC")
		j.set("crv", k.alg.namedCurve)
		j.setBytes("x", pub.X.FillBytes(make([]byte, n)))
		j.setBytes("y", pub.Y.FillBytes(make([]byte, n)))
		if priv, ok := k.priv.(*ecdsa.PrivateKey); ok && k.kind == "private" {
			j.setBytes("d", priv.D.FillBytes(make([]byte, n)))
		}
		return nil, j, nil
	}
	return nil, nil, unsupportedFormat(format, k.alg.name)
}

func ecdsaSign(p *algParams, k *cryptoKey, data []byte) ([]byte, *cryptoError) {
	priv, ok := k.priv.(*ecdsa.PrivateKey)
	if !ok || k.kind != "private" {
		return nil, cerr(errInvalidAccess, "Signing needs a private key.")
	}
	r, s, err := ecdsa.Sign(rand.Reader, priv, hashOf(p.hash, data))
	if err != nil {
		return nil, cerr(errOperation, "ECDSA signing failed: %v", err)
	}
	n := coordSize(priv.Curve)
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}

func ecdsaVerify(p *algParams, k *cryptoKey, sig, data []byte) (bool, *cryptoError) {
	if k.kind != "public" {
		return false, cerr(errInvalidAccess, "Verifying needs a public key.")
	}
	pub := k.pub.(*ecdsa.PublicKey)
	n := coordSize(pub.Curve)
	if len(sig) != 2*n {
		return false, nil
	}
	r := new(big.Int).SetBytes(sig[:n])
	s := new(big.Int).SetBytes(sig[n:])
	return ecdsa.Verify(pub, hashOf(p.hash, data), r, s), nil
}

func ecdhDerive(p *algParams, k *cryptoKey, length *int) ([]byte, *cryptoError) {
	if k.kind != "private" {
		return nil, cerr(errInvalidAccess, "ECDH needs a private key to derive from.")
	}
	pk := p.public
	if pk.kind != "public" {
		return nil, cerr(errInvalidAccess, "The ECDH public member must be a public key.")
	}
	if pk.alg.name != k.alg.name {
		return nil, cerr(errInvalidAccess, "The ECDH public key is a %s key.", pk.alg.name)
	}
	if pk.alg.namedCurve != k.alg.namedCurve {
		return nil, cerr(errInvalidAccess, "The ECDH public key is on %s, not %s.", pk.alg.namedCurve, k.alg.namedCurve)
	}
	priv, err := k.priv.(*ecdsa.PrivateKey).ECDH()
	if err != nil {
		return nil, cerr(errOperation, "%v", err)
	}
	pub, err := pk.pub.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		return nil, cerr(errOperation, "%v", err)
	}
	secret, err := priv.ECDH(pub)
	if err != nil {
		return nil, cerr(errOperation, "ECDH failed: %v", err)
	}
	return truncateBits(secret, length)
}
