package commit

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeFile models a file: writes bump written; Sync makes everything written
// before it started durable.
type fakeFile struct {
	written atomic.Int64
	durable atomic.Int64
	syncs   atomic.Int64
	fail    error
	gate    chan struct{} // if set, Sync waits for it
}

func (f *fakeFile) Sync() error {
	f.syncs.Add(1)
	w := f.written.Load()
	if f.gate != nil {
		<-f.gate
	}
	if f.fail != nil {
		return f.fail
	}
	for {
		d := f.durable.Load()
		if d >= w || f.durable.CompareAndSwap(d, w) {
			return nil
		}
	}
}

// A simulation: many writers on many files; every done(nil) must come after
// the write it was submitted for is durable, and each file's calls complete
// in order.
func TestLocalSimulation(t *testing.T) {
	l := NewLocal(4)
	files := make([]*fakeFile, 20)
	for i := range files {
		files[i] = &fakeFile{}
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		last     = make(map[*fakeFile]int64)
		failures []string
	)
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 200 {
				f := files[r.IntN(len(files))]
				mu.Lock() // writes and submits to one file are ordered, as on an object's loop
				seq := f.written.Add(1)
				done := make(chan struct{})
				l.Submit(f, func(err error) {
					defer close(done)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failures = append(failures, err.Error())
					}
					if f.durable.Load() < seq {
						failures = append(failures, "acknowledged before durable")
					}
					if last[f] > seq {
						failures = append(failures, "out of order")
					}
					last[f] = seq
				})
				mu.Unlock()
				if r.IntN(4) == 0 {
					<-done
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	st := l.Stats()
	if st.Submits != 50*200 {
		t.Fatalf("submits = %d", st.Submits)
	}
	t.Logf("%d submits, %d syncs in %d rounds", st.Submits, st.Syncs, st.Rounds)
}

// Submits made while a round is syncing join the next round, where their
// file is synced once for all of them.
func TestLocalGroupsWaiters(t *testing.T) {
	l := NewLocal(0)
	defer l.Close()
	slow := &fakeFile{gate: make(chan struct{})}
	hot := &fakeFile{}
	first := make(chan error, 1)
	l.Submit(slow, func(err error) { first <- err })
	waitFor(t, func() bool { return slow.syncs.Load() == 1 }) // round 1 is in Sync

	var wg sync.WaitGroup
	for range 10 {
		hot.written.Add(1)
		wg.Add(1)
		l.Submit(hot, func(err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	close(slow.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := hot.syncs.Load(); n != 1 {
		t.Fatalf("10 waiters on one file took %d syncs, want 1", n)
	}
}

func TestLocalErrors(t *testing.T) {
	l := NewLocal(0)
	boom := errors.New("EIO")
	bad, good := &fakeFile{fail: boom}, &fakeFile{}
	got := make(chan error, 2)
	l.Submit(bad, func(err error) { got <- err })
	l.Submit(good, func(err error) { got <- err })
	errs := []error{<-got, <-got}
	if !(errors.Is(errs[0], boom) && errs[1] == nil) && !(errors.Is(errs[1], boom) && errs[0] == nil) {
		t.Fatalf("errors %v: want EIO for the failing file only", errs)
	}
	l.Close()
	l.Submit(good, func(err error) { got <- err })
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// With a file system set, a round of many files is one file-system sync;
// rounds of fewer files still sync file by file.
func TestLocalSyncFileSystem(t *testing.T) {
	l := NewLocal(0)
	if err := l.SyncFileSystem(t.TempDir(), 3); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gate := &fakeFile{gate: make(chan struct{})}
	first := make(chan error, 1)
	l.Submit(gate, func(err error) { first <- err }) // one file: synced itself
	waitFor(t, func() bool { return gate.syncs.Load() == 1 })
	var wg sync.WaitGroup
	files := make([]*fakeFile, 5)
	for i := range files {
		files[i] = &fakeFile{}
		wg.Add(1)
		l.Submit(files[i], func(err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	close(gate.gate)
	<-first
	wg.Wait()
	st := l.Stats()
	if st.FSSyncs != 1 {
		t.Fatalf("stats %+v: want the round of 5 files synced as a file system", st)
	}
	for _, f := range files {
		if f.syncs.Load() != 0 {
			t.Fatal("a file of the file-system round was also synced by itself")
		}
	}
}
