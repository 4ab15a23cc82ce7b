package storage

// SyncPath returns the file Sync makes durable, the database's -wal file:
// the commit log remembers a failed sync by it (commit.Failures), so that
// the next DB opened on the same file after an eviction fails its syncs
// too instead of acknowledging commits the kernel may have dropped.
func (db *DB) SyncPath() string { return db.path + "-wal" }
