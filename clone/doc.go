// Package clone is cairn's structured-clone encoding: the bytes Durable
// Object KV values are stored as, and the payload of structuredClone and of
// JS RPC. It imports no JS engine. Package jsrt/jsclone encodes and
// decodes JS values with the Writer and Reader defined here; Marshal and
// Unmarshal do the same for Go values, so Go code (a Durable Object
// written in Go) reads and writes the bytes JS code does.
//
// # Format
//
// The encoding is stable: data written by one version of cairn must stay
// readable by every later one, so change it only by adding tags or bumping
// the version byte (and keep reading version 1). The files in testdata
// freeze it: the encodings of a corpus of JS values, which jsclone's
// TestCloneGolden checks the JS encoder still writes and reads, and
// TestUnmarshalGolden here reads into Go values. Add files; never change
// or remove one.
//
//	value    = version(1) item
//	item     = tag payload
//	'u' undefined | 'n' null | 't' true | 'f' false
//	'i' zigzag varint                  integer number in ±2^53 (not -0)
//	'd' float64 little-endian          any other number (NaN, -0, fractions)
//	'g' sign(0|1) varint(n) n bytes    BigInt, magnitude big-endian
//	's' varint(n) n bytes              string, UTF-8
//	'w' varint(n) n × uint16 LE        string holding a lone surrogate, as raw
//	                                   UTF-16 code units (n counts units)
//	'D' float64                        Date (ms since epoch; NaN if invalid)
//	'R' string string                  RegExp source, flags
//	'o' varint(n) n × (string item)    object: own enumerable string keys, in
//	                                   order (any prototype; read back as a
//	                                   plain object, as structuredClone does)
//	'a' varint(n) n × item             array: indices 0…length-1 (holes read
//	                                   back as undefined; other props dropped)
//	'M' varint(n) n × (item item)      Map
//	'S' varint(n) n × item             Set
//	'B' varint(n) n bytes              ArrayBuffer
//	'V' string item varint varint      view: constructor name, its buffer (an
//	                                   item, so shared buffers stay shared),
//	                                   byte offset, length (elements; bytes for DataView)
//	'E' string string string           Error: name, message, stack (the
//	                                   constructor is the built-in error type
//	                                   of that name, else Error; an
//	                                   AggregateError's errors are dropped)
//	'P' item                           String/Number/Boolean/BigInt wrapper
//	                                   object around the primitive item
//	'r' varint(k)                      the k-th object already read (cycles, shared refs)
//	'X' varint(id)                     RPC only, never stored: a function, RpcTarget or
//	                                   stub passed by reference (capability id)
//	'H' string item                    RPC only, never stored: a platform object
//	                                   (Request, Response, Headers, URL) by its kind
//	                                   and a payload item of plain data
//
// A "string" above is 's'-less: varint(n) n bytes. Every tag but the
// primitives (u n t f i d g s w) and 'r' is an object; objects are numbered
// from 0 in the order their tag is written, so a back-reference can point at
// an object still being read (a cycle). The buffer of a view ('V') is read
// after the view is numbered, and a wrapper ('P') and a platform object
// ('H') are numbered before their payload, but none of them can be referred
// to until it is complete. Functions,
// symbols, Promises, WeakMaps, WeakSets, WeakRefs, iterators and generators
// are refused with a CloneError.
//
// Strings are UTF-8 ('s') unless they hold a lone surrogate, which UTF-8
// cannot carry: those are written as UTF-16 ('w') so they round-trip
// exactly. Object keys are always UTF-8 (a lone surrogate in a key reads
// back as U+FFFD).
//
// Decoders never panic: truncated or corrupt input, unknown tags, lengths
// larger than the input, back-references to objects not yet read, nesting
// deeper than MaxDepth, and trailing bytes are all errors (ErrCorrupt).
//
// # Go values
//
// Marshal and Unmarshal stand for JS values with Go ones: nil for null,
// Undefined, bool, float64, string, *big.Int, time.Time, []byte, View,
// []any, map[string]any, Map, Set, *Error, RegExp and Wrapper. Their
// documentation lists the mapping each way.
package clone
