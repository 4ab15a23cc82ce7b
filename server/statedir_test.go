package server

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

func TestStateLocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	var a, b StateLocks
	la, err := a.lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The same set (a reload in the same process) gets the same lock.
	if again, err := a.lock(dir); err != nil || again != la {
		t.Fatalf("relock by the same set = %v, %v", again, err)
	}
	// Another holder (flock locks are per open file, so this stands for
	// another process) is refused, naming the owner's pid.
	_, err = b.lock(dir)
	if !errors.Is(err, ErrStateLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock = %v, want ErrStateLocked with the pid", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lock(dir); err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	b.Close()
}

// countLog is a commit.Log that makes every commit durable at once and
// counts them.
type countLog struct{ n int }

func (l *countLog) Submit(f commit.Syncer, done func(error)) { l.n++; done(nil) }
func (l *countLog) Close() error                             { return nil }

// Once the state directory is deleted (or replaced by a new one), every
// write fails loudly instead of going to unlinked files (issue 17).
func TestStateGuardDeletedDirectory(t *testing.T) {
	for _, replace := range []bool{false, true} {
		root := t.TempDir()
		dir := filepath.Join(root, "w")
		var locks StateLocks
		defer locks.Close()
		lock, err := locks.lock(dir)
		if err != nil {
			t.Fatal(err)
		}
		next := &countLog{}
		g := lock.guard(next, slog.New(slog.NewTextHandler(io.Discard, nil)))
		submit := func() error {
			errc := make(chan error, 1)
			g.Submit(commit.WAL{Path: filepath.Join(dir, "x.sqlite")}, func(err error) { errc <- err })
			return <-errc
		}
		if err := submit(); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if replace {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, lockFileName), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * checkEvery)
		for range 2 {
			if err := submit(); !errors.Is(err, ErrStateGone) {
				t.Fatalf("replace=%v: write after deletion = %v, want ErrStateGone", replace, err)
			}
		}
		if next.n != 1 {
			t.Errorf("replace=%v: %d commits reached the log, want 1", replace, next.n)
		}
	}
}

// Record keeps no record (commit.Log).
func (l *countLog) Record(commit.Syncer, *commit.Record) error { return nil }
