package kv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
)

// heldLog holds every sync until released.
type heldLog struct {
	inner   *commit.Local
	release chan struct{}
}

func (l *heldLog) Submit(f commit.Syncer, done func(error)) {
	go func() {
		<-l.release
		l.inner.Submit(f, done)
	}()
}

func (l *heldLog) Close() error { return l.inner.Close() }

// With a commit log, a put returns only once durable, and nobody reads it
// before then.
func TestPutDurableBeforeSeen(t *testing.T) {
	log := &heldLog{inner: commit.NewLocal(0), release: make(chan struct{})}
	defer log.Close()
	ns, err := Open(filepath.Join(t.TempDir(), "ns.sqlite"), Options{Commit: log, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ctx := context.Background()
	put := make(chan error, 1)
	go func() { put <- ns.Put(ctx, "k", []byte("v"), PutOptions{}) }()
	time.Sleep(50 * time.Millisecond) // the put has committed and waits for its sync
	got := make(chan string, 1)
	go func() {
		e, ok, err := ns.Get(ctx, "k")
		if err != nil || !ok {
			got <- "error"
			return
		}
		got <- string(e.Value)
	}()
	select {
	case <-put:
		t.Fatal("put returned before its write was durable")
	case v := <-got:
		t.Fatalf("get returned %q before the write it saw was durable", v)
	case <-time.After(100 * time.Millisecond):
	}
	close(log.release)
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "v" {
		t.Fatalf("get = %q", v)
	}
}

// A transient sync fault fails the calls that needed that sync, and only
// those: once it clears, the namespace works again without a restart
// (issue 17), and the write whose sync failed is there, now durable.
func TestTransientSyncFault(t *testing.T) {
	log := gatesim.NewHeldLog()
	defer log.Close()
	ns, err := Open(filepath.Join(t.TempDir(), "ns.sqlite"), Options{Commit: log, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ctx := context.Background()
	log.FailNext(2, fmt.Errorf("%w: open ns.sqlite-wal: permission denied", commit.ErrSyncNotAttempted))
	if err := ns.Put(ctx, "k", []byte("v1"), PutOptions{}); err == nil {
		t.Fatal("put succeeded while syncs fail")
	}
	if _, _, err := ns.Get(ctx, "k"); err == nil {
		t.Fatal("get of a write that is not durable succeeded while syncs fail")
	}
	// The fault has cleared.
	if e, ok, err := ns.Get(ctx, "k"); err != nil || !ok || string(e.Value) != "v1" {
		t.Fatalf("get after the fault = %q %v %v", e.Value, ok, err)
	}
	if err := ns.Put(ctx, "k", []byte("v2"), PutOptions{}); err != nil {
		t.Fatalf("put after the fault: %v", err)
	}
	if e, _, err := ns.Get(ctx, "k"); err != nil || string(e.Value) != "v2" {
		t.Fatalf("get = %q %v", e.Value, err)
	}
}

// nosyncLog acknowledges without syncing: the Shared's file is never
// synced, so it never learns the WAL's size.
type nosyncLog struct{}

func (nosyncLog) Submit(f commit.Syncer, done func(error)) { done(nil) }
func (nosyncLog) Close() error                             { return nil }

// With a commit log the namespace checkpoints its WAL itself (to see the
// errors, see commit.Shared): SQLite's automatic checkpoint is off, and the
// namespace's own runs once a sync saw the WAL past commit.CheckpointBytes.
func TestOwnCheckpoints(t *testing.T) {
	for _, c := range []struct {
		name         string
		log          commit.Log
		checkpointed bool
	}{
		{"synced", commit.NewLocal(0), true},
		{"never synced", nosyncLog{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer c.log.Close()
			path := filepath.Join(t.TempDir(), "ns.sqlite")
			ns, err := Open(path, Options{Commit: c.log, SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()
			value := bytes.Repeat([]byte("x"), 64<<10)
			for i := range 100 { // 6.4 MB
				if err := ns.Put(context.Background(), fmt.Sprint(i), value, PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Size() > 1<<20; got != c.checkpointed {
				t.Fatalf("database file %d bytes: checkpointed = %v, want %v", info.Size(), got, c.checkpointed)
			}
		})
	}
}

// Record keeps no record (commit.Log).
func (l *heldLog) Record(commit.Syncer, *commit.Record) error { return nil }

// Record keeps no record (commit.Log).
func (nosyncLog) Record(commit.Syncer, *commit.Record) error { return nil }
