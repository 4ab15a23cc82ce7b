// Package file is a backup.Target on a local directory: each file of the
// backup is a file under it, written to a temporary name, synced and
// renamed into place.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-dev/cairn/backup"
)

// Dir is a backup.Target on a directory.
type Dir struct{ root string }

// New returns the Target on directory root (created on the first Put).
func New(root string) *Dir { return &Dir{root: root} }

// String returns the directory.
func (d *Dir) String() string { return d.root }

func (d *Dir) path(name string) (string, error) {
	if name == "" || strings.Contains(name, "\\") || filepath.IsAbs(name) || !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("backup file name %q is not a relative path", name)
	}
	return filepath.Join(d.root, filepath.FromSlash(name)), nil
}

// Put writes name durably: to a temporary file, synced, then renamed.
func (d *Dir) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	n, err := io.Copy(tmp, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s: %d bytes, expected %d: %w", name, n, size, io.ErrUnexpectedEOF)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(p))
}

// Get opens name.
func (d *Dir) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, backup.ErrNotFound)
	}
	return f, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
