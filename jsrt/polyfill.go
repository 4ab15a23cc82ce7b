package jsrt

// The standard built-ins goja lacks come from core-js, bundled at build time
// into prelude/01_polyfill.js; see polyfill/entry.js for the list.
//go:generate go run ./polyfill/gen.go
