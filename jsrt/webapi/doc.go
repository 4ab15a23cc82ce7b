// Package webapi owns the Web APIs that a Worker runtime implements in Go:
// UTF-8 encoding and decoding (TextEncoder, TextDecoder) with atob and btoa,
// WebCrypto (crypto*.go: one file per algorithm family, key material kept
// in Go behind opaque CryptoKey handles), the natives of node:crypto
// (crypto_node*.go) and node:zlib (zlib.go), and the sinks of
// console and performance with the async context behind AsyncLocalStorage. InstallJSON bounds the nesting depth of JSON.parse and
// JSON.stringify, whose goja implementations recurse on the Go stack.
//
// Each Install function defines plain functions ("natives") on an object
// that package jsrt hides from scripts as the global __cairn; jsrt's JS
// prelude builds the standard classes (TextDecoder, SubtleCrypto,
// console, …) on top of them. The natives take and return plain values and
// ArrayBuffers, and throw TypeErrors or DOMExceptions (the prelude's, or an
// Error of that name before it loads) as the Web APIs specify. The Install
// functions run before the prelude, on the goroutine that owns the runtime.
//
// ViewBytes, EncodeUTF8 and DecodeUTF8 are exported for other natives that
// take buffers and text the same way (jsrt's KV binding).
package webapi
