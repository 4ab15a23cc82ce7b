package commit

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileSystem is a file system synced as a whole (syncfs).
type fileSystem struct {
	dir *os.File
	min int // files in a round from which syncfs is used
}

func openFileSystem(dir string, min int) (*fileSystem, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return &fileSystem{dir: f, min: min}, nil
}

// sync flushes every dirty file of the file system and reports write-back
// errors (Linux ≥ 5.8).
func (fs *fileSystem) sync() error { return unix.Syncfs(int(fs.dir.Fd())) }

func (fs *fileSystem) close() error { return fs.dir.Close() }
