// Package bundle turns a Worker's entry module and its node_modules into one
// CommonJS script with an inline source map, using esbuild's Go API in-process.
//
// The output is lowered to the syntax the JS engine (goja) parses, and imports of
// runtime-provided modules ("cloudflare:workers", "node:*") are left as require
// calls for the runtime to satisfy. A bundle with a computed import() also lists
// its modules by name, for the runtime to resolve relative specifiers (modules.go).
package bundle
