package commit

import (
	"errors"
	"sync"
)

// Failures remembers, by file, the syncs that failed, for the life of the
// process: Linux reports a write-back error once and may drop the data,
// so once a file's sync failed, a later sync of the same file (through
// another descriptor, by the next owner after an eviction or a reload)
// would succeed and acknowledge commits that are not on disk. A Local
// fails every later sync of such a file with the first error, whoever
// submits it. A restart forgets: the database is then opened again from
// what the disk holds, its WAL recovered by SQLite, and nothing of it is
// acknowledged before a sync that succeeds.
//
// Only files whose Syncer says which file it syncs (PathSyncer) are
// remembered; errors that wrap ErrSyncNotAttempted are not (nothing was
// written, nothing was lost).
type Failures struct {
	mu     sync.Mutex
	byPath map[string]error
}

// NewFailures returns an empty set.
func NewFailures() *Failures { return &Failures{byPath: map[string]error{}} }

// A PathSyncer is a Syncer that says which file its Sync makes durable
// (for a SQLite database in WAL mode, its -wal file), so that a failure
// outlives the Syncer.
type PathSyncer interface {
	Syncer
	SyncPath() string
}

// Of returns the first failed sync of the file at path, or nil.
func (fs *Failures) Of(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.byPath[path]
}

// Fail records that a sync of the file at path failed with err (unless it
// wraps ErrSyncNotAttempted), keeping the first error.
func (fs *Failures) Fail(path string, err error) {
	if err == nil || errors.Is(err, ErrSyncNotAttempted) {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.byPath[path] == nil {
		fs.byPath[path] = err
	}
}

// SetFailures makes l remember failed syncs in fs, which several Locals
// may share (the Apps a server loads one after another on one state
// directory). Call it before the first Submit. Without it, l keeps a set
// of its own.
func (l *Local) SetFailures(fs *Failures) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = fs
}

// stuck sets, in files, the error of each file of order whose earlier sync
// failed, and returns the others, which are to be synced.
func (l *Local) stuck(files map[Syncer]error, order []Syncer) []Syncer {
	l.mu.Lock()
	if l.failures == nil {
		l.failures = NewFailures()
	}
	fs := l.failures
	l.mu.Unlock()
	keep := order[:0]
	for _, f := range order {
		if p, ok := f.(PathSyncer); ok && p.SyncPath() != "" {
			if err := fs.Of(p.SyncPath()); err != nil {
				files[f] = err
				continue
			}
		}
		keep = append(keep, f)
	}
	return keep
}

// noteFailures remembers the failed syncs of files.
func (l *Local) noteFailures(files map[Syncer]error) {
	l.mu.Lock()
	fs := l.failures
	l.mu.Unlock()
	for f, err := range files {
		if p, ok := f.(PathSyncer); ok && err != nil && p.SyncPath() != "" {
			fs.Fail(p.SyncPath(), err)
		}
	}
}

// SyncPath returns the file Sync makes durable: the -wal file.
func (w WAL) SyncPath() string { return w.Path + "-wal" }

// SyncPath returns the file of the database the guarded Syncer syncs, or
// "" if it does not say.
func (g *guarded) SyncPath() string {
	if p, ok := g.f.(PathSyncer); ok {
		return p.SyncPath()
	}
	return ""
}
