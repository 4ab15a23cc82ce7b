package webapi

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// scryptKey derives keyLen bytes from password and salt with scrypt
// (RFC 7914), the cost parameters already checked: N a power of two > 1,
// r·p < 2³⁰.
func scryptKey(password, salt []byte, N, r, p, keyLen int) []byte {
	b, _ := pbkdf2.Key(sha256.New, string(password), salt, 1, p*128*r)
	x := make([]uint32, 32*r)
	v := make([]uint32, 32*r*N)
	t := make([]uint32, 32*r)
	for i := range p {
		blk := b[i*128*r : (i+1)*128*r]
		for j := range x {
			x[j] = binary.LittleEndian.Uint32(blk[4*j:])
		}
		// ROMix.
		for k := range N {
			copy(v[k*32*r:], x)
			blockMix(x, t, r)
		}
		for range N {
			j := int(x[(2*r-1)*16]) & (N - 1)
			for m := range x {
				x[m] ^= v[j*32*r+m]
			}
			blockMix(x, t, r)
		}
		for j := range x {
			binary.LittleEndian.PutUint32(blk[4*j:], x[j])
		}
	}
	out, _ := pbkdf2.Key(sha256.New, string(password), b, 1, keyLen)
	return out
}

// blockMix is scrypt's BlockMix with Salsa20/8 over 2r 64-byte blocks of
// b, using tmp as scratch.
func blockMix(b, tmp []uint32, r int) {
	var x [16]uint32
	copy(x[:], b[(2*r-1)*16:])
	for i := range 2 * r {
		for j := range 16 {
			x[j] ^= b[i*16+j]
		}
		salsa8(&x)
		// Even blocks go to the first half, odd ones to the second.
		dst := (i/2 + (i%2)*r) * 16
		copy(tmp[dst:dst+16], x[:])
	}
	copy(b, tmp)
}

// salsa8 is the Salsa20/8 core.
func salsa8(b *[16]uint32) {
	x := *b
	for range 4 {
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)
		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := range b {
		b[i] += x[i]
	}
}
