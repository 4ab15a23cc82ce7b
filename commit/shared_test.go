package commit

import (
	"context"
	"sync"
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
