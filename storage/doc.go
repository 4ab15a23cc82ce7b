// Package storage owns the SQLite database of one Durable Object: its SQL API,
// the KV API kept in the hidden _cf_KV table, and the implicit transaction that
// groups an event's writes.
//
// A DB is cheap to hold before it is used: the file is created on the first
// write, so an object that only reads costs no file. Storage sees rows and
// bytes, never JS values.
//
// # Model
//
// One DB per object, one SQLite connection per DB, used from one goroutine at a
// time (the object's). Open does not touch the disk. Until the file exists,
// read-only SQL runs on an empty in-memory database (so "SELECT 1" works and
// "SELECT * FROM t" says "no such table: t") and KV reads find nothing; the
// first write creates the directory and the file (WAL with exclusive
// locking, synchronous=NORMAL, foreign_keys=ON).
//
// The first statement after a commit — SQL or KV, read or write — opens a
// deferred BEGIN on the file: everything an event does is one transaction,
// which the runtime ends with Commit or Rollback. Close discards an
// uncommitted transaction.
//
// Commit appends the transaction to the write-ahead log without fsync: it
// is visible to later reads and survives the process being killed, but not
// power loss. Sync makes every commit so far durable (it fsyncs the WAL,
// and the first time the new file and its directories). The runtime does
// not call Sync itself: it submits the DB to a commit.Log (package commit),
// which shares one round of syncs among the commits of many objects and
// holds the object's output until its commit is durable.
//
// Exec runs user SQL under an authorizer that mirrors workerd's allow-list:
// no transactions, ATTACH, TEMP objects, foreign virtual-table modules, or
// PRAGMAs and functions off the list, and no access to names beginning with
// _cf_ (any case). Errors carry SQLite's message verbatim (*Error); the
// package's own rules are sentinel *Error values (ErrNoStatement, ErrBindings,
// ErrMultiParams, ErrTransaction).
//
// # Failures
//
// A statement that fails leaves the transaction open, as SQLite does. If SQLite
// rolls the whole transaction back by itself (disk full, I/O error, a
// ROLLBACK conflict clause) or Commit fails, the batch is lost: the DB is
// broken, Broken returns the error and every later call returns it too. The
// owner discards the object (Close, Open again) so that nothing that depended
// on the lost writes is acknowledged.
package storage
