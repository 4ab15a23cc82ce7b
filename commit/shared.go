package commit

import (
	"context"
	"os"
	"path/filepath"
	"sync"
)

// WAL is the write-ahead log of a SQLite database in WAL mode (Path is the
// database file), as a Syncer: Sync fsyncs the -wal file. Two WALs with
// the same Path are the same Syncer, so their syncs group.
type WAL struct{ Path string }

// Sync makes everything appended to the log so far durable.
func (w WAL) Sync() error {
	f, err := os.OpenFile(w.Path+"-wal", os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return nil // checkpointed and removed: nothing pending
	} else if err != nil {
		return err
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
// A failed sync fails the writers waiting for it and the readers that may
// have seen their commits, and is not remembered: the next sync (a reader's
// Visible asks for one if none is under way) covers those commits again,
// so errors from a transient fault (a permission or space problem) stop
// when the fault does, as a Durable Object's do.
type Shared struct {
	log Log
	f   Syncer

	mu        sync.Mutex
	committed uint64 // commits applied to the database
	durable   uint64 // of those, durable
	syncing   int    // syncs submitted and not yet done
	changed   chan struct{}
}

// NewShared returns a Shared that syncs f through log.
func NewShared(log Log, f Syncer) *Shared {
	return &Shared{log: log, f: f, changed: make(chan struct{})}
}

// Committed records that the database applied a commit, and returns its
// number. Call it under the database's write lock, right after COMMIT.
func (s *Shared) Committed() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed++
	return s.committed
}

// Durable waits until commit seq is durable, asking the Log to sync, and
// returns the error of that sync if it failed.
func (s *Shared) Durable(ctx context.Context, seq uint64) error {
	done := make(chan error, 1)
	s.mu.Lock()
	s.syncing++
	s.mu.Unlock()
	s.log.Submit(s.f, func(err error) {
		s.mu.Lock()
		s.syncing--
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
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Visible waits until every commit applied so far is durable: call it
// after a read, before handing out what was read. It waits for the syncs
// under way, and asks for one itself if they are done and fell short (one
// failed).
func (s *Shared) Visible(ctx context.Context) error {
	s.mu.Lock()
	seq := s.committed
	s.mu.Unlock()
	for {
		s.mu.Lock()
		durable, syncing, changed := s.durable, s.syncing, s.changed
		s.mu.Unlock()
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
