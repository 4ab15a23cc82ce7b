package webapi

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"slices"
	"strings"
)

// HMAC keys and MACs, and the key derivations HKDF and PBKDF2.

// hashBlockBits is the block size of a hash, HMAC's default key length.
func hashBlockBits(hash string) int {
	if hash == "SHA-384" || hash == "SHA-512" {
		return 1024
	}
	return 512
}

// hmacJWKAlg is the JWK "alg" of an HMAC key with hash.
func hmacJWKAlg(hash string) string {
	return "HS" + strings.TrimPrefix(hash, "SHA-")
}

func hmacGenerate(p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	u, err := usagesOf(usages, "sign", "verify")
	if err != nil {
		return nil, err
	}
	length := hashBlockBits(p.hash)
	if p.hasLength {
		if p.length == 0 {
			return nil, cerr(errOperation, "HMAC key length must not be zero.")
		}
		length = p.length
	}
	secret := make([]byte, (length+7)/8)
	_, _ = rand.Read(secret)
	if r := length % 8; r != 0 {
		secret[len(secret)-1] &= byte(0xff << (8 - r))
	}
	return &cryptoKey{kind: "secret", alg: keyAlgorithm{name: "HMAC", hash: p.hash, length: length}, extractable: extractable, usages: u, secret: secret}, nil
}

func hmacImport(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	u, err := usagesOf(usages, "sign", "verify")
	if err != nil {
		return nil, err
	}
	switch format {
	case "raw", "raw-secret":
	case "jwk":
		if err := j.check("oct", "sig", u, extractable); err != nil {
			return nil, err
		}
		if raw, err = j.bytes("k"); err != nil {
			return nil, err
		}
		if j.has("alg") && j.get("alg") != hmacJWKAlg(p.hash) {
			return nil, cerr(errData, "The JWK alg %q does not match HMAC with %s.", j.get("alg"), p.hash)
		}
	default:
		return nil, unsupportedFormat(format, "HMAC")
	}
	if len(raw) == 0 {
		return nil, cerr(errData, "HMAC key data must not be empty.")
	}
	length := len(raw) * 8
	if p.hasLength {
		if p.length > length || p.length <= length-8 {
			return nil, cerr(errData, "HMAC length %d does not match the %d-bit key data.", p.length, length)
		}
		length = p.length
	}
	return &cryptoKey{kind: "secret", alg: keyAlgorithm{name: "HMAC", hash: p.hash, length: length}, extractable: extractable, usages: u, secret: raw}, nil
}

func hmacExport(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	switch format {
	case "raw", "raw-secret":
		return slices.Clone(k.secret), nil, nil
	case "jwk":
		j := &jwkOut{}
		j.set("kty", "oct")
		j.setBytes("k", k.secret)
		j.set("alg", hmacJWKAlg(k.alg.hash))
		return nil, j, nil
	}
	return nil, nil, unsupportedFormat(format, "HMAC")
}

func hmacSign(k *cryptoKey, data []byte) ([]byte, *cryptoError) {
	m := hmac.New(hashes[k.alg.hash], k.secret)
	m.Write(data)
	return m.Sum(nil), nil
}

func hmacVerify(k *cryptoKey, sig, data []byte) (bool, *cryptoError) {
	mac, _ := hmacSign(k, data)
	return constantTimeEqual(mac, sig), nil
}

// kdfImport imports the secret of HKDF or PBKDF2: raw only, never
// extractable, for derivation only.
func kdfImport(format string, raw []byte, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	u, err := usagesOf(usages, "deriveKey", "deriveBits")
	if err != nil {
		return nil, err
	}
	if format != "raw" && format != "raw-secret" {
		return nil, unsupportedFormat(format, p.name)
	}
	if extractable {
		return nil, cerr(errSyntax, "%s keys cannot be extractable.", p.name)
	}
	return &cryptoKey{kind: "secret", alg: keyAlgorithm{name: p.name}, usages: u, secret: raw}, nil
}

// maxPBKDF2Iterations bounds the work of one deriveBits call, as on
// Cloudflare (whose limit it is): the derivation runs on the runtime's
// thread and cannot be interrupted.
const maxPBKDF2Iterations = 100000

// kdfLength checks the bit length asked of HKDF or PBKDF2.
func kdfLength(name string, length *int) (int, *cryptoError) {
	if length == nil {
		return 0, cerr(errOperation, "%s needs a length.", name)
	}
	if *length%8 != 0 {
		return 0, cerr(errOperation, "%s length must be a multiple of 8, not %d.", name, *length)
	}
	return *length / 8, nil
}

func hkdfDerive(p *algParams, k *cryptoKey, length *int) ([]byte, *cryptoError) {
	n, err := kdfLength("HKDF", length)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []byte{}, nil
	}
	out, kerr := hkdf.Key(hashes[p.hash], k.secret, p.salt, string(p.info), n)
	if kerr != nil {
		return nil, cerr(errOperation, "HKDF: %v", kerr)
	}
	return out, nil
}

func pbkdf2Derive(p *algParams, k *cryptoKey, length *int) ([]byte, *cryptoError) {
	n, err := kdfLength("PBKDF2", length)
	if err != nil {
		return nil, err
	}
	if p.iterations == 0 {
		return nil, cerr(errOperation, "PBKDF2 iterations must not be zero.")
	}
	if p.iterations > maxPBKDF2Iterations {
		return nil, cerr(errNotSupported, "PBKDF2 with more than %d iterations is not supported.", maxPBKDF2Iterations)
	}
	if n == 0 {
		return []byte{}, nil
	}
	out, kerr := pbkdf2.Key(hashes[p.hash], string(k.secret), p.salt, p.iterations, n)
	if kerr != nil {
		return nil, cerr(errOperation, "PBKDF2: %v", kerr)
	}
	return out, nil
}
