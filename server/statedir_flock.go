//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package server

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive advisory lock on f without waiting; it is
// released when f is closed or the process exits, however it exits.
func lockFile(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
}
