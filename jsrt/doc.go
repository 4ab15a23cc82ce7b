// Package jsrt hosts Worker JavaScript on the goja engine: an event loop per
// runtime, timers, the Web platform APIs Workers code relies on (Request,
// Response, Headers, URL, streams, TextEncoder, crypto, fetch, …), the
// "cloudflare:workers" module, and the glue that lets a Durable Object class
// written in JS serve events handed to it by package objects.
//
// # Structure
//
// A Worker owns a pool of runtimes; each runtime is one goja.Runtime driven by
// one goroutine (its event loop, package eventloop). The bundle is compiled
// once and evaluated in every runtime. Stateless requests go to any runtime;
// every Durable Object is pinned to one runtime, so all of an object's JS
// runs on one thread.
//
// Where things are:
//
//	worker.go        Worker: New, the pool, the CPU watchdog, ServeHTTP, serve (an HTTP request as an event)
//	runtime.go       one runtime: its engine, install, timers, endTurn, offLoop and gate (the output gate's JS side)
//	wire.go          Request/Response between Go and the prelude
//	body.go          bodies streaming between Go and JS (bodySource, streamReader)
//	fetch.go         outbound fetch, env, Durable Object namespaces and stubs
//	rpc.go           JS RPC: payloads, capabilities, serving a call on a target
//	service.go, kv.go, d1.go   service, Workers KV and D1 bindings
//	object*.go       the Durable Object glue: the JS side of objects.Gate
//	                 (object.go), ctx.storage (object_storage.go), alarms
//	                 (object_alarm.go), the Hibernation API (object_websocket.go)
//	websocket.go     WebSocketPair and the JS side of a socket (package sockets has the network)
//	tcp.go           outgoing TCP sockets of cloudflare:sockets connect()
//	prelude/, modules/   JS: the Web APIs written in JS, cloudflare:workers, node:*
//
// Beside it: package eventloop (the loop), webapi (Web APIs written in Go),
// jsclone (structured clone of JS values); outside it: objects (the gates),
// sockets (WebSocket connections), clone (the stored format).
//
// # Prelude contract
//
// Web APIs that are easier to write in JS live in prelude/*.js. Each file is an
// IIFE run in lexical file order when a runtime starts, after the Go natives are
// installed. Natives reach the prelude through the global __cairn, which each
// prelude file captures and the runtime deletes before Worker code loads; the
// embedded modules (modules/*.js) get them from require("cairn:internal"), a
// name only their own require knows. Every natives object has no prototype
// and its functions turn Go panics into JS errors (natives.go), so Worker code
// can neither reach nor crash them. Wire shapes used between the prelude and Go:
//
//	request wire:  {method, url, headers: [[name, value], …], body}
//	response wire: {status, statusText, headers: [[name, value], …], body}
//
// A body is one of: body: ArrayBuffer | null (held in memory); source: a Go
// body JS streams from (with length if known), which goes back to Go as
// itself if JS did not touch it; stream: {read() Promise<Uint8Array|null>,
// cancel(reason)}, a JS stream Go reads chunk by chunk (with length for a
// FixedLengthStream). See body.go. Go never reads a whole body before
// handing it on: requests, responses, stub.fetch and service bindings
// stream both ways.
//
// Natives installed by Go (package webapi for encoding, crypto and console;
// package jsclone for structured clone; fetch.go, object*.go):
//
//	utf8Encode(string) Uint8Array, utf8Decode(bufferSource, fatal, ignoreBOM) string,
//	utf8Complete(bytes) int                                   // TextEncoder/TextDecoder
//	fillRandom(view), randomUUID(), digest(alg, data), hmac(hash, key, data),
//	timingSafeEqual(a, b), subtle*(…), digestStream*(…)       // crypto (prelude/21_crypto.js)
//	node*(…)                                                  // node:crypto (modules/crypto.js)
//	zlibProcess(…), zlibStream*(…), zlibCrc32(…)              // node:zlib (modules/zlib.js)
//	log(level, message), now() number                         // console, performance
//	serialize(value) ArrayBuffer, deserialize(ArrayBuffer)    // structured clone (package jsclone)
//	fetchNative(requestWire) Promise<responseWire>            // outbound fetch; sets requestWire.abort()
//	bodyRead(source) Promise<ArrayBuffer|null>, bodyCancel(source)  // a Go body read by JS (body.go)
//	digestStream(hash), compressor(format, decompress)        // crypto.DigestStream, (De)CompressionStream (webapi)
//	env                                                       // the Worker's env
//
// Per-binding natives objects, handed to the prelude's constructors:
//
//	namespace (fetch.go): idFromName(name, jurisdiction), newUniqueId(jurisdiction),
//	  idFromString(hex), jurisdictionOf(hex), fetch(id, name, requestWire),
//	  call(id, name, path, args) Promise       // JS RPC (rpc.go)
//	state (object.go): id, name, jurisdiction, block(), unblock(),
//	  breakObject(reason), storage
//	storage (object_storage.go, object_alarm.go): exec, get, getMany, put, putMany, delete,
//	  deleteMany, list, deleteAll, databaseSize, savepoint, releaseSavepoint,
//	  rollbackSavepoint, sync() Promise, getAlarm, setAlarm, deleteAlarm;
//	  writes take a last argument allowUnconfirmed
//	service (service.go): fetch(requestWire) Promise, call(path, args) Promise
//	D1 database (d1.go): batch([{sql, params}], session) Promise<{results:
//	  [{columns, rows, meta}], bookmark}>, exec(sql) Promise<{count, duration}>,
//	  dump() Promise<ArrayBuffer>
//	KV namespace (kv.go): get, getMany, put, delete, list, each a Promise
//
// # Durable Objects
//
// The semantics of an object's turns — input gate, output gate, commits,
// resets — belong to objects.Gate; an instance (object.go) is the JS side
// of one: it constructs the JS object, posts events to its runtime's loop
// and tells the gate which turn used storage. At the end of each loop task
// the runtime ends the turn of every gate used in it (runtime.endTurn).
// Output-gated work (responses, outgoing fetch, RPC, D1 and KV calls) goes
// through runtime.gate with the object whose code runs (runtime.active),
// which is its gate's Hold.
//
// WebSockets (websocket.go, prelude/40_websocket.js): __cairn.webSocket
// holds pair, accept, mode, readyState, send, close, setAttachment and
// getAttachment over a Go handle; each object's ctx natives carry
// webSockets (the Hibernation API, object_websocket.go, added to the state
// by prelude/95_websocket_state.js). The prelude defines wsHandle(ws),
// wsWrap(handle, forwarded) and wsDispatch(ws, kind, …) for Go. A 101
// response carries its socket to Worker.ServeHTTP as the body
// (*sockets.Upgrade), also from a Durable Object written in Go.
// Client sockets (websocket_client.go): fetch with "Upgrade: websocket"
// (a hook in fetchNative), new WebSocket(url) (__cairn.webSocket.dial) and
// accept() of a Durable Object's socket (connect) are wsConns too, dialed
// through Config.HTTPClient; one returned unaccepted is relayed.
// The connection itself, its send queue, read loop, close codes and
// auto-responses, and each object's socket record are package sockets';
// the handle is the sockets.Handler that posts their events to the loop.
//
// WebAssembly (wasm.go, wasmbin.go, prelude/96_wasm.js) runs on wazero:
// __cairn.wasm holds compile, descriptors, instantiate and the accessors of
// memories, globals and tables over opaque Go handles, and init, through
// which the prelude gives Go its error classes and the wrappers of exported
// memories, globals and tables. The Worker owns one wazero runtime and the
// compiled modules (by hash of their bytes); an instance's imported JS
// functions reach wasm through host modules shared by all instances of a
// module, the JS functions of the instance being called travelling in the
// call's context. Memories, tables and globals live in module instances
// that export them (generated ones for those made in JS); an instance that
// imports some is linked against a generated module re-exporting them with
// its host functions (wasmlink.go), and funcrefs cross between JS and wasm
// through generated modules too (wasmfuncref.go).
//
// Functions the prelude defines on __cairn for Go to call:
//
//	requestFromWire(requestWire) Request
//	abortRequest(Request, reason)                             // the client went away: aborts request.signal
//	streamLength(ReadableStream) number | undefined           // a FixedLengthStream's length
//	requestToWire(Request) Promise<requestWire>               // called by the prelude itself
//	responseFromWire(responseWire) Response
//	responseToWire(Response) responseWire (a rejected promise if it is not one)
//	makeNamespace(natives) DurableObjectNamespace             // prelude/90_objects.js
//	makeState(natives) DurableObjectState
//	makeKVNamespace(natives) KVNamespace                      // prelude/91_kv.js
//	makeD1(natives) D1Database                                // prelude/92_d1.js
//	makeCapStub(invoke), makeService(natives), isRPCTarget(v),
//	rpcInvoke(target, path, args, root)                       // prelude/85_rpc.js
//	rpcHostEncode(obj) [kind, payload] | undefined            // Request, Response, Headers, URL over RPC
//	rpcHostDecode(kind, payload) object
//	format(...args), inspect(value)                           // console and node:util
//
// Modules (modules.go): embedded CommonJS modules (modules/*.js) answer
// require("cloudflare:workers"), "cloudflare:email", "cloudflare:sockets" and
// the Node.js modules events, async_hooks, util, path, crypto, zlib and
// process; buffer comes from goja_nodejs, and url from goja_nodejs with
// the global URL and URLSearchParams (prelude/07_url.js over
// webapi/url.go, the WHATWG URL Standard) and the legacy API
// (modules/url_extras.js). With nodejs_compat, the
// other Node.js modules Cloudflare provides come from
// modules/generated/node.js (unenv, readable-stream, string_decoder;
// generated from polyfill/node.cjs). "x" and "node:x" are one instance. A module cairn lacks fails
// when required, with ErrNoSuchModule naming it and, for Node.js modules,
// the compatibility flag.
//
// Built-ins: prelude/01_polyfill.js is core-js (the standard built-ins up to
// ES2025 that goja lacks, generated from polyfill/entry.js by go generate);
// prelude/02_weakref.js adds WeakRef and FinalizationRegistry. The test262
// run of test262_test.go (build tag test262) measures them.
package jsrt
