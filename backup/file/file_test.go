package file_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/backup"
	"github.com/cairn-dev/cairn/backup/file"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := file.New(filepath.Join(root, "b"))
	if err := d.Put(ctx, "a/b.sqlite", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Get(ctx, "a/b.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello" {
		t.Errorf("got %q", b)
	}
	if _, err := d.Get(ctx, "nope"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	// A short reader fails the Put and leaves nothing behind.
	if err := d.Put(ctx, "short", strings.NewReader("abc"), 10); err == nil {
		t.Error("short Put: no error")
	}
	if _, err := os.Stat(filepath.Join(root, "b", "short")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("short Put left a file: %v", err)
	}
	for _, name := range []string{"../x", "/abs", "a/../../x", ""} {
		if err := d.Put(ctx, name, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q): no error", name)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("files outside the backup directory: %v", ents)
	}
}
