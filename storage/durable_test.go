package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/internal/lazyfs"
)

// lazyDB opens a DB on a lazyfs mount (internal/lazyfs: unsynced data is
// lost at a cut, and syncs can be made to fail). cut cuts the power,
// mounts again and returns the DB reopened; it skips the test where FUSE
// is not available.
func lazyDB(t *testing.T) (db *DB, l *lazyfs.FS, cut func() *DB) {
	t.Helper()
	mnt, backing := t.TempDir(), t.TempDir()
	l, err := lazyfs.Mount(mnt, backing)
	if err != nil {
		t.Skipf("lazyfs (FUSE) not available: %v", err)
	}
	path := filepath.Join(mnt, "objects", "abc.sqlite")
	db = Open(path, Options{})
	t.Cleanup(func() {
		db.Close()
		if err := l.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return db, l, func() *DB {
		t.Helper()
		l.Cut()
		db.Close() // fails: the power is gone
		if err := l.Unmount(); err != nil {
			t.Fatal(err)
		}
		if l, err = lazyfs.Mount(mnt, backing); err != nil {
			t.Fatal(err)
		}
		db = Open(path, Options{})
		return db
	}
}

func putCommit(t *testing.T, db *DB, key string) {
	t.Helper()
	if err := db.Put(key, []byte(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
}

func keyList(t *testing.T, db *DB) string {
	t.Helper()
	entries, err := db.List(ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%s ", e.Key)
	}
	return b.String()
}

// A synced commit survives a power cut; one not synced does not, and the
// database is intact.
func TestSyncSurvivesPowerCut(t *testing.T) {
	db, _, cut := lazyDB(t)
	putCommit(t, db, "a")
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	putCommit(t, db, "b") // committed, never synced
	db = cut()
	if got := keyList(t, db); got != "a " {
		t.Fatalf("after the cut: keys %q, want the synced one only", got)
	}
}

// A failed sync stays failed: the kernel reports a write-back error once
// and drops the data, so a second fsync succeeds without it. Taking that
// success for durability acknowledges a write the power cut then takes.
func TestSyncFailureIsSticky(t *testing.T) {
	db, l, cut := lazyDB(t)
	putCommit(t, db, "a")
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	putCommit(t, db, "b")
	l.FailSync("-wal")
	if err := db.Sync(); err == nil {
		t.Fatal("sync with a failing fsync: want an error")
	}
	if err := db.Sync(); err == nil {
		t.Fatal("sync after a failed one succeeded: it would acknowledge b, which is not on disk")
	}
	db = cut()
	if got := keyList(t, db); got != "a " {
		t.Fatalf("after the cut: keys %q (b was never durable)", got)
	}
}

// A checkpoint fsyncs the WAL through SQLite's descriptor; if that fsync
// fails, the error is SQLite's to report (its automatic checkpoint ignores
// it) and the next Sync, on a fresh descriptor, would succeed. cairn runs
// checkpoints itself and keeps their errors.
func TestCheckpointFailureFailsSync(t *testing.T) {
	db, l, _ := lazyDB(t)
	putCommit(t, db, "a")
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	putCommit(t, db, "b")
	l.FailSync("-wal")
	if err := db.checkpointWAL("PASSIVE"); err == nil {
		t.Fatal("checkpoint with a failing fsync: want an error")
	}
	if st := l.Stats(); st.Failed != 1 {
		t.Fatalf("the checkpoint did not fsync the WAL (stats %+v): the test tests nothing", st)
	}
	if err := db.Sync(); err == nil {
		t.Fatal("sync after a failed checkpoint succeeded: it would acknowledge b, which is not on disk")
	}
}

// SQLite's automatic checkpoint is off; cairn checkpoints once Sync saw the
// WAL past walCheckpointBytes, after the next commit.
func TestCheckpointAfterLargeWAL(t *testing.T) {
	for _, syncs := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", syncs), func(t *testing.T) {
			db, path := open(t)
			value := bytes.Repeat([]byte("x"), 64<<10)
			for i := range 100 { // 6.4 MB
				if err := db.Put(fmt.Sprint(i), value); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Commit(); err != nil {
					t.Fatal(err)
				}
				if syncs {
					if err := db.Sync(); err != nil {
						t.Fatal(err)
					}
				}
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			checkpointed := info.Size() > 1<<20 // with nothing checkpointed, the file holds a few pages
			if checkpointed != syncs {
				t.Fatalf("database file %d bytes: checkpointed = %v, want %v (only cairn checkpoints, after Sync saw a large WAL)", info.Size(), checkpointed, syncs)
			}
		})
	}
}

// After a checkpoint the WAL file shrinks when it restarts, so the size a
// Sync sees says how much was written since: without journal_size_limit
// the file kept its largest size and every commit after the first 4 MiB
// ran a checkpoint (sql-inc in bench/cmd/compare fell to a third).
func TestCheckpointNotEveryCommit(t *testing.T) {
	db, path := open(t)
	value := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 100 { // 6.4 MB: one checkpoint
		if err := db.Put(fmt.Sprint(i), value); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 { // small commits after it
		if err := db.Put("small", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() >= walCheckpointBytes {
		t.Fatalf("WAL is %d bytes after small commits: it never shrinks, so every Sync asks for a checkpoint", info.Size())
	}
	if db.sync.checkpoint.Load() {
		t.Fatal("a checkpoint is due after small commits")
	}
}
