// Package jsclone converts between goja values and the structured-clone
// format of package clone: it owns the walker over JS values that writes
// and reads those bytes, used for Durable Object KV values, structuredClone
// and the payloads of JS RPC. Package clone owns the format itself (tags,
// byte layout, the golden files that freeze it) and the same conversion
// for Go values.
//
// Serialize and Deserialize convert one value. SerializeRefs and
// DeserializeRefs do the same for an RPC payload, where a Refs passes
// functions and other objects by reference as capabilities. Values that
// cannot be cloned (functions, symbols, Promises, WeakMaps, …) are a
// *clone.CloneError; input Serialize did not write is clone.ErrCorrupt, and
// Deserialize never panics on it.
//
// Install defines the natives serialize and deserialize, which package
// jsrt hands its prelude on the hidden global __cairn, and the global
// structuredClone; Exception turns their errors into what JS code catches,
// a DOMException named DataCloneError. Everything here runs on the
// goroutine that owns the goja.Runtime.
package jsclone
