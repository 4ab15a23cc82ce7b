// Package r2 stores R2 buckets on local disk, as wrangler dev offers them:
// one SQLite file per bucket at <persist>/<worker name>/r2/<bucket>.sqlite
// (see Path), in WAL mode, holding each object's metadata and its body as a
// blob.
//
// # Semantics
//
// The operations follow the R2 Workers API: Head, Get (with a Range and an
// onlyIf Conditional), Put (with HTTP and custom metadata, checksums that
// are verified, and onlyIf), Delete of one key or many, List (prefix,
// delimiter, cursor, startAfter, limit) and multipart uploads. Keys are at
// most 1024 bytes of UTF-8; custom metadata at most 2048 bytes. Bad input
// is answered with an *Error carrying the HTTP status, the R2 error code
// and the message Cloudflare's runtime (and Miniflare) give, e.g. "The
// specified object name is not valid." (10020); the Workers binding shows
// it as "get: The specified object name is not valid. (10020)".
//
// An object's body is held in memory while it is written or read whole:
// objects are bounded by Options.MaxObjectSize (default 100 MiB), far
// below R2's 5 GiB, and a multipart upload's parts are joined in memory
// when it completes.
//
// # Durability
//
// As in package kv: every write is one SQLite transaction and returns only
// once it is durable. With Options.Commit (as under `cairn dev`, where the
// log is shared with the Worker's objects, KV namespaces and D1 databases)
// the write waits for the commit log's group fsync, and a read hands
// nothing out before every commit it may have seen is durable; without one
// (the `cairn r2` commands) SQLite fsyncs each commit itself.
package r2
