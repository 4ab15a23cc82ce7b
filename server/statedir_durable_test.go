package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/lazyfs"
)

// The state directory the lock creates is durable: the files cairn syncs
// under it (an object's database, made with commit.MkdirAll below the
// existing state directory) survive a power cut. The lock used to create
// it with os.MkdirAll, which never syncs the parent, so on a fresh
// --persist-to every acknowledged write of the first run was lost at the
// first power cut (e2e TestPowerLoss, round 1).
func TestStateDirDurable(t *testing.T) {
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
	state := filepath.Join(mnt, "persist", "state")
	var locks StateLocks
	if _, err := locks.lock(state); err != nil {
		t.Fatal(err)
	}
	// What storage does for a new object: make its class directory
	// durably, write its file and sync it.
	dir := filepath.Join(state, "objects", "Counter")
	if err := commit.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "0.sqlite")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("acknowledged"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := syncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := locks.Close(); err != nil {
		t.Fatal(err)
	}

	// The power goes.
	if err := l.Unmount(); err != nil {
		t.Fatal(err)
	}
	if l, err = lazyfs.Mount(mnt, backing); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("a synced file under the state directory, after a power cut: %v", err)
	}
	if string(b) != "acknowledged" {
		t.Fatalf("after a power cut the file holds %q", b)
	}
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
