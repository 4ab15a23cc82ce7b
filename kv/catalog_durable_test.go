package kv

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/lazyfs"
)

// A namespace created (and renamed) through the catalog keeps its title
// across a power cut: titles.json is replaced by a rename, which is durable
// only once the directory is synced.
func TestCatalogTitlesDurable(t *testing.T) {
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
	persist := filepath.Join(mnt, "state")
	if err := commit.MkdirAll(persist); err != nil { // as the state directory lock makes it
		t.Fatal(err)
	}
	c := NewCatalog(persist, "w")
	ns, err := c.Create("first")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(ns.ID, "renamed"); err != nil {
		t.Fatal(err)
	}

	// The power goes.
	if err := l.Unmount(); err != nil {
		t.Fatal(err)
	}
	if l, err = lazyfs.Mount(mnt, backing); err != nil {
		t.Fatal(err)
	}
	got, err := NewCatalog(persist, "w").Get(ns.ID)
	if errors.Is(err, ErrNotFound) {
		t.Fatal("a created namespace is gone after a power cut")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "renamed" {
		t.Fatalf("after a power cut the namespace is titled %q, want %q", got.Title, "renamed")
	}
}
