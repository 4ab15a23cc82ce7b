package commit

import (
	"errors"
	"fmt"
	"testing"
)

// pathSyncer is a Syncer of the file path whose Sync returns err (and
// counts its calls).
type pathSyncer struct {
	path  string
	err   error
	calls *int
}

func (p *pathSyncer) Sync() error      { *p.calls++; return p.err }
func (p *pathSyncer) SyncPath() string { return p.path }

func submitWait(l *Local, f Syncer) error {
	done := make(chan error, 1)
	l.Submit(f, func(err error) { done <- err })
	return <-done
}

// A failed sync of a file fails every later sync of that file, through
// any Syncer of it (the next owner's, after an eviction) and any Local
// sharing the Failures (the next App's, after a reload), without syncing;
// other files are not affected, and a sync that was not attempted is not
// remembered.
func TestFailedSyncStaysFailedPerFile(t *testing.T) {
	eio := errors.New("input/output error")
	for _, tc := range []struct {
		name     string
		err      error
		sticky   bool
		reloaded bool // the second owner syncs through another Local sharing the Failures
	}{
		{"same log", eio, true, false},
		{"next log", eio, true, true},
		{"not attempted", fmt.Errorf("%w: too many open files", ErrSyncNotAttempted), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := NewFailures()
			l1 := NewLocal(0)
			l1.SetFailures(fs)
			defer l1.Close()
			calls := 0
			first := &pathSyncer{path: "/state/w/C/abc.sqlite-wal", err: tc.err, calls: &calls}
			if err := submitWait(l1, first); !errors.Is(err, tc.err) {
				t.Fatalf("failing sync: %v", err)
			}
			l2 := l1
			if tc.reloaded {
				l2 = NewLocal(0)
				l2.SetFailures(fs)
				defer l2.Close()
			}
			calls = 0
			next := &pathSyncer{path: first.path, calls: &calls} // the file reopened: its sync would succeed
			err := submitWait(l2, next)
			switch {
			case tc.sticky && !errors.Is(err, eio):
				t.Fatalf("sync of the file after a failed one = %v: it would acknowledge commits the kernel dropped", err)
			case tc.sticky && calls != 0:
				t.Fatalf("the failed file was synced again (%d calls)", calls)
			case !tc.sticky && err != nil:
				t.Fatalf("after a sync that was not attempted: %v, want the next one to run", err)
			}
			other := &pathSyncer{path: "/state/w/C/def.sqlite-wal", calls: new(int)}
			if err := submitWait(l2, other); err != nil {
				t.Fatalf("another file: %v", err)
			}
		})
	}
}

// Syncers that do not say their file (or say "") are never failed for
// another's failure.
func TestFailuresNeedAPath(t *testing.T) {
	l := NewLocal(0)
	defer l.Close()
	s := NewShared(l, &plainSyncer{err: errors.New("eio")})
	if err := s.Durable(t.Context(), s.Committed()); err == nil {
		t.Fatal("want the failure")
	}
	if err := submitWait(l, NewShared(l, &plainSyncer{}).f); err != nil {
		t.Fatalf("a Syncer without a path failed for another's failure: %v", err)
	}
	if err := submitWait(l, NewShared(l, WAL{Path: t.TempDir() + "/x.sqlite"}).f); err != nil {
		t.Fatal(err)
	}
}

type plainSyncer struct{ err error }

func (p *plainSyncer) Sync() error { return p.err }
