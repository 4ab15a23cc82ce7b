package webapi

import (
	"encoding/hex"
	"reflect"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3394 section 4 test vectors.
func TestAESKeyWrap(t *testing.T) {
	for _, tc := range []struct{ name, kek, data, wrapped string }{
		{"4.1 128-bit KEK, 128-bit data", "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"4.2 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"4.5 256-bit KEK, 192-bit data", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF0001020304050607", "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
		{"4.6 256-bit KEK, 256-bit data", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kek, data, want := unhex(t, tc.kek), unhex(t, tc.data), unhex(t, tc.wrapped)
			got, err := aesKWWrap(kek, data)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("wrap = %x, %v; want %x", got, err, want)
			}
			back, err := aesKWUnwrap(kek, got)
			if err != nil || !reflect.DeepEqual(back, data) {
				t.Fatalf("unwrap = %x, %v; want %x", back, err, data)
			}
			got[len(got)-1] ^= 1
			if _, err := aesKWUnwrap(kek, got); err == nil || err.name != errOperation {
				t.Errorf("unwrap of tampered data = %v, want an OperationError", err)
			}
		})
	}
	if _, err := aesKWWrap(make([]byte, 16), make([]byte, 12)); err == nil || err.name != errOperation {
		t.Errorf("wrap of 12 bytes = %v, want an OperationError", err)
	}
}

func TestTruncateBits(t *testing.T) {
	n := func(i int) *int { return &i }
	secret := []byte{0xff, 0xff, 0xff}
	for _, tc := range []struct {
		length *int
		want   []byte
		err    bool
	}{
		{nil, []byte{0xff, 0xff, 0xff}, false},
		{n(0), []byte{}, false},
		{n(8), []byte{0xff}, false},
		{n(12), []byte{0xff, 0xf0}, false},
		{n(23), []byte{0xff, 0xff, 0xfe}, false},
		{n(24), []byte{0xff, 0xff, 0xff}, false},
		{n(25), nil, true},
	} {
		got, err := truncateBits(secret, tc.length)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("truncateBits(%v) = %x, %v; want %x (error %v)", tc.length, got, err, tc.want, tc.err)
		}
	}
}

func TestUsagesOf(t *testing.T) {
	for _, tc := range []struct {
		in, allowed, want []string
		err               string
	}{
		{[]string{"verify", "sign", "sign"}, []string{"sign", "verify"}, []string{"sign", "verify"}, ""},
		{[]string{}, []string{"sign"}, []string{}, ""},
		{[]string{"encrypt"}, []string{"sign"}, nil, errSyntax},
		{[]string{"fly"}, []string{"sign"}, nil, errType},
	} {
		got, err := usagesOf(tc.in, tc.allowed...)
		name := ""
		if err != nil {
			name = err.name
		}
		if name != tc.err || (tc.err == "" && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("usagesOf(%v, %v) = %v, %v; want %v, %q", tc.in, tc.allowed, got, err, tc.want, tc.err)
		}
	}
}

func TestNodeHashName(t *testing.T) {
	for in, want := range map[string]string{"SHA256": "sha256", "sha-256": "sha256", "RSA-SHA512": "sha512", "sha3-256": "sha3-256", "md5": "md5"} {
		if got := nodeHashName(in); got != want {
			t.Errorf("nodeHashName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEd25519SmallOrder(t *testing.T) {
	for _, tc := range []struct {
		name, point string
		small       bool
	}{
		{"identity", "0100000000000000000000000000000000000000000000000000000000000000", true},
		{"order 2 (y = p-1)", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true},
		{"order 4 (y = 0, x odd)", "0000000000000000000000000000000000000000000000000000000000000080", true},
		{"order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", true},
		{"order 8, the other y", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", true},
		{"identity, non-canonical y = p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true},
		{"RFC 8032 test 1 public key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", false},
	} {
		if got := ed25519SmallOrder(unhex(t, tc.point)); got != tc.small {
			t.Errorf("%s: ed25519SmallOrder = %v, want %v", tc.name, got, tc.small)
		}
	}
}
