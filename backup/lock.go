package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the lock file of a Worker's state directory, which a
// server holds while it serves it.
const lockFileName = "cairn.lock"

// lockState takes the lock of the state directory dir, as a server does,
// and returns the open lock file (closing it releases the lock). It
// returns nil if dir does not exist, and an error wrapping ErrLocked,
// naming the holder's pid, if a process holds it.
func lockState(dir string) (*os.File, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if !ok {
		b, _ := os.ReadFile(path)
		f.Close()
		owner := strings.TrimSpace(string(b))
		if owner == "" {
			owner = "unknown"
		}
		return nil, fmt.Errorf("%s: %w (pid %s)", dir, ErrLocked, owner)
	}
	// As the server does: the pid of the holder, for the error of whoever
	// finds it locked.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// unlockState releases a lock taken by lockState, emptying the file (a
// server that finds it locked reports its content as the holder).
func unlockState(f *os.File) {
	if f == nil {
		return
	}
	_ = f.Truncate(0)
	_ = f.Close()
}
