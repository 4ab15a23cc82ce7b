package e2e

import (
	"strings"
	"testing"
)

// jose, the JWT/JWS/JWE library most Worker auth code uses, unchanged on
// cairn's WebCrypto (issue 19): JWTs signed and verified with RSA, ECDSA,
// EdDSA and HMAC keys (a forged payload fails), JWEs with RSA-OAEP, ECDH-ES,
// AES-KW, AES-GCM-KW, PBES2 and direct keys, and PEM (SPKI, PKCS #8) round
// trips. The test installs examples/jose's pinned packages with npm ci.
func TestJoseExample(t *testing.T) {
	dir := installExample(t, "jose")
	d := startDev(t, dir, t.TempDir())

	const forged = "forged=ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
	for _, tc := range []struct{ path, want string }{
		{"/jwt/RS256", "RS256 sub=ada role=admin kty=RSA " + forged},
		{"/jwt/ES256", "ES256 sub=ada role=admin kty=EC " + forged},
		{"/jwt/EdDSA", "EdDSA sub=ada role=admin kty=OKP " + forged},
		{"/jwt/PS384", "PS384 sub=ada role=admin kty=RSA " + forged},
		{"/jwt/ES512", "ES512 sub=ada role=admin kty=EC " + forged},
		{"/jwt/HS256", "HS256 sub=ada role=admin kty=oct " + forged},
		{"/jwe/RSA-OAEP-256/A256GCM", "RSA-OAEP-256/A256GCM sub=ada parts=5"},
		{"/jwe/ECDH-ES+A128KW/A128CBC-HS256", "ECDH-ES+A128KW/A128CBC-HS256 sub=ada parts=5"},
		{"/jwe/ECDH-ES/A256GCM", "ECDH-ES/A256GCM sub=ada parts=5"},
		{"/jwe/A256KW/A192GCM", "A256KW/A192GCM sub=ada parts=5"},
		{"/jwe/A128GCMKW/A128GCM", "A128GCMKW/A128GCM sub=ada parts=5"},
		{"/jwe/PBES2-HS256+A128KW/A256GCM", "PBES2-HS256+A128KW/A256GCM sub=ada parts=5"},
		{"/jwe/dir/A256CBC-HS512", "dir/A256CBC-HS512 sub=ada parts=5"},
		{"/pem", "-----BEGIN PUBLIC KEY----- -----BEGIN PRIVATE KEY----- payload=hello"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			status, got := d.Get(tc.path)
			if status != 200 || got != tc.want {
				t.Errorf("GET %s = %d %q, want %q\n%s", tc.path, status, got, tc.want, d.Logs)
			}
		})
	}
}
