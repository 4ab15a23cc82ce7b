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

// fuseSuperMagic is the statfs f_type of FUSE file systems.
const fuseSuperMagic = 0x65735546

// openFileSystem returns dir's file system, or nil if syncfs would not make
// its files durable. That is the case on FUSE: the kernel flushes the page
// cache to the file server but asks it to sync only if it is virtiofs
// (fuse_sync_fs), so on sshfs, mergerfs, a container runtime's file sharing
// or any other FUSE file system, syncfs returns success for writes that a
// power cut still takes (found by the power-loss test, whose file system is
// FUSE). fsync reaches every file system, so rounds there sync file by file.
func openFileSystem(dir string, min int) (*fileSystem, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, err
	}
	if st.Type == fuseSuperMagic {
		return nil, nil
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
