// Package jsrt hosts Worker JavaScript on the goja engine: an event loop per
// runtime, timers, the Web platform APIs Workers code relies on (Request,
// Response, Headers, URL, streams, TextEncoder, crypto, fetch, …), the
// "cloudflare:workers" module, and the glue that lets a Durable Object class
// written in JS serve events handed to it by package objects.
//
// # Structure
//
// A Worker owns a pool of runtimes; each runtime is one goja.Runtime driven by
// one goroutine (its event loop). The bundle is compiled once and evaluated in
// every runtime. Stateless requests go to any runtime; every Durable Object is
// pinned to one runtime, so all of an object's JS runs on one thread.
//
// # Prelude contract
//
// Web APIs that are easier to write in JS live in prelude/*.js. Each file is an
// IIFE run in lexical file order when a runtime starts, after the Go natives are
// installed. Natives reach the prelude through the hidden global __cairn (not
// enumerable). Wire shapes used between the prelude and Go:
//
//	request wire:  {method, url, headers: [[name, value], …], body: ArrayBuffer | null}
//	response wire: {status, statusText, headers: [[name, value], …], body: ArrayBuffer | null}
//
// Natives installed by Go:
//
//	__cairn.utf8Encode(string) Uint8Array
//	__cairn.utf8Decode(bufferSource, fatal bool, ignoreBOM bool) string
//	__cairn.fetchNative(requestWire) Promise<responseWire>   // outbound fetch
//	__cairn.serialize(value) ArrayBuffer                       // structured clone encoding
//	__cairn.deserialize(ArrayBuffer) any
//
// Functions the prelude defines on __cairn for Go to call:
//
//	__cairn.requestFromWire(requestWire) Request
//	__cairn.requestToWire(Request) Promise<requestWire>
//	__cairn.responseFromWire(responseWire) Response
//	__cairn.responseToWire(Response) Promise<responseWire>
package jsrt
