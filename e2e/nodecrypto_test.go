package e2e

import (
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// node:crypto and node:zlib (issue 19) as a nodejs_compat Worker imports
// them, through the binary over HTTP: a password hash, an AES-GCM token
// sealed and opened, an RS256 signature checked, a gzip body, and
// WebCrypto's DigestStream over a request body. The values are Node.js's.
const nodeCryptoWorker = `import crypto from "node:crypto";
import { gzipSync, gunzipSync } from "node:zlib";
import { Buffer } from "node:buffer";

export default {
  async fetch(req) {
    const { pathname } = new URL(req.url);
    switch (pathname) {
      case "/scrypt":
        return new Response(crypto.scryptSync("hunter2", "salt", 16).toString("hex"));
      case "/seal": {
        const key = crypto.createHash("sha256").update("secret").digest();
        const iv = crypto.randomBytes(12);
        const c = crypto.createCipheriv("aes-256-gcm", key, iv);
        const sealed = Buffer.concat([iv, c.update(await req.text(), "utf8"), c.final(), c.getAuthTag()]);
        const d = crypto.createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
        d.setAuthTag(sealed.subarray(sealed.length - 16));
        const opened = d.update(sealed.subarray(12, sealed.length - 16), undefined, "utf8") + d.final("utf8");
        return new Response(opened + " " + (sealed.length - 28));
      }
      case "/rs256": {
        const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
        const sig = crypto.createSign("RSA-SHA256").update("payload").sign(privateKey, "base64");
        const pem = publicKey.export({ type: "spki", format: "pem" });
        return new Response(crypto.createVerify("RSA-SHA256").update("payload").verify(pem, sig, "base64") + " " + Buffer.from(sig, "base64").length);
      }
      case "/gzip":
        return new Response(gzipSync(await req.text()), { headers: { "x-plain": gunzipSync(gzipSync("round trip")).toString() } });
      case "/digest": {
        const ds = new crypto.webcrypto.DigestStream("SHA-256");
        await req.body.pipeTo(ds);
        return new Response(Buffer.from(await ds.digest).toString("hex"));
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`

func TestNodeCryptoZlib(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{ "name": "node-crypto", "main": "src/index.js", "compatibility_date": "2025-09-01", "compatibility_flags": ["nodejs_compat"] }`,
		"src/index.js":   nodeCryptoWorker,
	})
	d := startDev(t, dir, t.TempDir())
	// Node.js: crypto.scryptSync("hunter2", "salt", 16).toString("hex").
	d.expect("GET", "/scrypt", 200, "6e58e81b6514728a386750bdb102dad5")
	d.expect("GET", "/rs256", 200, "true 256")
	for _, tc := range []struct{ path, body, want string }{
		{"/seal", "attack at dawn", "attack at dawn 14"},
		{"/digest", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	} {
		if status, got := d.Do("POST", tc.path, tc.body); status != 200 || got != tc.want {
			t.Errorf("POST %s = %d %q, want %q\n%s", tc.path, status, got, tc.want, d.Logs)
		}
	}
	// What node:zlib gzips, Go's gzip reads.
	text := strings.Repeat("cairn ", 1000)
	status, got := d.Do("POST", "/gzip", text)
	if status != 200 || len(got) >= len(text)/10 {
		t.Fatalf("POST /gzip = %d, %d bytes", status, len(got))
	}
	zr, err := gzip.NewReader(strings.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != text {
		t.Errorf("gunzip of the response: %d bytes, %v", len(plain), err)
	}
}
