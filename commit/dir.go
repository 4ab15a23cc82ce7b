package commit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MkdirAll creates dir and its missing parents, like os.MkdirAll, and makes
// them durable: it fsyncs the parent of each directory it created, so a
// power cut cannot take away a directory whose files were synced. (A new
// directory entry is durable only once its parent is synced.)
func MkdirAll(dir string) error {
	var parents []string // the directories that got a new entry
	for d := filepath.Clean(dir); ; {
		_, err := os.Stat(d)
		if err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		p := filepath.Dir(d)
		if p == d {
			break
		}
		parents = append(parents, p)
		d = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range parents {
		if err := syncPath(p); err != nil {
			return fmt.Errorf("sync directory %s: %w", p, err)
		}
	}
	return nil
}

// syncPath fsyncs the file or directory at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
