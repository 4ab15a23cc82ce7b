// Package commit turns committed transactions into durable ones.
//
// Storage commits a transaction cheaply: SQLite appends it to the
// database's write-ahead log without waiting for the disk. The transaction
// is then visible to the object's next events, but it is not yet
// acknowledged: the object's output gate holds every response, outgoing
// fetch and message that followed the write until this package reports the
// transaction durable. A crash before that loses the transaction, but
// nobody outside the process has seen it, and SQLite's WAL recovery never
// applies a torn transaction, so none is half applied.
//
// A Log is the seam where durability is decided. Local, the single-node
// Log, makes writes durable with fsync and does group commit: every Submit
// that arrives while a round of syncs is in progress joins the next round,
// where each file is synced once for all of its waiters and different files
// are synced in parallel (the filesystem's journal merges concurrent syncs
// into one device flush). After SyncFileSystem(dir, min) (the server calls
// it for its state directory with min 4), a round of at least min files is
// one syncfs of dir's whole file system instead (Linux; not on FUSE, where
// syncfs does not reach the file server). Under load one
// sync thus acknowledges many transactions, and an object keeps running its
// next events while its previous commit is being synced. Shared does the
// same for a database many goroutines write (a KV namespace, a D1
// database): a write returns, and a read hands out data, only once the
// commits involved are durable; it also runs the database's WAL checkpoints
// (Checkpoint), so that their fsync errors are not lost, and keeps the first
// failure for good. MkdirAll creates directories durably. A cluster Log
// would instead replicate the transaction and report it durable when a
// quorum has it.
package commit
