package commit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// WAL is the write-ahead log of a SQLite database in WAL mode (Path is the
// database file), as a Syncer: Sync fsyncs the -wal file. Two WALs with
// the same Path are the same Syncer, so their syncs group.
type WAL struct{ Path string }

// Size returns the size of the -wal file (0 if there is none).
func (w WAL) Size() (int64, error) {
	info, err := os.Stat(w.Path + "-wal")
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// ErrSyncNotAttempted wraps the error of a sync that failed before it
// asked the kernel to write anything (the file could not be opened: a
// permission problem, too many open files). Nothing was lost, so unlike a
// failed fsync it does not fail later syncs: the next one covers the same
// commits, and the errors stop when the fault does.
var ErrSyncNotAttempted = errors.New("sync not attempted")

// Sync makes everything appended to the log so far durable.
func (w WAL) Sync() error {
	f, err := os.OpenFile(w.Path+"-wal", os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return nil // checkpointed and removed: nothing pending
	} else if err != nil {
		return fmt.Errorf("%w: %w", ErrSyncNotAttempted, err)
	}
	defer f.Close()
	return f.Sync()
}

// Shared makes the commits of a database that many goroutines read and
// write (a KV namespace, a D1 database) durable through a Log, without
// letting anyone see a commit before it is durable: a writer's Commit
// returns once its commit is durable, and a reader calls Visible after
// reading, which waits until every commit it may have seen is durable.
// Commits are numbered in the order the database applied them; the caller
// numbers them with Committed while it still holds its write lock.
//
// The database's owner turns SQLite's automatic checkpoints off
// (PRAGMA wal_autocheckpoint=0) and runs them through Checkpoint when
// CheckpointDue says so: SQLite ignores the errors of its own, and a
// checkpoint fsyncs the WAL through SQLite's file descriptor, so a
// write-back error it hit would not be reported to the next Sync, which
// would acknowledge commits that never reached the disk.
//
// A sync that failed with ErrSyncNotAttempted (or any error a Log reports
// that wraps it) fails the writers waiting for it and the readers that may
// have seen their commits, and is not remembered: Visible asks for another
// sync when none is under way, so errors from such a transient fault stop
// when the fault does.
type Shared struct {
	log Log
	f   *guarded

	mu        sync.Mutex
	committed uint64 // commits applied to the database
	durable   uint64 // of those, durable
	syncing   int    // syncs submitted and not yet done
	failed    error  // a sync failed: the database may have lost commits
	changed   chan struct{}
}

// NewShared returns a Shared that syncs f through log.
func NewShared(log Log, f Syncer) *Shared {
	return &Shared{log: log, f: &guarded{f: f}, changed: make(chan struct{})}
}

// CheckpointBytes is the WAL size from which CheckpointDue asks for a
// checkpoint: about SQLite's automatic one (1000 pages of 4 KiB).
const CheckpointBytes = 4 << 20

// WALSizeLimit is the journal_size_limit a database checkpointed through
// Shared must set: when the WAL restarts after a checkpoint, SQLite
// truncates the file to this size. Without it the file keeps its largest
// size, every sync sees it past CheckpointBytes, and every commit
// checkpoints.
const WALSizeLimit = CheckpointBytes / 4

// guarded is a Shared's file as its Log sees it: its syncs and the
// database's checkpoints exclude each other, and the first failure of
// either fails every later sync (the kernel reports a write-back error
// once, so a retried fsync would succeed without the lost data).
type guarded struct {
	f   Syncer
	due atomic.Bool // a sync saw the WAL past CheckpointBytes

	mu     sync.Mutex
	failed error
}

func (g *guarded) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed != nil {
		return g.failed
	}
	if err := g.f.Sync(); err != nil {
		if !errors.Is(err, ErrSyncNotAttempted) {
			g.failed = err
		}
		return err
	}
	if sz, ok := g.f.(interface{ Size() (int64, error) }); ok {
		if n, err := sz.Size(); err == nil && n >= CheckpointBytes {
			g.due.Store(true)
		}
	}
	return nil
}

// CheckpointDue reports whether the WAL has grown enough to be
// checkpointed (see Checkpoint). It is cheap: call it after each commit.
func (s *Shared) CheckpointDue() bool { return s.f.due.Load() }

// Checkpoint runs fn, which checkpoints the database's WAL, with no sync
// of it running meanwhile, and keeps its error: the commits not yet
// durable then fail to become so, now and for good. Call it outside any
// transaction, after a commit (the caller's write lock may be held).
func (s *Shared) Checkpoint(fn func() error) error {
	g := s.f
	g.mu.Lock()
	g.due.Store(false)
	err := g.failed
	if err == nil {
		if err = fn(); err != nil {
			err = fmt.Errorf("checkpoint: %w", err)
			g.failed = err
		}
	}
	g.mu.Unlock()
	if err != nil {
		s.mu.Lock()
		if s.failed == nil {
			s.failed = err
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	return err
}

// Committed records that the database applied a commit, and returns its
// number. Call it under the database's write lock, right after COMMIT.
func (s *Shared) Committed() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed++
	return s.committed
}

// Record hands the record of the commit just made to the Log (Log.Record).
// Call it under the database's write lock, right after Committed.
func (s *Shared) Record(rec *Record) error { return s.log.Record(s.f, rec) }

// Fail records that a commit just made cannot become durable (its record
// could not be kept): it and every later one fail, for good, as after a
// failed sync.
func (s *Shared) Fail(err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Durable waits until commit seq is durable, asking the Log to sync, and
// returns the error of that sync (or of an earlier one that failed for
// good) if it failed.
func (s *Shared) Durable(ctx context.Context, seq uint64) error {
	done := make(chan error, 1)
	s.mu.Lock()
	s.syncing++
	s.mu.Unlock()
	s.log.Submit(s.f, func(err error) {
		s.mu.Lock()
		s.syncing--
		if err != nil && s.failed == nil && !errors.Is(err, ErrSyncNotAttempted) {
			s.failed = err
		}
		if err == nil && seq > s.durable {
			s.durable = seq
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		done <- err
	})
	select {
	case err := <-done:
		if err != nil {
			return err
		}
		return s.wait(ctx, seq)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Visible waits until every commit applied so far is durable: call it
// after a read, before handing out what was read. It waits for the syncs
// under way, and asks for one itself if they are done and fell short (one
// was not attempted).
func (s *Shared) Visible(ctx context.Context) error {
	s.mu.Lock()
	seq := s.committed
	s.mu.Unlock()
	return s.wait(ctx, seq)
}

func (s *Shared) wait(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		durable, failed, syncing, changed := s.durable, s.failed, s.syncing, s.changed
		s.mu.Unlock()
		if failed != nil {
			return failed
		}
		if durable >= seq {
			return nil
		}
		if syncing == 0 {
			return s.Durable(ctx, seq)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SyncFileAndDir fsyncs the file at path and its directory: a database
// created with its commits synced by a Log (which syncs only the WAL) must
// first be durable itself.
func SyncFileAndDir(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
