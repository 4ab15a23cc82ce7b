package webapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"math/big"
	"slices"
	"strconv"
)

// AES: AES-CTR, AES-CBC, AES-GCM and AES-KW keys and ciphers.

// aesJWKSuffix is the JWK "alg" suffix of each AES mode (A128GCM, …).
var aesJWKSuffix = map[string]string{"AES-CTR": "CTR", "AES-CBC": "CBC", "AES-GCM": "GCM", "AES-KW": "KW"}

func aesUsages(name string) []string {
	if name == "AES-KW" {
		return []string{"wrapKey", "unwrapKey"}
	}
	return []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
}

func newSecretKey(name string, secret []byte, extractable bool, usages []string) *cryptoKey {
	return &cryptoKey{kind: "secret", alg: keyAlgorithm{name: name, length: len(secret) * 8}, extractable: extractable, usages: usages, secret: secret}
}

func aesGenerate(p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	u, err := usagesOf(usages, aesUsages(p.name)...)
	if err != nil {
		return nil, err
	}
	if p.length != 128 && p.length != 192 && p.length != 256 {
		return nil, cerr(errOperation, "AES key length must be 128, 192 or 256 bits.")
	}
	secret := make([]byte, p.length/8)
	_, _ = rand.Read(secret)
	return newSecretKey(p.name, secret, extractable, u), nil
}

func aesImport(format string, raw []byte, j *jwk, p *algParams, extractable bool, usages []string) (*cryptoKey, *cryptoError) {
	u, err := usagesOf(usages, aesUsages(p.name)...)
	if err != nil {
		return nil, err
	}
	switch format {
	case "raw", "raw-secret":
	case "jwk":
		if err := j.check("oct", "enc", u, extractable); err != nil {
			return nil, err
		}
		if raw, err = j.bytes("k"); err != nil {
			return nil, err
		}
		if j.has("alg") && j.get("alg") != "A"+strconv.Itoa(len(raw)*8)+aesJWKSuffix[p.name] {
			return nil, cerr(errData, "The JWK alg %q does not match a %d-bit %s key.", j.get("alg"), len(raw)*8, p.name)
		}
	default:
		return nil, unsupportedFormat(format, p.name)
	}
	if n := len(raw); n != 16 && n != 24 && n != 32 {
		return nil, cerr(errData, "AES key data must be 128, 192 or 256 bits, not %d.", n*8)
	}
	return newSecretKey(p.name, raw, extractable, u), nil
}

func aesExport(format string, k *cryptoKey) ([]byte, *jwkOut, *cryptoError) {
	switch format {
	case "raw", "raw-secret":
		return slices.Clone(k.secret), nil, nil
	case "jwk":
		j := &jwkOut{}
		j.set("kty", "oct")
		j.setBytes("k", k.secret)
		j.set("alg", "A"+strconv.Itoa(len(k.secret)*8)+aesJWKSuffix[k.alg.name])
		return nil, j, nil
	}
	return nil, nil, unsupportedFormat(format, k.alg.name)
}

func aesBlock(key []byte) (cipher.Block, *cryptoError) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, cerr(errOperation, "Invalid AES key.")
	}
	return b, nil
}

// aesCBC encrypts with PKCS#7 padding, or decrypts and removes it.
func aesCBC(p *algParams, key, data []byte, enc bool) ([]byte, *cryptoError) {
	if len(p.iv) != 16 {
		return nil, cerr(errOperation, "AES-CBC iv must be 16 bytes, not %d.", len(p.iv))
	}
	block, err := aesBlock(key)
	if err != nil {
		return nil, err
	}
	if enc {
		pad := 16 - len(data)%16
		buf := make([]byte, len(data)+pad)
		copy(buf, data)
		for i := len(data); i < len(buf); i++ {
			buf[i] = byte(pad)
		}
		cipher.NewCBCEncrypter(block, p.iv).CryptBlocks(buf, buf)
		return buf, nil
	}
	if len(data) == 0 || len(data)%16 != 0 {
		return nil, cerr(errOperation, "AES-CBC ciphertext must be a non-empty multiple of 16 bytes.")
	}
	buf := slices.Clone(data)
	cipher.NewCBCDecrypter(block, p.iv).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > 16 {
		return nil, cerr(errOperation, "Decryption failed: bad padding.")
	}
	bad := 0
	for _, b := range buf[len(buf)-pad:] {
		bad |= int(b) ^ pad
	}
	if bad != 0 {
		return nil, cerr(errOperation, "Decryption failed: bad padding.")
	}
	return buf[:len(buf)-pad], nil
}

// aesCTR runs AES in counter mode where only the rightmost p.length bits
// of the counter block count (and wrap); the rest is a fixed nonce.
func aesCTR(p *algParams, key, data []byte) ([]byte, *cryptoError) {
	if len(p.counter) != 16 {
		return nil, cerr(errOperation, "AES-CTR counter must be 16 bytes, not %d.", len(p.counter))
	}
	if p.length == 0 || p.length > 128 {
		return nil, cerr(errOperation, "AES-CTR length must be between 1 and 128 bits, not %d.", p.length)
	}
	blocks := (len(data) + 15) / 16
	if p.length < 64 && uint64(blocks) > uint64(1)<<p.length {
		return nil, cerr(errOperation, "The data is too long for a %d-bit AES-CTR counter.", p.length)
	}
	block, err := aesBlock(key)
	if err != nil {
		return nil, err
	}
	ctr := new(big.Int).SetBytes(p.counter)
	mod := new(big.Int).Lsh(big.NewInt(1), uint(p.length))
	low := new(big.Int).Mod(ctr, mod)
	high := new(big.Int).Sub(ctr, low)
	out := make([]byte, len(data))
	var cb, ks [16]byte
	one := big.NewInt(1)
	for i := 0; i < len(data); i += 16 {
		v := new(big.Int).Add(high, low)
		vb := v.Bytes()
		clear(cb[:])
		copy(cb[16-len(vb):], vb)
		block.Encrypt(ks[:], cb[:])
		n := min(16, len(data)-i)
		subtle.XORBytes(out[i:i+n], data[i:i+n], ks[:n])
		low.Add(low, one)
		if low.Cmp(mod) == 0 {
			low.SetInt64(0)
		}
	}
	return out, nil
}

// aesGCMOp encrypts (ciphertext ‖ tag) or decrypts with AES-GCM.
func aesGCMOp(p *algParams, key, data []byte, enc bool) ([]byte, *cryptoError) {
	tag := 128
	if p.hasTagLength {
		tag = p.tagLength
	}
	if enc && uint64(len(data)) > (1<<39-256)/8 {
		return nil, cerr(errOperation, "The plaintext is too long for AES-GCM.")
	}
	out, err := aesGCM(enc, key, p.iv, data, p.additionalData, tag)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// aesKWIV is RFC 3394's default initial value.
var aesKWIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// aesKWWrap wraps data (a multiple of 8 bytes, at least 16) with the key
// wrap algorithm of RFC 3394.
func aesKWWrap(key, data []byte) ([]byte, *cryptoError) {
	if len(data) < 16 || len(data)%8 != 0 {
		return nil, cerr(errOperation, "AES-KW can only wrap data of at least 16 bytes in multiples of 8, not %d bytes.", len(data))
	}
	block, err := aesBlock(key)
	if err != nil {
		return nil, err
	}
	n := len(data) / 8
	out := make([]byte, 8+len(data))
	copy(out[8:], data)
	a := aesKWIV
	var b [16]byte
	for j := range 6 {
		for i := 1; i <= n; i++ {
			copy(b[:8], a[:])
			copy(b[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:], b[8:])
		}
	}
	copy(out[:8], a[:])
	return out, nil
}

// aesKWUnwrap reverses aesKWWrap and checks the integrity value.
func aesKWUnwrap(key, data []byte) ([]byte, *cryptoError) {
	if len(data) < 24 || len(data)%8 != 0 {
		return nil, cerr(errOperation, "AES-KW wrapped data must be at least 24 bytes in multiples of 8, not %d bytes.", len(data))
	}
	block, err := aesBlock(key)
	if err != nil {
		return nil, err
	}
	n := len(data)/8 - 1
	out := slices.Clone(data)
	var a [8]byte
	copy(a[:], out[:8])
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(b[8:], out[8*i:8*i+8])
			block.Decrypt(b[:], b[:])
			copy(a[:], b[:8])
			copy(out[8*i:], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], aesKWIV[:]) != 1 {
		return nil, cerr(errOperation, "AES-KW unwrap failed: the integrity check does not match.")
	}
	return out[8:], nil
}
