package commit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A reader never returns before what it may have seen is durable, and a
// writer's Durable returns only once its commit is.
func TestSharedVisibility(t *testing.T) {
	f := &fakeFile{gate: make(chan struct{})}
	l := NewLocal(0)
	defer l.Close()
	s := NewShared(l, f)
	ctx := context.Background()

	f.written.Add(1)
	seq := s.Committed()
	wrote := make(chan error, 1)
	go func() { wrote <- s.Durable(ctx, seq) }()
	read := make(chan error, 1)
	go func() { read <- s.Visible(ctx) }()
	select {
	case <-wrote:
		t.Fatal("writer returned before its commit was durable")
	case <-read:
		t.Fatal("reader returned while a commit it may have seen was not durable")
	case <-time.After(100 * time.Millisecond):
	}
	close(f.gate)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if f.durable.Load() != 1 {
		t.Fatal("not synced")
	}
	// Nothing pending: a read returns at once.
	if err := s.Visible(ctx); err != nil {
		t.Fatal(err)
	}
}

// Many writers share syncs.
func TestSharedGroupsWriters(t *testing.T) {
	f := &fakeFile{}
	l := NewLocal(0)
	defer l.Close()
	s := NewShared(l, f)
	var mu sync.Mutex // the database's write lock
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			f.written.Add(1)
			seq := s.Committed()
			mu.Unlock()
			if err := s.Durable(context.Background(), seq); err != nil {
				t.Error(err)
			}
			if f.durable.Load() < int64(seq) {
				t.Error("Durable returned before the commit was synced")
			}
		}()
	}
	wg.Wait()
	t.Logf("64 commits, %d syncs", f.syncs.Load())
}

// flakyLog fails every sync while failing is set, like a file system with a
// transient fault (a permission or space problem), and syncs otherwise.
type flakyLog struct {
	inner   *Local
	failing atomic.Bool
}

func (l *flakyLog) Submit(f Syncer, done func(error)) {
	if l.failing.Load() {
		go done(errors.New("sync: permission denied"))
		return
	}
	l.inner.Submit(f, done)
}

func (l *flakyLog) Close() error { return l.inner.Close() }

// A failed sync fails its writer and the readers that may have seen its
// commit, but is not sticky: once the fault clears, reads and writes work
// and the failed commit is made durable by the next sync (issue 17).
func TestSharedRecoversFromTransientFault(t *testing.T) {
	f := &fakeFile{}
	log := &flakyLog{inner: NewLocal(0)}
	defer log.Close()
	s := NewShared(log, f)
	ctx := context.Background()

	log.failing.Store(true)
	f.written.Add(1)
	if err := s.Durable(ctx, s.Committed()); err == nil {
		t.Fatal("Durable succeeded while syncs fail")
	}
	if err := s.Visible(ctx); err == nil {
		t.Fatal("Visible succeeded while a commit it may have seen is not durable")
	}
	log.failing.Store(false)
	if err := s.Visible(ctx); err != nil {
		t.Fatalf("Visible after the fault cleared: %v", err)
	}
	if f.durable.Load() != 1 {
		t.Fatal("the failed commit was not synced again")
	}
	f.written.Add(1)
	if err := s.Durable(ctx, s.Committed()); err != nil {
		t.Fatalf("Durable after the fault cleared: %v", err)
	}
	if err := s.Visible(ctx); err != nil {
		t.Fatal(err)
	}
}
