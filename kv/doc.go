// Package kv stores Workers KV namespaces: one SQLite file per namespace at
// <persist>/<worker name>/kv/<namespace id>.sqlite (see Path), in WAL mode.
//
// # Semantics
//
// The operations and their limits follow Cloudflare's Workers KV: keys are
// non-empty UTF-8 strings of at most 512 bytes other than "." and "..";
// values are at most 25 MiB; metadata is any JSON value whose serialization
// is at most 1024 bytes; an expiration (absolute, in seconds since the
// epoch, or relative as expirationTtl) must be at least 60 seconds in the
// future; List returns at most 1000 keys per page, sorted by their UTF-8
// bytes, with an opaque cursor for the next page. Bad input is answered
// with an *Error carrying the HTTP status and the message Cloudflare's
// runtime (and Miniflare) use, and nothing is stored.
//
// # Namespaces
//
// A Catalog is the set of namespaces under one Worker's state directory:
// those bound in the config (their files are made when the Worker starts)
// and those made through Cloudflare's REST API (Catalog.Create gives a
// 32-hex-digit id, as Cloudflare's). Titles, which the API creates and
// renames, live in titles.json next to the files.
//
// # Consistency
//
// Cloudflare KV is eventually consistent: a write is visible at once in the
// location that made it and elsewhere after up to 60 s. cairn runs a
// namespace on one node, so it is stronger: every read that starts after a
// write has returned (Put, PutMany, Delete, DeleteMany) sees that write,
// from any Worker request, the admin API or the CLI (read-your-writes on one
// node). The propagation delay of Cloudflare is not simulated, and neither
// is the limit of one write per second per key.
//
// # Expiration
//
// An entry whose expiration has passed is absent for every read at once. A
// background sweep (started by Open, stopped by Close) deletes expired
// entries from the file in batches of bounded size, so the cost of one sweep
// step does not grow with the number of expired keys.
//
// # Durability
//
// Every write is one SQLite transaction, and all writes go through
// Namespace.commit; a write returns only once it is durable. With
// Options.Commit (as under `cairn dev`, where the log is shared with the
// Worker's objects and D1 databases), the file runs synchronous=NORMAL:
// the commit appends to the WAL without fsync and the write waits until
// the commit log has synced it, one fsync serving every commit of its
// round; a read hands nothing out before every commit it may have seen is
// durable. Without a commit log (the `cairn kv` commands), the file runs
// synchronous=FULL and SQLite fsyncs each commit before it returns.
package kv
