// Package backup copies the state directory of a Worker (its Durable
// Objects, D1 databases, KV namespaces, R2 buckets, the alarm index, the
// catalog and any other file under it) to a Target, and restores it.
//
// # What a backup holds
//
// A backup is a set of files named by their path under the Worker's state
// directory ("catalog.json", "d1/<id>.sqlite", …) plus "manifest.json",
// written last: it lists every file with its size and SHA-256, so a backup
// that stopped half-way (no manifest) or was damaged (a size or checksum
// that does not match) is refused by Restore before anything is changed.
// Each SQLite database is stored as one self-contained file (its WAL folded
// in) that passed PRAGMA integrity_check when the backup was taken.
//
// # Consistency
//
// Snapshot never opens a database that a server may be using: cairn's
// Durable Objects keep their files under an exclusive SQLite lock, and a
// reader would make their next activation fail. Instead it copies the
// database file, then its write-ahead log, as bytes, and checks that the
// log was not restarted in between (its header, which holds the restart
// salt, is unchanged; or there was no log before and after and the file did
// not change). SQLite's recovery of such a copy replays the log up to its
// last complete commit (frames are checksummed, so a frame torn by a
// concurrent append ends the log there) over the file, whose pages can only
// have been overwritten by frames the copied log also holds. The copy is
// therefore a committed state of the database, at least as recent as every
// commit acknowledged before the copy started. A copy that fails the check
// is taken again.
//
// Across databases, a backup is one of:
//
//   - "stopped": no server held the state directory (Snapshot held its lock
//     throughout), so every database is at rest and the set is exact;
//   - "cut": taken through a running server (POST /client/v4/cairn/backup on
//     its admin API). Snapshot copies everything once while the server runs
//     on, then calls Pause, under which the server holds back every
//     acknowledgement of a commit, and copies again what changed meanwhile
//     (the WAL of a database not restarted since, any other file whose
//     stat changed, new files; removed ones are dropped). Information only
//     passes between objects and databases through acknowledged commits
//     (the output gate; D1's and KV's reads wait for durability), so
//     nothing copied can depend on a commit that is not copied: the set is
//     a state the whole Worker could have been in, and it holds every
//     write acknowledged before the backup started. Commits go on during
//     the pause; only their acknowledgements wait for it;
//   - "per-database": taken by the CLI beside a running server without its
//     API: each database is a committed state holding every write
//     acknowledged before the backup started, but two databases may be cut
//     at moments that no single instant matches.
//
// Other files are copied as bytes: cairn writes its catalogs by renaming a
// complete new file over the old one, so a copy sees one or the other.
//
// # Restore
//
// Restore writes the backup into a new directory beside the target,
// verifying every size and checksum, fsyncs it, then swaps it with the
// target in one rename (renameat2 RENAME_EXCHANGE on Linux), under the
// state directory's lock: a crash at any point leaves the old state or the
// restored one, never a mix. A directory a server is using is refused, and
// so is one holding state unless Force is set.
package backup
