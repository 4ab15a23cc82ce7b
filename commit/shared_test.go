package commit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// flakyLog fails every sync while failing is set, before it is attempted
// (a permission problem on opening the file), and syncs otherwise.
type flakyLog struct {
	inner   *Local
	failing atomic.Bool
}

func (l *flakyLog) Submit(f Syncer, done func(error)) {
	if l.failing.Load() {
		go done(fmt.Errorf("%w: open x.sqlite-wal: permission denied", ErrSyncNotAttempted))
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

// sizedFile is a fakeFile with a WAL size, whose sync can fail once and
// then succeed, as fsync does after a write-back error.
type sizedFile struct {
	fakeFile
	size     int64
	failOnce error
}

func (f *sizedFile) Sync() error {
	if err := f.failOnce; err != nil {
		f.failOnce = nil
		return err
	}
	return f.fakeFile.Sync()
}

func (f *sizedFile) Size() (int64, error) { return f.size, nil }

// A failed sync or checkpoint fails the commits waiting and every later
// one: the error is reported once by the kernel, and a retried fsync that
// succeeds proves nothing about the lost data.
func TestSharedFailuresStick(t *testing.T) {
	boom := errors.New("EIO")
	ctx := context.Background()
	for _, how := range []string{"sync", "checkpoint"} {
		t.Run(how, func(t *testing.T) {
			l := NewLocal(0)
			defer l.Close()
			f := &sizedFile{}
			s := NewShared(l, f)
			if err := s.Durable(ctx, s.Committed()); err != nil {
				t.Fatal(err)
			}
			seq := s.Committed()
			switch how {
			case "sync":
				f.failOnce = boom
			case "checkpoint":
				if err := s.Checkpoint(func() error { return boom }); !errors.Is(err, boom) {
					t.Fatalf("Checkpoint = %v", err)
				}
			}
			if err := s.Durable(ctx, seq); !errors.Is(err, boom) {
				t.Fatalf("Durable after a failed %s = %v, want the failure", how, err)
			}
			if err := s.Durable(ctx, s.Committed()); !errors.Is(err, boom) {
				t.Fatalf("a later Durable = %v, want the failure still", err)
			}
			ran := false
			if err := s.Checkpoint(func() error { ran = true; return nil }); !errors.Is(err, boom) || ran {
				t.Fatalf("Checkpoint after the failure = %v (ran %v), want the failure and no checkpoint", err, ran)
			}
		})
	}
}

// A sync that finds the WAL past CheckpointBytes makes a checkpoint due;
// running it clears that.
func TestSharedCheckpointDue(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(0)
	defer l.Close()
	f := &sizedFile{size: CheckpointBytes - 1}
	s := NewShared(l, f)
	if err := s.Durable(ctx, s.Committed()); err != nil || s.CheckpointDue() {
		t.Fatalf("small WAL: due = %v, err %v", s.CheckpointDue(), err)
	}
	f.size = CheckpointBytes
	if err := s.Durable(ctx, s.Committed()); err != nil || !s.CheckpointDue() {
		t.Fatalf("large WAL: due = %v, err %v", s.CheckpointDue(), err)
	}
	if err := s.Checkpoint(func() error { return nil }); err != nil || s.CheckpointDue() {
		t.Fatalf("after Checkpoint: due = %v, err %v", s.CheckpointDue(), err)
	}
}

// A real WAL that cannot be opened (here: a directory stands where the
// -wal file goes) fails the sync without it being attempted, and that
// failure is not remembered; a failed fsync would be (issue 17).
func TestSharedWALNotAttemptedIsNotSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	if err := os.Mkdir(path+"-wal", 0o755); err != nil {
		t.Fatal(err)
	}
	l := NewLocal(0)
	defer l.Close()
	s := NewShared(l, WAL{Path: path})
	ctx := context.Background()
	if err := s.Durable(ctx, s.Committed()); !errors.Is(err, ErrSyncNotAttempted) {
		t.Fatalf("Durable = %v, want ErrSyncNotAttempted", err)
	}
	if err := os.Remove(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", []byte("frames"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Visible(ctx); err != nil {
		t.Fatalf("Visible after the fault cleared: %v", err)
	}
	if err := s.Durable(ctx, s.Committed()); err != nil {
		t.Fatalf("Durable after the fault cleared: %v", err)
	}
}

// Record keeps no record (commit.Log).
func (l *flakyLog) Record(Syncer, *Record) error { return nil }
