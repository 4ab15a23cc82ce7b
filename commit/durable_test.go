package commit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/internal/lazyfs"
)

// mountLazy mounts a lazyfs view of a fresh backing directory (see
// internal/lazyfs): what is not synced is gone after remount. It skips the
// test where FUSE is not available.
func mountLazy(t *testing.T) (mnt string, remount func()) {
	t.Helper()
	mnt, _, remount = mountLazyFS(t)
	return mnt, remount
}

// mountLazyFS is mountLazy that also returns the mount, for FailSync and
// Cut.
func mountLazyFS(t *testing.T) (mnt string, l *lazyfs.FS, remount func()) {
	t.Helper()
	mnt, backing := t.TempDir(), t.TempDir()
	l, err := lazyfs.Mount(mnt, backing)
	if err != nil {
		t.Skipf("lazyfs (FUSE) not available: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return mnt, l, func() {
		t.Helper()
		if err := l.Unmount(); err != nil {
			t.Fatal(err)
		}
		if l, err = lazyfs.Mount(mnt, backing); err != nil {
			t.Fatal(err)
		}
	}
}

// MkdirAll's directories survive a power cut.
func TestMkdirAllDurable(t *testing.T) {
	mnt, cut := mountLazy(t)
	dir := filepath.Join(mnt, "a", "b", "c")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "plain"), 0o755); err != nil { // os.Mkdir alone: not durable
		t.Fatal(err)
	}
	cut()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("after a power cut: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "plain")); err == nil {
		t.Fatal("a directory whose parent was never synced survived the cut: the file system under test does not model power loss")
	}
	if err := MkdirAll(dir); err != nil { // exists: nothing to do
		t.Fatal(err)
	}
}

// syncfs does not reach a FUSE file server, so SyncFileSystem must not use
// it there: a round of many files on FUSE syncs them one by one, and what
// it acknowledged survives a power cut.
func TestSyncFileSystemOnFUSE(t *testing.T) {
	mnt, cut := mountLazy(t)
	l := NewLocal(0)
	if err := l.SyncFileSystem(mnt, 2); err != nil {
		t.Fatal(err)
	}
	var wals []WAL
	for i := range 4 {
		w := WAL{Path: filepath.Join(mnt, "db"+string(rune('0'+i)))}
		if err := os.WriteFile(w.Path+"-wal", []byte("commit"), 0o644); err != nil {
			t.Fatal(err)
		}
		wals = append(wals, w)
	}
	if err := syncPath(mnt); err != nil { // the files' entries; their data is left to the Log
		t.Fatal(err)
	}
	done := make(chan error, len(wals))
	for _, w := range wals {
		l.Submit(w, func(err error) { done <- err })
	}
	for range wals {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	st := l.Stats()
	l.Close() // before the checks: it holds the mount busy
	if st.FSSyncs != 0 {
		t.Errorf("stats %+v: syncfs used on FUSE", st)
	}
	cut()
	for _, w := range wals {
		if b, err := os.ReadFile(w.Path + "-wal"); err != nil || string(b) != "commit" {
			t.Fatalf("%s after a power cut: %q %v, want the acknowledged contents", w.Path, b, err)
		}
	}
}
