package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// ErrStateLocked is returned when another process already serves a
// Worker's state directory: two servers writing one set of SQLite files
// and one catalog would each believe its view is the truth.
var ErrStateLocked = errors.New("state directory is in use by another cairn process")

// ErrStateGone is the error of every write once a Worker's state directory
// was deleted or replaced while it was served: its files are then unlinked,
// and writes that "succeed" into them vanish at the next start.
var ErrStateGone = errors.New("state directory was deleted or replaced while cairn was serving it; writes cannot be kept: restart cairn")

// lockFileName is the lock file in each Worker's state directory.
const lockFileName = "cairn.lock"

// StateLocks holds exclusive locks on the state directories of the Workers a
// process serves, for as long as it serves them: a reload of the same
// project in the same process keeps its lock. The zero value is ready to
// use; Close releases every lock.
type StateLocks struct {
	mu   sync.Mutex
	held map[string]*stateLock // by absolute directory
}

// stateLock is the lock on one Worker's state directory: an open, locked
// DIR/cairn.lock holding the owner's pid.
type stateLock struct {
	dir  string
	path string
	f    *os.File
	info os.FileInfo // of the lock file when taken, to notice a replaced directory

	gone    atomic.Bool  // the directory was found deleted or replaced
	checked atomic.Int64 // when it was last found in place, unix nanoseconds

	hist *commit.Histories // the directory's history store, shared by reloads (history.go)
	// failures are the files of the directory whose sync failed, shared
	// by the commit logs of every App loaded on it (commit.Failures).
	failures *commit.Failures
}

// syncFailures returns the failed syncs of s's files, shared by every App
// loaded on it: a reload's App must not acknowledge what the previous one
// failed to sync.
func (l *StateLocks) syncFailures(s *stateLock) *commit.Failures {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.failures == nil {
		s.failures = commit.NewFailures()
	}
	return s.failures
}

// lock takes the lock on dir (creating it if needed), or returns the one
// this set already holds. It fails with ErrStateLocked, naming the other
// process, if another process holds it.
func (l *StateLocks) lock(dir string) (*stateLock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", dir, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.held[abs]; s != nil {
		if err := s.check(); err != nil {
			return nil, err
		}
		return s, nil
	}
	// Durably: the files synced under it are only reachable after a power
	// cut if its own entry (and each new parent's) was synced too, and the
	// directories made below it later find it existing and sync no further.
	if err := commit.MkdirAll(abs); err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	path := filepath.Join(abs, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		owner := strings.TrimSpace(string(b))
		if owner == "" {
			owner = "unknown"
		}
		return nil, fmt.Errorf("%s: %w (pid %s): stop it, or give this one another --persist-to", abs, ErrStateLocked, owner)
	}
	info, err := f.Stat()
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	s := &stateLock{dir: abs, path: path, f: f, info: info}
	s.checked.Store(time.Now().UnixNano())
	if l.held == nil {
		l.held = make(map[string]*stateLock)
	}
	l.held[abs] = s
	return s, nil
}

// Close releases every lock of the set.
func (l *StateLocks) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for dir, s := range l.held {
		if !s.gone.Load() {
			// Emptied, not removed: removing could unlink a lock file
			// another process has just opened.
			_ = s.f.Truncate(0)
		}
		if s.hist != nil {
			errs = append(errs, s.hist.Close())
		}
		errs = append(errs, s.f.Close())
		delete(l.held, dir)
	}
	return errors.Join(errs...)
}

// checkEvery bounds how often a write stats the lock file: a deleted state
// directory is noticed within this time.
const checkEvery = 5 * time.Millisecond

// check returns ErrStateGone if the directory's lock file is no longer the
// one this process locked: the directory was deleted, or replaced.
func (s *stateLock) check() error {
	if s.gone.Load() {
		return fmt.Errorf("%s: %w", s.dir, ErrStateGone)
	}
	now := time.Now().UnixNano()
	if now-s.checked.Load() < int64(checkEvery) {
		return nil
	}
	info, err := os.Stat(s.path)
	if err != nil || !os.SameFile(info, s.info) {
		s.gone.Store(true)
		return fmt.Errorf("%s: %w", s.dir, ErrStateGone)
	}
	s.checked.Store(now)
	return nil
}

// guard returns a commit log that fails every commit with ErrStateGone once
// the directory is gone, logging it (once) as an error, and passes the
// others to next.
func (s *stateLock) guard(next commit.Log, log *slog.Logger) commit.Log {
	return &guardedLog{Log: next, lock: s, log: log}
}

type guardedLog struct {
	commit.Log
	lock   *stateLock
	log    *slog.Logger
	logged atomic.Bool
}

// Submit fails at once if the state directory is gone, else submits f.
func (g *guardedLog) Submit(f commit.Syncer, done func(error)) {
	if err := g.lock.check(); err != nil {
		if !g.logged.Swap(true) {
			g.log.Error("state directory deleted while serving: every write fails from now on; restart cairn to start afresh", "dir", g.lock.dir, "error", err)
		}
		go done(err) // as a Log does: never on the caller's goroutine
		return
	}
	g.Log.Submit(f, done)
}

// Close does not close the log it guards: its owner does.
func (g *guardedLog) Close() error { return nil }
