// JWTs and JWEs with jose on WebCrypto: every key operation below runs in
// cairn's crypto.subtle.
import * as jose from "jose";

const claims = { sub: "ada", role: "admin" };

// Signs a JWT with a fresh key pair of alg, verifies it, and checks that a
// token with a changed payload fails verification.
async function jwt(alg: string): Promise<string> {
  const { publicKey, privateKey } = alg.startsWith("HS")
    ? await jose.generateSecret(alg, { extractable: true }).then((k) => ({ publicKey: k, privateKey: k }))
    : await jose.generateKeyPair(alg, { extractable: true });
  const token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setIssuer("cairn")
    .setExpirationTime("2h")
    .sign(privateKey);
  const { payload, protectedHeader } = await jose.jwtVerify(token, publicKey, { issuer: "cairn" });

  // The public key travels as a JWK and verifies after import too.
  const jwk = await jose.exportJWK(publicKey);
  const imported = await jose.importJWK(jwk, alg);
  await jose.jwtVerify(token, imported);

  const [h, , s] = token.split(".");
  const forged = [h, jose.base64url.encode(JSON.stringify({ ...claims, role: "root" })), s].join(".");
  let rejected = "accepted";
  try {
    await jose.jwtVerify(forged, publicKey);
  } catch (e) {
    rejected = (e as Error & { code?: string }).code ?? String(e);
  }
  return `${protectedHeader.alg} sub=${payload.sub} role=${payload.role} kty=${jwk.kty} forged=${rejected}`;
}

// Encrypts a JWT as a JWE with alg/enc and decrypts it.
async function jwe(alg: string, enc: string): Promise<string> {
  let encryptKey: jose.CryptoKey | Uint8Array | string;
  let decryptKey: jose.CryptoKey | Uint8Array | string;
  if (alg.startsWith("PBES2")) {
    encryptKey = decryptKey = new TextEncoder().encode("correct horse battery staple");
  } else if (alg === "dir" || alg.endsWith("KW") && !alg.startsWith("ECDH")) {
    encryptKey = decryptKey = await jose.generateSecret(alg === "dir" ? enc : alg);
  } else {
    const pair = await jose.generateKeyPair(alg);
    encryptKey = pair.publicKey;
    decryptKey = pair.privateKey;
  }
  const token = await new jose.EncryptJWT(claims).setProtectedHeader({ alg, enc }).setIssuedAt().encrypt(encryptKey);
  const { payload, protectedHeader } = await jose.jwtDecrypt(token, decryptKey, { keyManagementAlgorithms: [alg] });
  return `${protectedHeader.alg}/${protectedHeader.enc} sub=${payload.sub} parts=${token.split(".").length}`;
}

// PEM round trip: SPKI and PKCS #8 export and import.
async function pem(): Promise<string> {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const spki = await jose.exportSPKI(publicKey);
  const pkcs8 = await jose.exportPKCS8(privateKey);
  const jws = await new jose.CompactSign(new TextEncoder().encode("hello"))
    .setProtectedHeader({ alg: "ES256" })
    .sign(await jose.importPKCS8(pkcs8, "ES256"));
  const { payload } = await jose.compactVerify(jws, await jose.importSPKI(spki, "ES256"));
  return `${spki.split("\n")[0]} ${pkcs8.split("\n")[0]} payload=${new TextDecoder().decode(payload)}`;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const [, kind, a, b] = url.pathname.split("/");
    try {
      switch (kind) {
        case "jwt":
          return new Response(await jwt(a));
        case "jwe":
          return new Response(await jwe(decodeURIComponent(a), b));
        case "pem":
          return new Response(await pem());
      }
      return new Response("try /jwt/RS256, /jwt/ES256, /jwt/EdDSA, /jwe/RSA-OAEP-256/A256GCM or /pem\n", { status: 404 });
    } catch (e) {
      return new Response(`error: ${(e as Error).name}: ${(e as Error).message}\n`, { status: 500 });
    }
  },
};
